//! The runner on real Git repositories, with migrations registered in code.

mod common;

use common::{fixture, git, migration};

use std::path::Path;

use nes::migration::registry::Registry;
use nes::migration::runner::{Outcome, RunOptions, Runner, Target};
use nes::prelude::*;

fn options() -> RunOptions {
    RunOptions {
        progress: false,
        stream_logs: false,
        push: false,
        ..RunOptions::default()
    }
}

fn province(ctx: &mut Context, slug: &str) -> Result<()> {
    ctx.create_entity(
        &format!("entity:location/province/{slug}"),
        json!({"names": [{"kind": "PRIMARY", "en": {"full": slug}}]}),
        "add",
    )?;
    Ok(())
}

/// 2 author files + 1249 entities x (object + version) = 2500 files.
fn many_provinces(ctx: &mut Context) -> Result<()> {
    ctx.use_author("author:first-author")?;
    ctx.use_author("Second Author")?;
    for i in 0..1249 {
        province(ctx, &format!("province-{i:04}"))?;
    }
    Ok(())
}

#[test]
fn a_run_of_2500_files_gives_three_batch_commits() {
    let f = fixture(&["001-many"]);
    let registry = Registry::new(vec![migration("001-many", many_provinces)]).unwrap();
    let runner = Runner::new(&registry, &f.migrations);
    let report = runner.run(&f.repo, &Target::AllPending, &options()).unwrap();
    let m = &report.migrations[0];
    assert_eq!(m.status, Outcome::Completed, "{:?}", m.error);
    assert_eq!(m.stats.entities_created, 1249);
    assert_eq!(m.commits.len(), 3);
    let subjects = git(f.repo.root(), &["log", "--format=%s", "-3"]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [
            "Migration: 001-many (Batch 3/3)",
            "Migration: 001-many (Batch 2/3)",
            "Migration: 001-many (Batch 1/3)"
        ]
    );
    let counts: Vec<usize> = (0..3)
        .map(|i| {
            let rev = format!("HEAD~{i}");
            git(
                f.repo.root(),
                &["diff-tree", "--no-commit-id", "--name-only", "-r", &rev],
            )
            .lines()
            .count()
        })
        .collect();
    // The last batch also carries the run record, .nes/runs/001-many.json.
    assert_eq!(counts, [501, 1000, 1000]);
    assert_eq!(git(f.repo.root(), &["status", "--porcelain"]), "");

    // Applied now: a second `--all` has nothing to do.
    let again = runner.run(&f.repo, &Target::AllPending, &options()).unwrap();
    assert!(again.migrations.is_empty());
    assert_eq!(git(f.repo.root(), &["rev-list", "--count", "HEAD"]).trim(), "4");
}

/// 600 more provinces (1200 files): two batches of their own.
fn more_provinces(ctx: &mut Context) -> Result<()> {
    for i in 0..600 {
        province(ctx, &format!("second-{i:04}"))?;
    }
    Ok(())
}

/// Two multi-batch migrations in one process: each folds its batch packs into one pack
/// (deleting packs the same repository handle has read from), and the second still reads
/// the first's trees and commits on top of them.
#[test]
fn consecutive_runs_in_one_process_each_leave_one_pack() {
    let f = fixture(&["001-many", "002-more"]);
    let registry = Registry::new(vec![
        migration("001-many", many_provinces),
        migration("002-more", more_provinces),
    ])
    .unwrap();
    let packs_before = nes::git::commit::count_packs(&f.repo).unwrap();
    let runner = Runner::new(&registry, &f.migrations);
    let report = runner.run(&f.repo, &Target::AllPending, &options()).unwrap();
    for m in &report.migrations {
        assert_eq!(m.status, Outcome::Completed, "{}: {:?}", m.name, m.error);
    }
    assert_eq!(report.migrations[1].commits.len(), 2);
    assert_eq!(nes::git::commit::count_packs(&f.repo).unwrap(), packs_before + 2);
    let dir = f.repo.root();
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
    git(dir, &["fsck", "--strict"]);
    let files = git(dir, &["ls-tree", "-r", "--name-only", "HEAD"]);
    assert_eq!(
        files
            .lines()
            .filter(|l| l.starts_with("v2/entity/location/province/"))
            .count(),
        1849
    );
}

