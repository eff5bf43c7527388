//! Crash safety of the built binary: `NES_FAULT` aborts a run at each fault point (and a
//! hanging run is killed for real); `status` must explain the state, `run` must refuse, and
//! `repair` (or `push`) must bring the data repository back to a consistent state.

mod common;

use common::git;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

const EXAMPLE: &str = "000-example-migration";

/// A data repository (and optionally a bare `origin`) in a temp dir.
struct Setup {
    _dir: TempDir,
    db: PathBuf,
}

impl Setup {
    /// `nes db init`, with a bare remote as origin (pushed once, so `origin/main` exists)
    /// when `with_remote`.
    fn new(with_remote: bool) -> Self {
        let dir = TempDir::new().unwrap();
        let db = dir.path().join("db");
        let mut init = vec!["db", "init"];
        let remote = dir.path().join("remote.git");
        let remote_str = remote.to_str().unwrap().to_string();
        if with_remote {
            git(dir.path(), &["init", "--quiet", "--bare", "remote.git"]);
            init.extend(["--remote", remote_str.as_str()]);
        }
        let setup = Self { _dir: dir, db };
        assert_success(&setup.nes(&init, None));
        common::set_identity(&setup.db);
        if with_remote {
            assert_success(&setup.nes(&["migrate", "push"], None));
        }
        setup
    }

    /// The `nes` command with the repository's migrations, a test identity and this data
    /// repository, optionally with a fault point.
    fn command(&self, args: &[&str], fault: Option<&str>) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nes"));
        cmd.current_dir(self.db.parent().unwrap())
            .env(
                "NES_MIGRATIONS_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"),
            )
            .env("NES_GIT_AUTHOR", "Nes Test <t@example.org>")
            .env("NES_DB_REPO", &self.db)
            .env_remove("NES_FAULT")
            .args(args);
        if let Some(fault) = fault {
            cmd.env("NES_FAULT", fault);
        }
        cmd
    }

    fn nes(&self, args: &[&str], fault: Option<&str>) -> Output {
        self.command(args, fault).output().expect("run nes")
    }

    /// `migrate run --all` in batches of 4 files, so the example makes several commits.
    fn run_all(&self, fault: Option<&str>) -> Output {
        self.nes(&["migrate", "run", "000", "--batch-size", "4", "-q"], fault)
    }

    /// Runs with `fault` and checks the process died there (aborted, no exit code).
    fn crash(&self, fault: &str) {
        let out = self.run_all(Some(fault));
        assert_eq!(
            out.status.code(),
            None,
            "expected an abort at {fault}: {}",
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("aborting at {fault}")),
            "{}",
            text(&out)
        );
    }

    fn status(&self) -> Value {
        let out = self.nes(&["migrate", "status", "--json"], None);
        assert_success(&out);
        serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
    }

    fn example_status(&self) -> String {
        let doc = self.status();
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

    fn head(&self) -> String {
        git(&self.db, &["rev-parse", "HEAD"]).trim().to_string()
    }

    /// A run of the example refuses with exit code 1 and points at `nes migrate repair`.
    fn assert_run_refused_with_repair_hint(&self) {
        let out = self.run_all(None);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("nes migrate repair {EXAMPLE}")),
            "{stderr}"
        );
    }

    fn repair(&self, extra: &[&str]) -> Output {
        let mut args = vec!["migrate", "repair", EXAMPLE];
        args.extend(extra);
        let out = self.nes(&args, None);
        assert_success(&out);
        out
    }

    /// Applied with every batch commit in history, a clean tree, no interrupted run.
    fn assert_applied_with_all_batches(&self) {
        assert_eq!(self.example_status(), "applied");
        assert!(self.status()["interrupted"].is_null());
        let subjects = git(&self.db, &["log", "--format=%s"]);
        let batches: Vec<&str> = subjects
            .lines()
            .filter(|s| s.starts_with(&format!("Migration: {EXAMPLE} (Batch ")))
            .collect();
        assert!(batches.len() > 1, "several batches expected: {subjects}");
        for n in 1..=batches.len() {
            let wanted = format!("Migration: {EXAMPLE} (Batch {n}/{})", batches.len());
            assert!(batches.contains(&wanted.as_str()), "{wanted} missing: {subjects}");
        }
        assert_eq!(git(&self.db, &["status", "--porcelain"]), "");
        assert!(self
            .db
            .join("v2/entity/person/sita-example-sharma.json")
            .is_file());
    }

    /// Back at `pre_run` with a clean tree and the example pending.
    fn assert_rolled_back_to(&self, pre_run: &str) {
        assert_eq!(self.head(), pre_run);
        assert_eq!(
            git(&self.db, &["status", "--porcelain", "--untracked-files=all"]),
            ""
        );
        assert_eq!(self.example_status(), "pending");
        assert!(self.status()["interrupted"].is_null());
        assert!(!self.db.join("v2").exists(), "the run's files are gone");
    }

    /// A normal run after recovery works and applies the example.
    fn assert_normal_run_works(&self) {
        let out = self.run_all(None);
        assert_success(&out);
        self.assert_applied_with_all_batches();
    }
}

use common::output_text as text;

