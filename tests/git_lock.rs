//! The run lock between live and dead processes.

mod git_support;

use git_support::*;
use nes::error::{exit_code, hint, ExitCode};
use nes::git::lock::{acquire, lock_path};
use nes::git::repo::DataRepo;

#[test]
fn second_acquire_is_busy_and_names_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    let lock = acquire(&repo, false).unwrap();
    let recorded: serde_json::Value = serde_json::from_slice(&std::fs::read(lock.path()).unwrap()).unwrap();
    assert_eq!(recorded["pid"], std::process::id());

    let err = acquire(&repo, false).err().unwrap();
    assert_eq!(exit_code(&err), ExitCode::Busy);
    let message = err.to_string();
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    assert!(
        message.contains(&gethostname::gethostname().to_string_lossy().into_owned()),
        "{message}"
    );
    assert!(
        message.contains(recorded["started_at"].as_str().unwrap()),
        "{message}"
    );
    // Even --break-lock never steals a live lock.
    assert_eq!(exit_code(&acquire(&repo, true).err().unwrap()), ExitCode::Busy);

    drop(lock);
    assert!(!lock_path(&repo).unwrap().exists());
    drop(acquire(&repo, false).unwrap());
}

/// Leaves the lock of a process that took it and died, as a crash would; returns its pid.
fn crashed_holder(repo: &DataRepo, dir: &std::path::Path) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crashing_holder", "--ignored", "--nocapture"])
        .env("NES_LOCK_PROBE_REPO", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let holder: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lock_path(repo).unwrap()).unwrap()).unwrap();
    let child_pid = holder["pid"].as_u64().unwrap();
    assert_ne!(child_pid, u64::from(std::process::id()));
    child_pid
}

#[test]
fn the_stale_lock_of_a_dead_process_of_this_host_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    crashed_holder(&repo, tmp.path());
    let lock = acquire(&repo, false).unwrap();
    let now: serde_json::Value = serde_json::from_slice(&std::fs::read(lock.path()).unwrap()).unwrap();
    assert_eq!(now["pid"], std::process::id());
}

#[test]
fn a_stale_lock_from_another_host_is_reported_then_broken() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    let child_pid = crashed_holder(&repo, dir);
    // Its pid means nothing here: only --break-lock may remove it.
    let path = lock_path(&repo).unwrap();
    let mut holder: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    holder["host"] = "build-7.elsewhere.invalid".into();
    std::fs::write(&path, serde_json::to_vec(&holder).unwrap()).unwrap();

    let err = acquire(&repo, false).err().unwrap();
    assert_eq!(exit_code(&err), ExitCode::Usage);
    assert!(err.to_string().contains("stale"), "{err}");
    assert!(err.to_string().contains(&format!("pid {child_pid}")), "{err}");
    assert!(hint(&err).unwrap().contains("--break-lock"));
    // Reporting does not remove it.
    assert!(lock_path(&repo).unwrap().exists());

    let lock = acquire(&repo, true).unwrap();
    let now: serde_json::Value = serde_json::from_slice(&std::fs::read(lock.path()).unwrap()).unwrap();
    assert_eq!(now["pid"], std::process::id());
}

/// Run in a child process by [`crashed_holder`].
#[test]
#[ignore = "helper run by crashed_holder"]
fn crashing_holder() {
    let Some(dir) = std::env::var_os("NES_LOCK_PROBE_REPO") else {
        return;
    };
    let repo = DataRepo::open(std::path::Path::new(&dir)).unwrap();
    let lock = acquire(&repo, false).unwrap();
    std::mem::forget(lock);
    // Exit without running destructors: the file stays, the OS lock goes with the process.
    std::process::exit(0);
}