fn writes_then_fails(ctx: &mut Context) -> Result<()> {
    province(ctx, "first")?;
    bail!("source row 3 is broken")
}

fn writes_then_panics(ctx: &mut Context) -> Result<()> {
    province(ctx, "first")?;
    panic!("unexpected state")
}

#[test]
fn a_failed_or_panicking_migration_leaves_the_repository_untouched() {
    for (name, f) in [
        ("001-fails", writes_then_fails as fn(&mut Context) -> Result<()>),
        ("001-panics", writes_then_panics),
    ] {
        let fx = fixture(&[name]);
        let head = fx.repo.head().unwrap();
        let registry = Registry::new(vec![migration(name, f)]).unwrap();
        let report = Runner::new(&registry, &fx.migrations)
            .run(&fx.repo, &Target::AllPending, &options())
            .unwrap();
        let m = &report.migrations[0];
        assert_eq!(m.status, Outcome::Failed);
        assert!(
            m.error
                .iter()
                .any(|e| e.contains("broken") || e.contains("unexpected state")),
            "{:?}",
            m.error
        );
        assert_eq!(fx.repo.head().unwrap(), head);
        assert_eq!(
            git(
                fx.repo.root(),
                &["status", "--porcelain", "--untracked-files=all"]
            ),
            ""
        );
        assert!(!fx.repo.root().join("v2").exists());
    }
}