fn assert_success(out: &Output) {
    assert!(out.status.success(), "{}", text(out));
}

/// A crash before any commit: status shows the interrupted run with nothing committed,
/// `run` refuses, `repair` rolls back to the pre-run commit, and a new run works.
fn crash_before_any_commit(fault: &str) {
    let s = Setup::new(false);
    let pre_run = s.head();
    s.crash(fault);
    let status = s.status();
    assert_eq!(status["interrupted"]["migration"], EXAMPLE, "{status}");
    assert_eq!(status["interrupted"]["committed_batches"], 0);
    assert_eq!(s.example_status(), "pending");
    s.assert_run_refused_with_repair_hint();
    let out = s.repair(&[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("rolled back"));
    s.assert_rolled_back_to(&pre_run);
    s.assert_normal_run_works();
}

#[test]
fn crash_during_migration_is_rolled_back() {
    crash_before_any_commit("during-migration");
}

#[test]
fn crash_before_commit_is_rolled_back() {
    crash_before_any_commit("before-commit");
}

/// After the first of several batch commits: partial, then `repair` commits the rest.
#[test]
fn crash_between_batches_is_completed_by_repair() {
    let s = Setup::new(false);
    s.crash("between-batches");
    let status = s.status();
    assert_eq!(s.example_status(), "partial", "{status}");
    assert_eq!(status["interrupted"]["committed_batches"], 1);
    assert!(status["interrupted"]["planned_batches"].as_u64().unwrap() > 1);
    s.assert_run_refused_with_repair_hint();
    let out = s.repair(&[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("completed"));
    s.assert_applied_with_all_batches();
    // Nothing left to run: a normal run succeeds and commits nothing.
    let head = s.head();
    assert_success(&s.run_all(None));
    assert_eq!(s.head(), head);
}

/// The same crash, rolled back instead: the first batch commit is gone.
#[test]
fn crash_between_batches_can_be_rolled_back() {
    let s = Setup::new(false);
    let pre_run = s.head();
    s.crash("between-batches");
    s.assert_run_refused_with_repair_hint();
    s.repair(&["--rollback"]);
    s.assert_rolled_back_to(&pre_run);
    s.assert_normal_run_works();
}

/// Committed but not pushed: status says unpushed; the dead run's lock, with no
/// interrupted run behind it, is taken over by the next command (said with its pid);
/// `nes migrate push` publishes the commits.
#[test]
fn crash_before_push_leaves_unpushed_commits_for_push() {
    let s = Setup::new(true);
    s.crash("before-push");
    assert_eq!(s.example_status(), "unpushed");
    assert!(s.status()["interrupted"].is_null());

    let out = s.run_all(None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: took over a stale run lock left by pid ")
            && stderr.contains("(no longer running)"),
        "{stderr}"
    );
    assert!(!s.db.join(".git/nes/run.lock").exists());

    assert_success(&s.nes(&["migrate", "push"], None));
    assert_eq!(s.example_status(), "applied");
    let remote_head = git(&s.db, &["rev-parse", "origin/main"]);
    assert_eq!(remote_head.trim(), s.head());
    assert_eq!(git(&s.db, &["status", "--porcelain"]), "");
    // A normal run has nothing left to do.
    assert_success(&s.nes(&["migrate", "run", "000", "-q"], None));
    assert_eq!(s.head(), remote_head.trim());
}

/// A real kill of a hanging run: while it lives the lock makes others wait (exit 3); once
/// it is dead the stale lock is reported with its pid, and `--break-lock` plus `repair`
/// resolve it.
#[test]
fn killed_run_leaves_a_stale_lock_that_repair_resolves() {
    let s = Setup::new(false);
    let pre_run = s.head();
    let mut child = s
        .command(
            &["migrate", "run", "000", "--batch-size", "4", "-q"],
            Some("hang-during-migration"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = stderr.read_line(&mut line).unwrap();
        assert!(n > 0, "nes exited before hanging");
        if line.contains("hanging") {
            break;
        }
    }
    assert!(s.db.join(".git/nes/run.lock").is_file());

    let busy = s.run_all(None);
    assert_eq!(busy.status.code(), Some(3), "{}", text(&busy));
    assert!(String::from_utf8_lossy(&busy.stderr).contains(&format!("pid {pid}")));

    child.kill().unwrap();
    child.wait().unwrap();

    let out = s.run_all(None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stale run lock") && stderr.contains(&format!("pid {pid}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("nes migrate repair {EXAMPLE}")),
        "{stderr}"
    );

    // Breaking the lock alone does not run over the interrupted run.
    let out = s.nes(&["migrate", "run", "000", "--break-lock", "-q"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nes migrate repair"));

    s.repair(&[]);
    s.assert_rolled_back_to(&pre_run);
    s.assert_normal_run_works();
}

/// `repair` takes over a stale lock by itself: no `--break-lock` needed after a crash.
#[test]
fn repair_takes_over_the_stale_lock_of_a_crashed_run() {
    let s = Setup::new(false);
    s.crash("between-batches");
    assert!(s.db.join(".git/nes/run.lock").is_file());
    s.repair(&[]);
    s.assert_applied_with_all_batches();
    assert!(!s.db.join(".git/nes/run.lock").exists());
}
