//! Crash safety at every filesystem step of the commit phase. A run of the example is stopped
//! (`NES_FAULT=step:N`: an abort, as `kill -9` at that system call) just before each lock
//! file, rename, unlink and fsync it makes, from recording the run to clearing its record.
//! Then, on one copy, the documented way on (`nes migrate run`, and `nes migrate repair`
//! when the run points at it) must end byte for byte at the tree of an uninterrupted run;
//! on another, `nes migrate repair --rollback` must end at the state before the run. Both
//! with `git fsck --strict` clean, no lock file, nothing left under `.git/nes/` or
//! `.git/refs/nes/`, and the migration never reported applied while partial.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::git;
use serde_json::Value;
use tempfile::TempDir;

const EXAMPLE: &str = "000-example-migration";

/// Files a finished command may leave under `.git/nes/` (the ledger's cache).
const KEPT_IN_NES_DIR: &[&str] = &["ledger-cache.json"];

fn nes(db: &Path, args: &[&str], fault: Option<&str>) -> Output {
    let mut cmd = common::nes_command(db.parent().unwrap(), db);
    cmd.args(args);
    if let Some(fault) = fault {
        cmd.env("NES_FAULT", fault);
    }
    cmd.output().expect("run nes")
}

use common::output_text as text;

/// The example in batches of 4 files (several commits), with reproducible timestamps so two
/// runs write the same files.
fn run(db: &Path, fault: Option<&str>) -> Output {
    nes(
        db,
        &[
            "migrate",
            "run",
            "000",
            "--batch-size",
            "4",
            "--reproducible",
            "-q",
        ],
        fault,
    )
}

/// A freshly initialised data repository, copied for each case.
struct Template {
    dir: TempDir,
}

