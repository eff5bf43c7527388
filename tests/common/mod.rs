//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared reference data (`nes-format/`), from `$NES_SHARED_DIR` or `../shared`.
///
/// Absent on a contributor's fresh clone: the caller skips with a visible message.
/// Under `CI=true` its absence is a failure, since CI always has it.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("NES_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.join("nes-format/FORMAT.md").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "shared data not found at {} (required under CI=true)",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: shared data not found at {}; set NES_SHARED_DIR to run this test",
        dir.display()
    );
    None
}

/// Clones the real database bundle into `dest` (branch `main`) and returns the path.
pub fn clone_bundle(shared: &Path, dest: &Path) -> PathBuf {
    let bundle = shared.join("nes-format/nes-database.bundle");
    let status = Command::new("git")
        .args(["clone", "--quiet", "--branch", "main"])
        .arg(&bundle)
        .arg(dest)
        .status()
        .expect("run git clone");
    assert!(status.success(), "git clone of {} failed", bundle.display());
    set_identity(dest);
    dest.to_path_buf()
}

/// Gives a test repository its own git identity: CI machines have none configured.
pub fn set_identity(repo: &Path) {
    for (key, value) in [("user.name", "Nes Test"), ("user.email", "nes-test@example.org")] {
        let status = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["config", key, value])
            .status()
            .unwrap();
        assert!(status.success());
    }
}
