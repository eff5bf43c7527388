//! Crash recovery: restoring paths, finding and repairing an interrupted run.

mod git_support;

use std::panic::{catch_unwind, AssertUnwindSafe};

use git_support::*;
use nes::git::commit::{commit_batches, plan_batches, FileChange};
use nes::git::ledger::{read_ledger, Recorded};
use nes::git::recovery::{
    finish_run, interrupted, record_pre_run, repair, restore_paths, save_plan, RepairMode, PRE_RUN_REF,
};
use nes::git::repo::DataRepo;

#[test]
fn restore_paths_puts_head_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    let units = write_units(dir, 2, "a");
    commit_all(&repo, &units, 10, "001-a", "r");

    write(dir, "v2/entity/person/p-00000.json", "broken");
    std::fs::remove_file(dir.join("v2/entity/person/p-00001.json")).unwrap();
    write(dir, "v2/entity/org/new/x.json", "{}");
    let paths: Vec<String> = [
        "v2/entity/person/p-00000.json",
        "v2/entity/person/p-00001.json",
        "v2/entity/org/new/x.json",
    ]
    .map(String::from)
    .to_vec();
    restore_paths(&repo, &paths).unwrap();
    assert!(
        !dir.join("v2/entity/org").exists(),
        "emptied directories are removed"
    );
    assert!(dir.join("v2/entity/person").is_dir());
    assert_clean_and_sound(dir);
}

/// Starts a 3-batch run of `001-a` that "crashes" right after its first commit.
fn crash_after_first_batch(repo: &DataRepo) -> git2::Oid {
    // A tracked file the run deletes in its last batch, for repair to complete.
    write(repo.root(), "v2/old.json", "old\n");
    git(repo.root(), &["add", "v2/old.json"]);
    git(repo.root(), &["commit", "-qm", "old file"]);
    let pre_run = repo.head().unwrap();
    let mut units = write_units(repo.root(), 6, "a");
    std::fs::remove_file(repo.root().join("v2/old.json")).unwrap();
    units.push(vec![FileChange::Delete("v2/old.json".into())]);
    let batches = plan_batches(&units, 5);
    assert_eq!(batches.len(), 3);
    let meta = meta("001-a", "run-crash");
    record_pre_run(repo, "run-crash", "001-a").unwrap();
    save_plan(repo, &meta, &batches).unwrap();
    let crashed = catch_unwind(AssertUnwindSafe(|| {
        commit_batches(repo, &batches, &meta, &sig(repo), &mut |i, _| {
            if i == 1 {
                panic!("simulated crash after batch 1");
            }
        })
    }));
    assert!(crashed.is_err());
    pre_run
}

#[test]
fn interrupted_run_is_found_and_completed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    assert!(interrupted(&repo).unwrap().is_none());
    let pre_run = crash_after_first_batch(&repo);

    let found = interrupted(&repo).unwrap().unwrap();
    assert_eq!(found.migration, "001-a");
    assert_eq!(found.run_id, "run-crash");
    assert_eq!(found.pre_run_commit, pre_run.to_string());
    assert_eq!((found.committed_batches, found.planned_batches), (1, 3));
    assert_eq!(
        read_ledger(&repo).unwrap().get("001-a").unwrap().recorded,
        Recorded::Partial
    );
    let err = repo.ensure_clean().unwrap_err();
    assert!(nes::error::hint(&err).unwrap().contains("nes migrate repair"));

    repair(&repo, RepairMode::Complete, &sig(&repo)).unwrap();
    let entry = read_ledger(&repo).unwrap().get("001-a").cloned().unwrap();
    assert_eq!(entry.recorded, Recorded::Applied);
    assert_eq!(entry.commits.len(), 3);
    let subjects = git(dir, &["log", "-3", "--reverse", "--format=%s"]);
    assert_eq!(
        subjects,
        "Migration: 001-a (Batch 1/3)\nMigration: 001-a (Batch 2/3)\nMigration: 001-a (Batch 3/3)\n"
    );
    assert!(repo
        .head_lookup()
        .unwrap()
        .entry("v2/old.json")
        .unwrap()
        .is_none());
    assert!(interrupted(&repo).unwrap().is_none());
    assert!(repo.git().find_reference(PRE_RUN_REF).is_err());
    assert_clean_and_sound(dir);
}

#[test]
fn interrupted_run_is_rolled_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    let pre_run = crash_after_first_batch(&repo);

    repair(&repo, RepairMode::Rollback, &sig(&repo)).unwrap();
    assert_eq!(repo.head().unwrap(), pre_run);
    assert!(read_ledger(&repo).unwrap().get("001-a").is_none());
    assert!(dir.join("v2/old.json").is_file());
    let left: Vec<_> = walkdir::WalkDir::new(dir.join("v2"))
        .into_iter()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    assert!(
        !dir.join("v2/entity").exists(),
        "the run's files are gone: {left:?}"
    );
    assert!(interrupted(&repo).unwrap().is_none());
    assert_clean_and_sound(dir);
}

#[test]
fn repair_without_run_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    let err = repair(&repo, RepairMode::Rollback, &sig(&repo)).unwrap_err();
    assert_eq!(nes::error::exit_code(&err), nes::error::ExitCode::Usage);
}

#[test]
fn complete_without_plan_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    record_pre_run(&repo, "r", "001-a").unwrap();
    let err = repair(&repo, RepairMode::Complete, &sig(&repo)).unwrap_err();
    assert!(nes::error::hint(&err).unwrap().contains("--rollback"));
    finish_run(&repo).unwrap();
    assert!(interrupted(&repo).unwrap().is_none());
}
