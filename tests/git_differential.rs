//! The hand-written git writer (objects, packs with tree deltas, the index) proven against
//! git itself: random sequences of runs drive the runner's own commit path, and after each
//! run git must build the same trees from the same working tree, accept every object and
//! pack, find the index clean, and read everything back after `gc` and clones.
//!
//! Long mode: `NES_PROPTEST_CASES=200 cargo test --locked --test git_differential the_writer`
//! (see docs/architecture.md, "How the writer is proven").

mod git_support;
#[path = "git_support/oracle.rs"]
mod oracle;
#[path = "git_support/runs.rs"]
mod runs;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use oracle::git;
use runs::{Case, Kind, Op, RunSpec};

/// Cases per property: a handful in `cargo test`, `NES_PROPTEST_CASES` in long mode.
fn cases() -> u32 {
    std::env::var("NES_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

fn size() -> impl Strategy<Value = u32> {
    // Empty, stored uncompressed (< 128 bytes), compressed, and larger than a stored block.
    prop_oneof![
        1 => Just(0u32),
        1 => Just(3u32),
        4 => 1..128u32,
        4 => 128..600u32,
        1 => 60_000..70_000u32,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u8>(), any::<u16>(), size()).prop_map(|(dir, slug, size)| Op::Create { dir, slug, size }),
        5 => (any::<u32>(), size()).prop_map(|(pick, size)| Op::Update { pick, size }),
        4 => any::<u32>().prop_map(|pick| Op::Delete { pick }),
        3 => (any::<u32>(), any::<u8>(), any::<u16>()).prop_map(|(pick, dir, slug)| Op::Move { pick, dir, slug }),
        // Small fills, and fills that cross 16 KiB trees and 1,024-entry directories.
        2 => (any::<u8>(), prop_oneof![3 => 1..60u16, 1 => 300..1200u16], size())
            .prop_map(|(dir, count, size)| Op::Fill { dir, count, size }),
        1 => any::<u8>().prop_map(|dir| Op::Clear { dir }),
        3 => (any::<u16>(), 1..4u8).prop_map(|(slug, versions)| Op::Entity { slug, versions }),
        1 => any::<u16>().prop_map(|slug| Op::Flip { slug }),
        2 => (any::<u8>(), any::<u32>(), 2..80u16).prop_map(|(dir, pick, count)| Op::Touch { dir, pick, count }),
    ]
}

fn run_spec() -> impl Strategy<Value = RunSpec> {
    (
        prop::collection::vec(op(), 0..10),
        prop_oneof![2 => Just(1usize), 3 => 2..9usize, 2 => Just(1000usize)],
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(ops, batch_size, spill, seed)| RunSpec {
            ops,
            batch_size,
            spill,
            seed,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![3 => Just(Kind::Fresh), 1 => Just(Kind::Aged), 1 => Just(Kind::AgedIndexV4)],
        prop::collection::vec(run_spec(), 1..5),
    )
        .prop_map(|(kind, runs)| Case { kind, runs })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Each case is a few real repositories; shrinking re-runs them, so bound it.
        max_shrink_iters: 200,
        // Integration tests have no lib.rs for proptest's default to find: name the file.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/git_differential.proptest-regressions"
        )))),
        ..ProptestConfig::default()
    })]

    /// Every run of every case agrees with git (see [`runs::run_case`] for the checks).
    #[test]
    fn the_writer_agrees_with_git(case in case()) {
        runs::run_case(&case);
    }
}

/// A run whose batch size is 1 rewrites a 1,024-entry directory in each of 60 batches: the
/// pack holds its older versions as a chain of deltas, which must stop at git's depth of 50.
#[test]
fn delta_chains_of_a_big_directory_stop_at_fifty() {
    let fill = RunSpec {
        ops: vec![Op::Fill {
            dir: 0,
            count: 1100,
            size: 40,
        }],
        batch_size: 1000,
        spill: true,
        seed: 1,
    };
    let rewrite = RunSpec {
        ops: vec![Op::Touch {
            dir: 0,
            pick: 0,
            count: 60,
        }],
        batch_size: 1,
        spill: true,
        seed: 2,
    };
    let case = Case {
        kind: Kind::Fresh,
        runs: vec![fill, rewrite],
    };
    let outcome = runs::run_case(&case);
    // Measured after the run, before the case's closing `git gc` repacks everything.
    let longest = outcome.chains[1];
    assert!(
        (40..=50).contains(&longest),
        "expected long delta chains capped at 50, got {longest}"
    );
}

/// A repository git has been working in: gc'd packs, loose objects, an index with an
/// untracked cache (and in version 4), then several runs, each checked.
#[test]
fn runs_into_an_aged_repository_agree_with_git() {
    for kind in [Kind::Aged, Kind::AgedIndexV4] {
        let runs = vec![
            RunSpec {
                ops: vec![
                    Op::Fill {
                        dir: 0,
                        count: 50,
                        size: 200,
                    },
                    Op::Update { pick: 3, size: 20 },
                    Op::Delete { pick: 7 },
                    Op::Move {
                        pick: 11,
                        dir: 4,
                        slug: 9,
                    },
                    Op::Entity { slug: 7, versions: 2 },
                ],
                batch_size: 7,
                spill: true,
                seed: 3,
            },
            RunSpec {
                ops: vec![Op::Clear { dir: 1 }, Op::Flip { slug: 4 }, Op::Flip { slug: 4 }],
                batch_size: 1,
                spill: false,
                seed: 4,
            },
        ];
        let outcome = runs::run_case(&Case { kind, runs });
        assert!(
            git(outcome.path(), &["count-objects", "-v"]).contains("packs: "),
            "the aged repository has packs"
        );
    }
}

/// The real database: a few hundred files changed, created and deleted through the writer
/// in one run of several batches, then every check.
#[test]
fn a_run_into_the_real_database_agrees_with_git() {
    let Some(shared) = git_support::common::shared_dir() else {
        return;
    };
    runs::run_on_bundle(&shared);
}
