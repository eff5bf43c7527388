//! The ledger read from real histories.

mod git_support;

use git_support::*;
use nes::git::commit::commit_one;
use nes::git::ledger::{read_ledger, Recorded};
use nes::git::message::{baseline_message, revert_trailer};
use nes::git::repo::DataRepo;

fn run(repo: &DataRepo, migration: &str, run_id: &str, files: usize, batch: usize) -> Vec<git2::Oid> {
    let units = write_units(repo.root(), files, run_id);
    commit_all(repo, &units, batch, migration, run_id)
}

#[test]
fn complete_run_is_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    let oids = run(&repo, "001-a", "run-a", 5, 4);
    let ledger = read_ledger(&repo).unwrap();
    let entry = ledger.get("001-a").unwrap();
    assert_eq!(entry.recorded, Recorded::Applied);
    assert_eq!(
        entry.commits,
        oids.iter().map(|o| o.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(entry.run_id.as_deref(), Some("run-a"));
    assert_eq!(entry.checksum.as_deref(), Some("v1:sha256:00ff"));
    assert_eq!(entry.author.as_deref(), Some("Nes Test <nes-test@example.org>"));
    assert!(entry.date.is_some());
    assert!(!entry.baseline && !entry.python_log && !entry.unpushed);
    assert_eq!(ledger.entries.len(), 1);
}

#[test]
fn missing_last_batch_is_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    run(&repo, "001-a", "run-a", 6, 4);
    git(tmp.path(), &["reset", "--hard", "-q", "HEAD~1"]);
    let ledger = read_ledger(&repo).unwrap();
    let entry = ledger.get("001-a").unwrap();
    assert_eq!(entry.recorded, Recorded::Partial);
    assert_eq!(entry.commits.len(), 2);
    assert!(!ledger.is_applied("001-a"));
}

#[test]
fn baseline_counts_as_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    let message = baseline_message(
        "003-parties",
        "run-b",
        Some("v1:sha256:aa"),
        "Already in the data.",
    );
    let oid = commit_one(&repo, &[], &message, &sig(&repo)).unwrap();
    assert_eq!(
        repo.git().find_commit(oid).unwrap().tree_id(),
        repo.git().find_commit(oid).unwrap().parent(0).unwrap().tree_id()
    );
    let ledger = read_ledger(&repo).unwrap();
    let entry = ledger.get("003-parties").unwrap();
    assert_eq!(entry.recorded, Recorded::Applied);
    assert!(entry.baseline);
    assert_eq!(entry.checksum.as_deref(), Some("v1:sha256:aa"));
}

#[test]
fn revert_makes_pending_until_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    run(&repo, "001-a", "run-1", 2, 10);
    run(&repo, "002-b", "run-2", 2, 10);
    let message = format!("Revert 001-a\n\n{}", revert_trailer("001-a"));
    commit_one(&repo, &[], &message, &sig(&repo)).unwrap();
    let ledger = read_ledger(&repo).unwrap();
    assert!(ledger.get("001-a").is_none());
    assert!(ledger.is_applied("002-b"));

    run(&repo, "001-a", "run-3", 2, 10);
    let ledger = read_ledger(&repo).unwrap();
    assert_eq!(ledger.get("001-a").unwrap().run_id.as_deref(), Some("run-3"));
    assert!(ledger.is_applied("001-a"));
}

#[test]
fn python_migration_logs_are_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    write(
        dir,
        "v2/migration-logs/000-example-migration/metadata.json",
        r#"{"migration_name": "000-example-migration", "author": "Damodar Dahal", "executed_at": "2025-11-13T17:22:12.791310", "status": "completed"}"#,
    );
    write(
        dir,
        "v2/migration-logs/000-example-migration/logs.txt",
        "Migration: 000\n",
    );
    write(dir, "v2/migration-logs/009-unfinished/logs.txt", "no metadata\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "Run 000-example-migration"]);
    let ledger = read_ledger(&repo).unwrap();
    let entry = ledger.get("000-example-migration").unwrap();
    assert_eq!(entry.recorded, Recorded::Applied);
    assert!(entry.python_log);
    assert_eq!(entry.author.as_deref(), Some("Damodar Dahal"));
    assert!(ledger.get("009-unfinished").is_none());
}

#[test]
fn real_bundle_reads_python_migrations_as_applied() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::clone_bundle(&shared, &tmp.path().join("db"));
    let repo = DataRepo::open(&dir).unwrap();
    let ledger = read_ledger(&repo).unwrap();
    let names: Vec<&str> = ledger.entries.keys().map(String::as_str).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    for (i, name) in names.iter().enumerate() {
        assert!(name.starts_with(&format!("00{i}-")), "{names:?}");
        let entry = &ledger.entries[*name];
        assert_eq!(entry.recorded, Recorded::Applied);
        assert!(entry.python_log);
    }
    assert!(names.contains(&"004-source-election-constituencies"));
    repo.ensure_clean().unwrap();
}

#[test]
fn cache_follows_history_moves() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    run(&repo, "001-a", "run-1", 2, 10);
    assert!(read_ledger(&repo).unwrap().is_applied("001-a"));
    let cache = repo.git_dir().join("nes/ledger-cache.json");
    assert!(cache.is_file());

    // HEAD moved forward: the cache is extended.
    let before_b = repo.head().unwrap().to_string();
    run(&repo, "002-b", "run-2", 4, 2);
    let ledger = read_ledger(&repo).unwrap();
    assert!(ledger.is_applied("001-a") && ledger.is_applied("002-b"));

    // History rewritten: the cache is rebuilt, not trusted.
    git(dir, &["reset", "--hard", "-q", "HEAD~1"]);
    let ledger = read_ledger(&repo).unwrap();
    assert_eq!(ledger.get("002-b").unwrap().recorded, Recorded::Partial);
    git(dir, &["reset", "--hard", "-q", &before_b]);
    assert!(read_ledger(&repo).unwrap().get("002-b").is_none());

    // A damaged cache is ignored.
    std::fs::write(&cache, "not json").unwrap();
    assert!(read_ledger(&repo).unwrap().is_applied("001-a"));
}