#[test]
fn a_dry_run_changes_nothing_and_reports_files() {
    let f = fixture(&["001-many"]);
    let registry = Registry::new(vec![migration("001-many", many_provinces)]).unwrap();
    let before = git(f.repo.root(), &["for-each-ref"]);
    let objects = git(f.repo.root(), &["count-objects", "-v"]);
    let index = std::fs::read(f.repo.root().join(".git/index")).unwrap();
    let options = RunOptions {
        dry_run: true,
        ..options()
    };
    let report = Runner::new(&registry, &f.migrations)
        .run(&f.repo, &Target::AllPending, &options)
        .unwrap();
    assert_eq!(report.migrations[0].status, Outcome::Completed);
    assert_eq!(report.migrations[0].files.len(), 2500);
    assert_eq!(git(f.repo.root(), &["for-each-ref"]), before);
    assert_eq!(git(f.repo.root(), &["count-objects", "-v"]), objects);
    assert_eq!(std::fs::read(f.repo.root().join(".git/index")).unwrap(), index);
    assert_eq!(
        git(f.repo.root(), &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
}

fn deletes(ctx: &mut Context) -> Result<()> {
    province(ctx, "doomed")?;
    ctx.delete_entity("entity:location/province/doomed")
}

#[test]
fn an_undeclared_deletion_fails_the_run() {
    let f = fixture(&["001-deletes"]);
    let registry = Registry::new(vec![migration("001-deletes", deletes)]).unwrap();
    let report = Runner::new(&registry, &f.migrations)
        .run(&f.repo, &Target::AllPending, &options())
        .unwrap();
    let m = &report.migrations[0];
    assert_eq!(m.status, Outcome::Failed);
    assert!(m.error.iter().any(|e| e.contains("DELETES")), "{:?}", m.error);

    let mut declared = migration("001-deletes", deletes);
    declared.deletes = true;
    let registry = Registry::new(vec![declared]).unwrap();
    let report = Runner::new(&registry, &f.migrations)
        .run(&f.repo, &Target::AllPending, &options())
        .unwrap();
    assert_eq!(
        report.migrations[0].status,
        Outcome::Completed,
        "{:?}",
        report.migrations[0].error
    );
    assert_eq!(report.migrations[0].stats.entities_deleted, 1);
}

fn tree_of(repo: &Path) -> String {
    git(repo, &["rev-parse", "HEAD^{tree}"])
}

#[test]
fn reproducible_runs_give_identical_trees() {
    let trees: Vec<String> = (0..2)
        .map(|_| {
            let f = fixture(&["001-many"]);
            let registry = Registry::new(vec![migration("001-many", many_provinces)]).unwrap();
            let options = RunOptions {
                reproducible: true,
                ..options()
            };
            Runner::new(&registry, &f.migrations)
                .run(&f.repo, &Target::AllPending, &options)
                .unwrap();
            tree_of(f.repo.root())
        })
        .collect();
    assert_eq!(trees[0], trees[1]);
}

#[test]
fn a_dirty_working_tree_is_refused() {
    let f = fixture(&["001-many"]);
    std::fs::write(f.repo.root().join("stray.txt"), "x").unwrap();
    let registry = Registry::new(vec![migration("001-many", many_provinces)]).unwrap();
    let err = Runner::new(&registry, &f.migrations)
        .run(&f.repo, &Target::AllPending, &options())
        .unwrap_err();
    assert!(format!("{err:#}").contains("stray.txt"), "{err:#}");
}

fn province_and_district(ctx: &mut Context) -> Result<()> {
    province(ctx, "upper")?;
    ctx.create_entity(
        "entity:location/district/lower",
        json!({"names": [{"kind": "PRIMARY", "en": {"full": "Lower"}}], "parent": "entity:location/province/upper"}),
        "add",
    )?;
    Ok(())
}

fn deletes_the_parent(ctx: &mut Context) -> Result<()> {
    ctx.delete_entity("entity:location/province/upper")
}

#[test]
fn the_guard_refuses_a_run_that_leaves_a_dangling_reference() {
    let f = fixture(&["001-chain", "002-orphan"]);
    let mut orphan = migration("002-orphan", deletes_the_parent);
    orphan.deletes = true;
    let registry = Registry::new(vec![migration("001-chain", province_and_district), orphan]).unwrap();
    let runner = Runner::new(&registry, &f.migrations);
    let report = runner
        .run(&f.repo, &Target::Named(vec!["001".into()]), &options())
        .unwrap();
    assert_eq!(report.migrations[0].status, Outcome::Completed);
    let (head, packs) = (
        git(f.repo.root(), &["rev-parse", "HEAD"]),
        nes::git::commit::count_packs(&f.repo).unwrap(),
    );
    let report = runner.run(&f.repo, &Target::AllPending, &options()).unwrap();
    let failed = &report.migrations[0];
    assert_eq!(failed.status, Outcome::Failed);
    // The guard ran beside the batch commits' build: their packs are gone, the branch never
    // moved, and the run's own record file was removed with its other files.
    assert_eq!(git(f.repo.root(), &["rev-parse", "HEAD"]), head);
    assert_eq!(nes::git::commit::count_packs(&f.repo).unwrap(), packs);
    assert!(nes::git::recovery::interrupted(&f.repo).unwrap().is_none());
    let error = failed.error.join("\n");
    assert!(
        error.contains("v2/entity/location/district/lower.json"),
        "{error}"
    );
    assert!(f
        .repo
        .root()
        .join("v2/entity/location/province/upper.json")
        .is_file());
    assert_eq!(
        git(f.repo.root(), &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );

    // --no-verify lets it through, loudly.
    let options = RunOptions {
        no_verify: true,
        ..options()
    };
    let report = runner.run(&f.repo, &Target::AllPending, &options).unwrap();
    assert_eq!(report.migrations[0].status, Outcome::Completed);
    assert!(report.migrations[0]
        .logs
        .iter()
        .any(|l| l.contains("NOT verified")));
}

/// Creates 300 provinces, then rewrites 100 of them twice (object file and a new version
/// each time), then deletes 10: paths written several times and deleted after writing.
fn rewrites(ctx: &mut Context) -> Result<()> {
    for i in 0..300 {
        province(ctx, &format!("p-{i:03}"))?;
    }
    for round in 0..2 {
        for i in 0..100 {
            let full = format!("p-{i:03} round {round}");
            ctx.update_entity(
                &format!("entity:location/province/p-{i:03}"),
                json!({"names": [{"kind": "PRIMARY", "en": {"full": full}}]}),
                "rename",
            )?;
        }
    }
    for i in 290..300 {
        ctx.delete_entity(&format!("entity:location/province/p-{i:03}"))?;
    }
    Ok(())
}

/// Rewrites one province that a maintainer made executable in git.
fn touch_executable(ctx: &mut Context) -> Result<()> {
    ctx.update_entity(
        "entity:location/province/p-000",
        json!({"names": [{"kind": "PRIMARY", "en": {"full": "again"}}]}),
        "rename",
    )?;
    Ok(())
}

/// Every file of HEAD's tree, as `(mode, id, path)`, and git's own hash of each file in the
/// working tree (not the index's cached stat data, which the run wrote itself).
fn head_against_files(dir: &Path) -> Vec<(String, String, String)> {
    let listed = git(dir, &["ls-tree", "-r", "HEAD"]);
    let entries: Vec<(String, String, String)> = listed
        .lines()
        .map(|l| {
            let (meta, path) = l.split_once('\t').unwrap();
            let mut meta = meta.split(' ');
            let mode = meta.next().unwrap().to_string();
            let id = meta.nth(1).unwrap().to_string();
            (mode, id, path.to_string())
        })
        .collect();
    let paths: Vec<&str> = entries.iter().map(|(_, _, p)| p.as_str()).collect();
    let mut args = vec!["hash-object", "--no-filters", "--"];
    args.extend(paths);
    let hashes = git(dir, &args);
    for ((_, id, path), hash) in entries.iter().zip(hashes.lines()) {
        assert_eq!(
            id, hash,
            "{path}: HEAD holds another blob than the working tree's file"
        );
    }
    entries
}

/// The blobs the writer threads hash and compress while writing (the spill) are exactly the
/// files the run left, with their modes, after rewrites and deletions; the spill is gone
/// after the run.
#[test]
fn committed_blobs_are_the_files_the_run_left() {
    let f = fixture(&["001-rewrites", "002-executable"]);
    let mut rewriting = migration("001-rewrites", rewrites);
    rewriting.deletes = true;
    let registry = Registry::new(vec![rewriting, migration("002-executable", touch_executable)]).unwrap();
    let runner = Runner::new(&registry, &f.migrations);
    let dir = f.repo.root();
    let first = runner
        .run(&f.repo, &Target::Named(vec!["001".into()]), &options())
        .unwrap();
    assert_eq!(
        first.migrations[0].status,
        Outcome::Completed,
        "{:?}",
        first.migrations[0].error
    );
    let entries = head_against_files(dir);
    let provinces = entries
        .iter()
        .filter(|(_, _, p)| p.starts_with("v2/entity/location/province/"))
        .count();
    assert_eq!(provinces, 290);
    // Three versions of each rewritten province.
    assert!(entries
        .iter()
        .any(|(_, _, p)| p == "v2/version/entity/location/province/p-000/3.json"));
    assert!(!dir.join(".git/nes/spill").exists());

    // A mode git records is kept when the run rewrites the file.
    let path = "v2/entity/location/province/p-000.json";
    git(dir, &["update-index", "--chmod=+x", path]);
    std::fs::set_permissions(
        dir.join(path),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    git(dir, &["commit", "-q", "-m", "executable"]);
    let second = runner
        .run(&f.repo, &Target::Named(vec!["002".into()]), &options())
        .unwrap();
    assert_eq!(
        second.migrations[0].status,
        Outcome::Completed,
        "{:?}",
        second.migrations[0].error
    );
    let entries = head_against_files(dir);
    let (mode, _, _) = entries.iter().find(|(_, _, p)| p == path).unwrap();
    assert_eq!(mode, "100755");
    assert_eq!(git(dir, &["status", "--porcelain"]), "");
    git(dir, &["fsck", "--strict"]);
    assert!(!dir.join(".git/nes/spill").exists());
}
