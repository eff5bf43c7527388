//! `revert_migration` on real repositories, with migrations registered in code.

mod common;

use common::{fixture, git, migration, Fixture};

use nes::git::ledger::read_ledger;
use nes::git::repo::DataRepo;
use nes::git::revert::revert_migration;
use nes::migration::registry::Registry;
use nes::migration::runner::{Outcome, RunOptions, Runner, Target};
use nes::prelude::*;

fn province(ctx: &mut Context, slug: &str, area: u32) -> Result<()> {
    ctx.put_entity(
        &format!("entity:location/province/{slug}"),
        json!({"names": [{"kind": "PRIMARY", "en": {"full": slug}}], "area": area}),
        "set",
    )?;
    Ok(())
}

fn adds_a_and_b(ctx: &mut Context) -> Result<()> {
    province(ctx, "aaa", 1)?;
    province(ctx, "bbb", 1)
}

fn changes_a(ctx: &mut Context) -> Result<()> {
    province(ctx, "aaa", 2)
}

fn adds_c(ctx: &mut Context) -> Result<()> {
    province(ctx, "ccc", 1)
}

const NAMES: [&str; 3] = ["001-adds-a-and-b", "002-changes-a", "003-adds-c"];

fn registry() -> Registry {
    Registry::new(vec![
        migration(NAMES[0], adds_a_and_b),
        migration(NAMES[1], changes_a),
        migration(NAMES[2], adds_c),
    ])
    .unwrap()
}

fn run(f: &Fixture, registry: &Registry, names: &[&str]) {
    let options = RunOptions {
        progress: false,
        stream_logs: false,
        push: false,
        batch_size: 2,
        ..RunOptions::default()
    };
    let target = Target::Named(names.iter().map(|n| n.to_string()).collect());
    let report = Runner::new(registry, &f.migrations)
        .run(&f.repo, &target, &options)
        .unwrap();
    for m in &report.migrations {
        assert_eq!(m.status, Outcome::Completed, "{:?}", m.error);
    }
}

fn sig(repo: &DataRepo) -> git2::Signature<'static> {
    repo.signature(None).unwrap().0
}

const A: &str = "v2/entity/location/province/aaa.json";

#[test]
fn revert_undoes_every_batch_and_the_migration_runs_again() {
    let f = fixture(&NAMES);
    let registry = registry();
    let before = git(f.repo.root(), &["rev-parse", "HEAD^{tree}"]);
    run(&f, &registry, &[NAMES[0]]);
    assert!(
        git(f.repo.root(), &["log", "--format=%s"]).contains("(Batch 2/"),
        "several batches"
    );
    let reverted = revert_migration(&f.repo, NAMES[0], &sig(&f.repo)).unwrap();
    assert!(reverted.paths.iter().any(|p| p == A), "{:?}", reverted.paths);
    assert_eq!(git(f.repo.root(), &["rev-parse", "HEAD^{tree}"]), before);
    assert_eq!(
        git(f.repo.root(), &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert!(!f.repo.root().join("v2").exists());
    let message = git(f.repo.root(), &["log", "-1", "--format=%B"]);
    assert!(message.starts_with(&format!("Revert migration: {}", NAMES[0])));
    assert!(message.contains(&format!("Nes-Revert: {}", NAMES[0])));
    assert!(!read_ledger(&f.repo).unwrap().is_applied(NAMES[0]));

    run(&f, &registry, &[NAMES[0]]);
    assert!(read_ledger(&f.repo).unwrap().is_applied(NAMES[0]));
    assert!(f.repo.root().join(A).is_file());
}

#[test]
fn revert_refuses_when_a_later_migration_changed_the_same_file() {
    let f = fixture(&NAMES);
    let registry = registry();
    run(&f, &registry, &NAMES);
    let head = f.repo.head().unwrap();
    let err = revert_migration(&f.repo, NAMES[0], &sig(&f.repo)).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains(A), "{text}");
    assert!(!text.contains("province/bbb.json"), "{text}");
    assert_eq!(nes::error::exit_code(&err), nes::error::ExitCode::Failure);
    assert_eq!(f.repo.head().unwrap(), head, "nothing committed");

    // An independent later migration reverts cleanly, leaving the others applied.
    revert_migration(&f.repo, NAMES[2], &sig(&f.repo)).unwrap();
    let ledger = read_ledger(&f.repo).unwrap();
    assert!(!ledger.is_applied(NAMES[2]));
    assert!(ledger.is_applied(NAMES[0]) && ledger.is_applied(NAMES[1]));
    assert!(!f
        .repo
        .root()
        .join("v2/entity/location/province/ccc.json")
        .exists());
    assert!(f.repo.root().join(A).is_file());
    assert_eq!(
        git(f.repo.root(), &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
}

#[test]
fn revert_refuses_a_pending_migration_and_a_dirty_tree() {
    let f = fixture(&NAMES);
    let registry = registry();
    let err = revert_migration(&f.repo, NAMES[0], &sig(&f.repo)).unwrap_err();
    assert!(format!("{err:#}").contains("not applied"), "{err:#}");
    run(&f, &registry, &[NAMES[0]]);
    std::fs::write(f.repo.root().join("stray.txt"), "x").unwrap();
    let err = revert_migration(&f.repo, NAMES[0], &sig(&f.repo)).unwrap_err();
    assert!(format!("{err:#}").contains("stray.txt"), "{err:#}");
}
