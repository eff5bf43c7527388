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

#[test]
fn stale_lock_is_reported_then_broken() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    // A child process takes the lock and exits without releasing it, as a crash would.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crashing_holder", "--ignored", "--nocapture"])
        .env("NES_LOCK_PROBE_REPO", dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let holder: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lock_path(&repo).unwrap()).unwrap()).unwrap();
    let child_pid = holder["pid"].as_u64().unwrap();
    assert_ne!(child_pid, u64::from(std::process::id()));

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

/// Run in a child process by `stale_lock_is_reported_then_broken`.
#[test]
#[ignore = "helper run by stale_lock_is_reported_then_broken"]
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