impl Template {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let db = dir.path().join("db");
        let out = nes(&db, &["db", "init"], None);
        assert!(out.status.success(), "{}", text(&out));
        common::set_identity(&db);
        Self { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    /// A copy of the repository in a directory of its own.
    fn copy(&self) -> (TempDir, PathBuf) {
        let dir = TempDir::new().unwrap();
        let db = dir.path().join("db");
        copy_tree(&self.db(), &db);
        (dir, db)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// What an uninterrupted run leaves: HEAD's tree and the batch subjects, oldest first.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    tree: String,
    subjects: Vec<String>,
}

fn outcome(db: &Path) -> Outcome {
    Outcome {
        tree: git(db, &["rev-parse", "HEAD^{tree}"]).trim().to_string(),
        subjects: git(db, &["log", "--reverse", "--format=%s"])
            .lines()
            .map(str::to_string)
            .collect(),
    }
}

fn status(db: &Path) -> Value {
    let out = nes(db, &["migrate", "status", "--json"], None);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
}

fn example_status(doc: &Value) -> String {
    doc["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == EXAMPLE)
        .expect("example in status")["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The steps an uninterrupted run takes, as `NES_FAULT=steps` lists them.
fn steps(template: &Template) -> Vec<String> {
    let (_dir, db) = template.copy();
    let out = run(&db, Some("steps"));
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("nes: fault step "))
        .map(str::to_string)
        .collect()
}

/// Stops a run of a copy just before step `n`, checks that status never calls a partial
/// run applied, and returns the copy.
fn crash_at(template: &Template, n: usize, total_batches: usize) -> (TempDir, PathBuf) {
    let (dir, db) = template.copy();
    let out = run(&db, Some(&format!("step:{n}")));
    assert_eq!(
        out.status.code(),
        None,
        "step {n}: expected an abort: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("aborting at step {n}:")),
        "{}",
        text(&out)
    );
    let committed = git(&db, &["log", "--format=%s"])
        .lines()
        .filter(|s| s.starts_with(&format!("Migration: {EXAMPLE} (Batch ")))
        .count();
    let doc = status(&db);
    let state = example_status(&doc);
    if !doc["interrupted"].is_null() {
        assert_eq!(
            doc["recovery"]["command"],
            format!("nes migrate repair {EXAMPLE}"),
            "step {n}: status names the command: {doc}"
        );
    }
    if committed < total_batches {
        assert_ne!(
            state, "applied",
            "step {n}: {committed} of {total_batches} batches committed"
        );
    }
    (dir, db)
}

/// `git fsck --strict` clean, no lock file in `.git`, nothing of a run left under
/// `.git/nes/` or `.git/refs/nes/`, a clean tree, no interrupted run.
fn assert_clean(db: &Path, case: &str) {
    let fsck = Command::new("git")
        .args(["fsck", "--strict", "--no-progress"])
        .current_dir(db)
        .output()
        .unwrap();
    assert!(fsck.status.success(), "{case}: fsck: {}", text(&fsck));
    let git_dir = db.join(".git");
    for entry in walkdir::WalkDir::new(&git_dir) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(&git_dir).unwrap().to_path_buf();
        if entry.file_type().is_file() {
            assert!(
                !rel.to_string_lossy().ends_with(".lock"),
                "{case}: a lock file is left: {rel:?}"
            );
            if rel.starts_with("nes") {
                let name = rel.file_name().unwrap().to_string_lossy().into_owned();
                assert!(
                    rel.parent() == Some(Path::new("nes")) && KEPT_IN_NES_DIR.contains(&name.as_str()),
                    "{case}: left under .git/nes: {rel:?}"
                );
            }
            assert!(
                !rel.starts_with("refs/nes"),
                "{case}: left under .git/refs/nes: {rel:?}"
            );
        }
    }
    assert_eq!(
        git(db, &["status", "--porcelain", "--untracked-files=all"]),
        "",
        "{case}"
    );
    assert!(status(db)["interrupted"].is_null(), "{case}");
}

/// From a stopped run on: `run`, and when it names `nes migrate repair`, that command and
/// `run` again, end exactly where an uninterrupted run ends.
fn assert_continues(template: &Template, n: usize, what: &str, total: usize, want: &Outcome) {
    let case = format!("continue after a stop at step {n} ({what})");
    let (_dir, db) = crash_at(template, n, total);
    let out = run(&db, None);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case}: {}", text(&out));
        let command = format!("nes migrate repair {EXAMPLE}");
        assert!(stderr.contains(&command), "{case}: {}", text(&out));
        let repair = nes(&db, &["migrate", "repair", EXAMPLE], None);
        assert!(repair.status.success(), "{case}: repair: {}", text(&repair));
        let again = run(&db, None);
        assert!(
            again.status.success(),
            "{case}: run after repair: {}",
            text(&again)
        );
    }
    assert_eq!(&outcome(&db), want, "{case}");
    assert_eq!(example_status(&status(&db)), "applied", "{case}");
    assert_clean(&db, &case);
}

/// From a stopped run on: `repair --rollback` returns to the commit, index and tree before
/// the run, unless the run had already finished its refs (then it is applied, and
/// `repair --rollback` finds no interrupted run to undo).
fn assert_rolls_back(template: &Template, n: usize, what: &str, total: usize, want: &Outcome) {
    let case = format!("rollback after a stop at step {n} ({what})");
    let before = git(&template.db(), &["rev-parse", "HEAD"]);
    let index_before = git(&template.db(), &["ls-files", "-s"]);
    let (_dir, db) = crash_at(template, n, total);
    let interrupted = !status(&db)["interrupted"].is_null();
    let out = nes(&db, &["migrate", "repair", "--rollback"], None);
    if interrupted {
        assert!(out.status.success(), "{case}: {}", text(&out));
    } else {
        // Nothing to roll back: at most nes's own leftovers to remove.
        assert!(matches!(out.status.code(), Some(0 | 2)), "{case}: {}", text(&out));
    }
    if git(&db, &["rev-parse", "HEAD"]) == before {
        assert_eq!(git(&db, &["ls-files", "-s"]), index_before, "{case}");
        assert_eq!(example_status(&status(&db)), "pending", "{case}");
        assert!(!db.join("v2").exists(), "{case}: the run's files are gone");
    } else {
        assert!(!interrupted, "{case}: HEAD moved after a rollback");
        assert_eq!(&outcome(&db), want, "{case}");
        assert_eq!(example_status(&status(&db)), "applied", "{case}");
    }
    assert_clean(&db, &case);
    // And nothing is in the way of the next run.
    let next = run(&db, None);
    assert!(next.status.success(), "{case}: next run: {}", text(&next));
    assert_eq!(&outcome(&db), want, "{case}: next run");
}

#[test]
fn a_stop_at_any_step_of_the_commit_phase_is_recovered() {
    let template = Template::new();
    let steps = steps(&template);
    // Recording the run, the pre-run ref, the plan, each batch's branch move, the index
    // and clearing the record: far more than a handful of steps.
    assert!(steps.len() > 20, "{steps:?}");
    for wanted in [
        "refs/heads/main.lock",
        "refs/nes/pre-run.lock",
        "index.lock",
        "run.json",
        "fsync",
    ] {
        assert!(
            steps.iter().any(|s| s.contains(wanted)),
            "no step on {wanted}: {steps:?}"
        );
    }
    let (_dir, db) = template.copy();
    assert!(run(&db, None).status.success());
    let want = outcome(&db);
    let total = want
        .subjects
        .iter()
        .filter(|s| s.starts_with(&format!("Migration: {EXAMPLE} (Batch ")))
        .count();
    assert!(total > 2, "several batches expected: {want:?}");
    // Two workers: each case is a few short processes.
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(step) = steps.get(i) else { break };
                let (n, what) = step.split_once(": ").expect("`N: what`");
                let n: usize = n.parse().unwrap();
                assert_eq!(n, i + 1, "steps are numbered from 1: {steps:?}");
                assert_continues(&template, n, what, total, &want);
                assert_rolls_back(&template, n, what, total, &want);
            });
        }
    });
}

