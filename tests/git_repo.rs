//! Opening, creating and inspecting data repositories.

mod git_support;

use git_support::*;
use nes::error::{exit_code, hint, ExitCode};
use nes::git::repo::DataRepo;

fn open_err(dir: &std::path::Path) -> anyhow::Error {
    match DataRepo::open(dir) {
        Ok(_) => panic!("{} should not open", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn init_makes_main_with_first_commit_and_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let repo = DataRepo::init(&dir, Some("https://example.org/nes-db.git")).unwrap();
    assert_eq!(repo.branch().unwrap(), "main");
    assert!(repo.head_lookup().unwrap().entry("README.md").unwrap().is_some());
    assert_eq!(git(&dir, &["config", "core.preloadIndex"]).trim(), "true");
    assert_eq!(git(&dir, &["config", "core.untrackedCache"]).trim(), "true");
    assert_eq!(git(&dir, &["config", "gc.auto"]).trim(), "0");
    assert_eq!(git(&dir, &["config", "pack.threads"]).trim(), "0");
    assert_eq!(
        git(&dir, &["remote", "get-url", "origin"]).trim(),
        "https://example.org/nes-db.git"
    );
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    // A second init refuses.
    let err = DataRepo::init(&dir, None).err().unwrap();
    assert_eq!(exit_code(&err), ExitCode::Usage);
}

#[test]
fn missing_repo_points_to_init() {
    let tmp = tempfile::tempdir().unwrap();
    let err = open_err(tmp.path());
    assert_eq!(exit_code(&err), ExitCode::Usage);
    assert!(hint(&err).unwrap().contains("nes db init"));
}

#[test]
fn shallow_clone_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    let repo = new_repo(&origin);
    write(&origin, "a.txt", "a\n");
    git(&origin, &["add", "a.txt"]);
    git(&origin, &["commit", "-qm", "second"]);
    drop(repo);
    let shallow = tmp.path().join("shallow");
    let url = format!("file://{}", origin.display());
    let out = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url])
        .arg(&shallow)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = open_err(&shallow);
    assert_eq!(exit_code(&err), ExitCode::Usage);
    assert!(err.to_string().contains("shallow"), "{err}");
    assert!(
        hint(&err).unwrap().contains("git fetch --unshallow")
            || hint(&err).unwrap().contains("fetch --unshallow")
    );
}

#[test]
fn detached_head_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    new_repo(dir);
    git(dir, &["checkout", "-q", "--detach"]);
    let err = open_err(dir);
    assert_eq!(exit_code(&err), ExitCode::Usage);
    assert!(err.to_string().contains("detached"), "{err}");
    assert!(hint(&err).unwrap().contains("git switch main") || hint(&err).unwrap().contains("switch main"));
}

#[test]
fn ensure_clean_names_dirty_paths_and_fixes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    repo.ensure_clean().unwrap();
    write(dir, ".gitignore", "*.tmp\n");
    git(dir, &["add", ".gitignore"]);
    git(dir, &["commit", "-qm", "ignore"]);
    write(dir, "ignored.tmp", "x");
    repo.ensure_clean().unwrap();

    write(dir, "README.md", "changed\n");
    for i in 0..7 {
        write(dir, &format!("new-{i}.json"), "{}");
    }
    let dirty = repo.dirty_paths(100).unwrap();
    assert_eq!(dirty.len(), 8, "{dirty:?}");
    let err = repo.ensure_clean().unwrap_err();
    assert_eq!(exit_code(&err), ExitCode::Usage);
    let message = err.to_string();
    assert!(message.contains("uncommitted changes"), "{message}");
    assert!(message.contains("README.md"), "{message}");
    assert!(message.contains("..."), "{message}");
    assert_eq!(
        message.lines().filter(|l| l.starts_with("  ")).count(),
        6,
        "{message}"
    );
    let hint = hint(&err).unwrap();
    for needle in ["stash", "checkout -- .", "clean -fd", "nes migrate repair"] {
        assert!(hint.contains(needle), "{hint}");
    }
}

#[test]
fn staged_change_is_dirty() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    write(dir, "staged.json", "{}");
    git(dir, &["add", "staged.json"]);
    assert_eq!(repo.dirty_paths(5).unwrap(), ["staged.json"]);
}

#[test]
fn signature_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    let (sig, warning) = repo.signature(Some("Jane Roe <jane@example.org>")).unwrap();
    assert_eq!(
        (sig.name(), sig.email(), warning),
        (Some("Jane Roe"), Some("jane@example.org"), None)
    );
    let (sig, warning) = repo.signature(None).unwrap();
    assert_eq!((sig.name(), warning), (Some("Nes Test"), None));
    let err = repo.signature(Some("no email")).err().unwrap();
    assert_eq!(exit_code(&err), ExitCode::Usage);
}

#[test]
fn signature_falls_back_with_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    DataRepo::init(dir, None).unwrap();
    // The probe runs with an empty HOME and no system config, so no identity exists at all.
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fallback_probe", "--nocapture", "--ignored"])
        .env("NES_PROBE_REPO", dir)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PROBE nes <nes@localhost> warned"), "{stdout}");
}

/// Run in a child process by `signature_falls_back_with_warning` with an empty HOME.
#[test]
#[ignore = "helper run by signature_falls_back_with_warning"]
fn fallback_probe() {
    let Some(dir) = std::env::var_os("NES_PROBE_REPO") else {
        return;
    };
    let repo = DataRepo::open(std::path::Path::new(&dir)).unwrap();
    let (sig, warning) = repo.signature(None).unwrap();
    let warned = warning.is_some_and(|w| w.contains("--git-author"));
    println!(
        "PROBE {} <{}> {}",
        sig.name().unwrap(),
        sig.email().unwrap(),
        if warned { "warned" } else { "silent" }
    );
}
