//! `nes migrate mark-applied` and `nes migrate revert` through the built binary.

mod common;

use common::git;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

const EXAMPLE: &str = "000-example-migration";

/// `nes` in `dir`, on the data repository `dir/db` and the repository's migrations.
fn nes_command(dir: &Path) -> Command {
    common::nes_command(dir, &dir.join("db"))
}

fn nes(dir: &Path, args: &[&str]) -> Output {
    nes_command(dir).args(args).output().expect("run nes")
}

/// Runs `nes` with the fault point `fault` armed, asserting that the process aborted there.
fn crash(dir: &Path, fault: &str, args: &[&str]) {
    let out = nes_command(dir)
        .env("NES_FAULT", fault)
        .args(args)
        .output()
        .expect("run nes");
    assert_eq!(out.status.code(), None, "aborted");
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn setup() -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    ok(nes(dir.path(), &["db", "init"]));
    let db = dir.path().join("db");
    common::set_identity(&db);
    (dir, db)
}

/// The example's row in `status --json`.
fn example(dir: &Path) -> Value {
    let out = ok(nes(dir, &["migrate", "status", "--json"]));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == EXAMPLE)
        .unwrap()
        .clone()
}

#[test]
fn mark_applied_records_a_baseline_that_run_skips() {
    let (dir, db) = setup();
    let head = git(&db, &["rev-parse", "HEAD^{tree}"]);
    ok(nes(
        dir.path(),
        &["migrate", "mark-applied", "000", "--reason", "History squashed."],
    ));
    let row = example(dir.path());
    assert_eq!(row["status"], "applied", "{row}");
    assert_eq!(row["ledger"]["baseline"], true);
    assert!(row["ledger"]["checksum"]
        .as_str()
        .unwrap()
        .starts_with("v2:sha256:"));
    assert_eq!(git(&db, &["rev-parse", "HEAD^{tree}"]), head, "an empty commit");
    let message = git(&db, &["log", "-1", "--format=%B"]);
    for line in [
        "Nes-Batch: 1/1",
        "Nes-Baseline: true",
        "Nes-Run: ",
        "History squashed.",
    ] {
        assert!(message.contains(line), "{line} missing: {message}");
    }

    let commits = git(&db, &["rev-list", "--count", "HEAD"]);
    ok(nes(dir.path(), &["migrate", "run", "000"]));
    assert_eq!(git(&db, &["rev-list", "--count", "HEAD"]), commits, "skipped");
    assert!(!db.join("v2").exists());

    let again = nes(dir.path(), &["migrate", "mark-applied", EXAMPLE]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already applied"));
}

#[test]
fn revert_makes_the_example_pending_and_it_runs_again() {
    let (dir, db) = setup();
    ok(nes(dir.path(), &["migrate", "run", "000", "--batch-size", "4"]));
    let person = db.join("v2/entity/person/sita-example-sharma.json");
    assert!(person.is_file());

    let out = ok(nes(dir.path(), &["migrate", "revert", EXAMPLE]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("pending again"));
    assert!(!person.exists());
    assert!(!db.join("v2").exists(), "every file of the run is gone");
    assert_eq!(git(&db, &["status", "--porcelain", "--untracked-files=all"]), "");
    assert_eq!(example(dir.path())["status"], "pending");
    assert_eq!(
        git(&db, &["log", "-1", "--format=%s"]).trim(),
        format!("Revert migration: {EXAMPLE}")
    );

    ok(nes(dir.path(), &["migrate", "run", "000", "--batch-size", "4"]));
    assert!(person.is_file());
    assert_eq!(example(dir.path())["status"], "applied");

    let pending = nes(dir.path(), &["migrate", "revert", "000"]);
    assert!(pending.status.success(), "applied again, so revertible again");
    let twice = nes(dir.path(), &["migrate", "revert", "000"]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("not applied"));
}

/// A foreign commit between the batches (made while the run was interrupted, then the run
/// completed by repair) would be undone by the revert too: it is refused, naming it.
#[test]
fn revert_refuses_when_a_foreign_commit_lies_between_the_batches() {
    let (dir, db) = setup();
    crash(
        dir.path(),
        "between-batches",
        &["migrate", "run", "000", "-q", "--batch-size", "4"],
    );
    std::fs::write(db.join("NOTES.md"), "foreign\n").unwrap();
    git(&db, &["add", "NOTES.md"]);
    // `--only`: the index still lags HEAD while the run is interrupted (it is synced when
    // the run ends), so a plain commit would also record the first batch's files as deleted.
    git(&db, &["commit", "-qm", "A foreign commit", "--only", "NOTES.md"]);
    let foreign = git(&db, &["rev-parse", "HEAD"]);
    ok(nes(dir.path(), &["migrate", "repair", EXAMPLE]));
    assert_eq!(example(dir.path())["status"], "applied");

    let head = git(&db, &["rev-parse", "HEAD"]);
    let out = nes(dir.path(), &["migrate", "revert", EXAMPLE]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(foreign.trim()), "{stderr}");
    assert_eq!(git(&db, &["rev-parse", "HEAD"]), head, "nothing committed");
}

/// After a crash, mark-applied neither runs over the interrupted run nor its stale lock.
#[test]
fn mark_applied_refuses_during_an_interrupted_run() {
    let (dir, _db) = setup();
    crash(dir.path(), "before-commit", &["migrate", "run", "000", "-q"]);
    let out = nes(dir.path(), &["migrate", "mark-applied", EXAMPLE]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nes migrate repair"));
    ok(nes(dir.path(), &["migrate", "repair", EXAMPLE]));
    ok(nes(dir.path(), &["migrate", "mark-applied", EXAMPLE]));
    assert_eq!(example(dir.path())["status"], "applied");
}
