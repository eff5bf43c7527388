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

pub mod snapshot;

/// Clones the real database bundle into `dest` (branch `main`) and returns the path.
pub fn clone_bundle(shared: &Path, dest: &Path) -> PathBuf {
    clone_bundle_named(shared, "nes-database.bundle", dest)
}

/// Clones `nes-format/<name>` (e.g. `nes-database-2026.bundle`) into `dest`, branch `main`.
#[allow(dead_code)]
pub fn clone_bundle_named(shared: &Path, name: &str, dest: &Path) -> PathBuf {
    let bundle = shared.join("nes-format").join(name);
    let status = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "clone",
            "--quiet",
            "--branch",
            "main",
        ])
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

/// A temporary directory in memory (`/dev/shm`) when the OS offers one, else the default.
///
/// Checkouts of the real bundle have 33,776 files; removing them from this project's
/// disks takes ~2 minutes, against under a second on tmpfs.
pub fn fast_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new().prefix("nes-test").tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("create temporary directory")
}

/// Runs git in `dir` with a test identity (and local file transports allowed, for
/// submodules); panics with git's stderr on failure, returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Nes Test",
            "-c",
            "user.email=nes-test@example.org",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("git output is UTF-8")
}

/// A migration registered in code, with test metadata.
pub fn migration(
    name: &'static str,
    migrate: nes::migration::registry::MigrationFn,
) -> nes::migration::registry::Migration {
    nes::migration::registry::Migration {
        name,
        prefix: name[..3].parse().expect("a 3-digit prefix"),
        author: "Test Author",
        date: "2026-11-21",
        description: "A test migration.",
        migrate,
        check: None,
        verify: None,
        deletes: false,
        example: false,
    }
}

/// A fresh data repository (with a test identity) and a migrations directory holding an
/// empty folder, with a README, for each name.
pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub repo: nes::git::repo::DataRepo,
    pub migrations: PathBuf,
}

/// See [`Fixture`].
pub fn fixture(names: &[&str]) -> Fixture {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let repo = nes::git::repo::DataRepo::init(&dir.path().join("db"), None).expect("nes db init");
    set_identity(repo.root());
    let migrations = dir.path().join("migrations");
    for name in names {
        std::fs::create_dir_all(migrations.join(name)).unwrap();
        std::fs::write(migrations.join(name).join("README.md"), "test").unwrap();
    }
    Fixture {
        _dir: dir,
        repo,
        migrations,
    }
}

/// The built `nes`, run in `dir` on the data repository `db` with this repository's
/// migrations and a test identity; a fault injection of the test's environment is not
/// inherited.
pub fn nes_command(dir: &Path, db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nes"));
    cmd.current_dir(dir)
        .env(
            "NES_MIGRATIONS_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"),
        )
        .env("NES_GIT_AUTHOR", "Nes Test <t@example.org>")
        .env("NES_DB_REPO", db)
        .env_remove("NES_FAULT");
    cmd
}

/// A command's exit code, stdout and stderr, for assertion messages.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