/// A run record that is lost, cut short, or only in its temporary file after a crash, is
/// never read as a run of "": the temporary file stands in for it when whole, else the run's
/// commits name the migration, and repair rolls it back (no plan to complete it from).
#[test]
fn a_lost_or_truncated_run_record_is_never_a_run_of_nothing() {
    let template = Template::new();
    let (_dir, db) = template.copy();
    assert!(run(&db, None).status.success());
    let want = outcome(&db);
    for damage in ["lost", "truncated", "only-tmp"] {
        let case = format!("run record {damage}");
        let (_dir, db) = template.copy();
        let out = run(&db, Some("between-batches"));
        assert_eq!(out.status.code(), None, "{case}: {}", text(&out));
        let record = db.join(".git/nes/run.json");
        let bytes = std::fs::read(&record).unwrap();
        match damage {
            "lost" => std::fs::remove_file(&record).unwrap(),
            "truncated" => std::fs::write(&record, &bytes[..bytes.len() / 2]).unwrap(),
            _ => std::fs::rename(&record, db.join(".git/nes/run.json.tmp")).unwrap(),
        }
        let doc = status(&db);
        assert_eq!(doc["interrupted"]["migration"], EXAMPLE, "{case}: {doc}");
        assert_ne!(doc["interrupted"]["run_id"], "", "{case}: {doc}");
        assert_eq!(example_status(&doc), "partial", "{case}");
        let expected_state = if damage == "only-tmp" {
            "partial"
        } else {
            "record-lost"
        };
        assert_eq!(doc["recovery"]["state"], expected_state, "{case}: {doc}");
        let refused = run(&db, None);
        assert_eq!(refused.status.code(), Some(1), "{case}: {}", text(&refused));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(&format!("nes migrate repair {EXAMPLE}")),
            "{case}: {}",
            text(&refused)
        );
        let repair = nes(&db, &["migrate", "repair", EXAMPLE], None);
        assert!(repair.status.success(), "{case}: {}", text(&repair));
        let said = if damage == "only-tmp" {
            "completed"
        } else {
            "rolled back"
        };
        assert!(
            String::from_utf8_lossy(&repair.stdout).contains(said),
            "{case}: {}",
            text(&repair)
        );
        assert_clean(&db, &case);
        assert!(run(&db, None).status.success(), "{case}");
        assert_eq!(outcome(&db), want, "{case}");
        assert_clean(&db, &case);
    }
}

/// A `<branch>.lock` nes cannot prove its own (another git process may hold it) still
/// refuses, naming the exact command to run once no git process is running.
#[test]
fn a_lock_of_another_git_process_is_refused_with_the_command_that_removes_it() {
    let template = Template::new();
    let (_dir, db) = template.copy();
    let lock = db.join(".git/refs/heads/main.lock");
    std::fs::write(&lock, b"").unwrap();
    let doc = status(&db);
    assert_eq!(doc["recovery"]["state"], "foreign-lock", "{doc}");
    let out = run(&db, None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("rm '{}'", lock.display())),
        "{}",
        text(&out)
    );
    assert!(lock.exists(), "not nes's to remove");
}

/// A pack nes was writing when it was stopped (`tmp_nes_*`, as named while a run builds its
/// batches) is its own: status names it, and the next run removes it and says so.
#[test]
fn a_half_written_pack_is_removed_by_the_next_run() {
    let template = Template::new();
    let (_dir, db) = template.copy();
    let tmp = db.join(".git/objects/pack/tmp_nes_4242_0.pack");
    std::fs::create_dir_all(tmp.parent().unwrap()).unwrap();
    std::fs::write(&tmp, b"PACK").unwrap();
    let doc = status(&db);
    assert_eq!(doc["recovery"]["state"], "leftovers", "{doc}");
    let out = run(&db, None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("removed a half-written pack"),
        "{}",
        text(&out)
    );
    assert!(!tmp.exists());
    assert_clean(&db, "a half-written pack");
}
