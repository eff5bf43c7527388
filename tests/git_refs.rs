//! nes's own ref writes (`git/ref_update`): what git and libgit2 read back, the reflog lines
//! they parse, a refusal that leaves nothing, and a lock left by a crash that only nes's
//! own record makes removable.

mod git_support;

use git_support::*;
use nes::git::own_lock::{self, LockDirs, OwnLock};
use nes::git::ref_update::{self, Expect};

#[test]
fn a_branch_moved_by_nes_reads_back_in_git_and_libgit2_with_its_reflog() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    write_and_commit(dir, &repo, &["a.json"]);
    let old = repo.head().unwrap();
    write_and_commit(dir, &repo, &["b.json"]);
    let new = repo.head().unwrap();
    // Back to `old` through git, then forward through nes.
    git(dir, &["update-ref", "refs/heads/main", &old.to_string()]);
    let entries_before = repo.git().reflog("refs/heads/main").unwrap().len();
    ref_update::update(repo.git(), "refs/heads/main", Expect::At(old), new, "commit: b").unwrap();
    assert_eq!(git(dir, &["rev-parse", "main"]).trim(), new.to_string());
    assert_eq!(repo.head().unwrap(), new);
    let reflog = repo.git().reflog("refs/heads/main").unwrap();
    assert_eq!(reflog.len(), entries_before + 1);
    let latest = reflog.get(0).unwrap();
    assert_eq!((latest.id_old(), latest.id_new()), (old, new));
    assert_eq!(latest.message(), Some("commit: b"));
    let head_log = git(dir, &["reflog", "-1", "--format=%H %gs", "HEAD"]);
    assert_eq!(head_log.trim(), format!("{new} commit: b"));
    let fsck = std::process::Command::new("git")
        .args(["fsck", "--strict", "--no-progress"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stderr));
    assert!(!dir.join(".git/refs/heads/main.lock").exists());
    assert_no_lock_records(dir);
}

#[test]
fn a_branch_elsewhere_than_expected_is_not_moved_and_nothing_is_left() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    write_and_commit(dir, &repo, &["a.json"]);
    let old = repo.head().unwrap();
    write_and_commit(dir, &repo, &["b.json"]);
    let head = repo.head().unwrap();
    let err = ref_update::update(repo.git(), "refs/heads/main", Expect::At(old), old, "x").unwrap_err();
    assert!(err.to_string().contains("not at"), "{err:#}");
    let err = ref_update::update(repo.git(), "refs/heads/main", Expect::Absent, old, "x").unwrap_err();
    assert!(err.to_string().contains("not at nothing"), "{err:#}");
    assert_eq!(repo.head().unwrap(), head);
    assert!(!dir.join(".git/refs/heads/main.lock").exists());
    assert_no_lock_records(dir);
}

#[test]
fn a_ref_is_created_and_deleted_with_nothing_left() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    write_and_commit(dir, &repo, &["a.json"]);
    let head = repo.head().unwrap();
    ref_update::update(repo.git(), "refs/nes/pre-run", Expect::Any, head, "pre-run").unwrap();
    assert_eq!(
        git(dir, &["rev-parse", "refs/nes/pre-run"]).trim(),
        head.to_string()
    );
    ref_update::delete(repo.git(), "refs/nes/pre-run").unwrap();
    assert!(repo.git().find_reference("refs/nes/pre-run").is_err());
    assert!(!dir.join(".git/refs/nes").exists());
    // Packed by git after a crash: still deleted.
    ref_update::update(repo.git(), "refs/nes/pre-run", Expect::Any, head, "pre-run").unwrap();
    git(dir, &["pack-refs", "--all"]);
    ref_update::delete(repo.git(), "refs/nes/pre-run").unwrap();
    assert!(repo.git().find_reference("refs/nes/pre-run").is_err());
}

/// A crash while nes holds the branch lock leaves a lock git refuses to work past; only nes's
/// record proves it nes's. A lock of the same name that is not that file stays.
#[test]
fn only_a_lock_that_is_nes_s_record_is_cleared() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    write_and_commit(dir, &repo, &["a.json"]);
    let dirs = LockDirs::of(repo.git());
    let lock = dir.join(".git/refs/heads/main.lock");
    std::mem::forget(OwnLock::acquire(&dirs, lock.clone(), b"x\n").unwrap());
    let blocked = std::process::Command::new("git")
        .args(["update-ref", "refs/heads/main", "HEAD"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(!blocked.status.success(), "git refuses to work past the lock");
    assert!(own_lock::is_own(&dirs, &lock));
    // Another process replaced it: the same name, not the same file.
    std::fs::remove_file(&lock).unwrap();
    std::fs::write(&lock, b"x\n").unwrap();
    assert!(!own_lock::is_own(&dirs, &lock));
    assert!(own_lock::clear_stale(&dirs).unwrap().is_empty());
    assert!(lock.exists(), "not nes's to remove");
    std::fs::remove_file(&lock).unwrap();
    // nes's own, crashed: cleared.
    std::mem::forget(OwnLock::acquire(&dirs, lock.clone(), b"x\n").unwrap());
    assert_eq!(own_lock::clear_stale(&dirs).unwrap(), vec![lock.clone()]);
    assert!(!lock.exists() && !dir.join(".git/nes/locks").exists());
}

/// No lock record is left (their directory stays until the run lock is released).
fn assert_no_lock_records(dir: &std::path::Path) {
    let records = dir.join(".git/nes/locks");
    if records.exists() {
        assert_eq!(std::fs::read_dir(&records).unwrap().count(), 0, "records left");
    }
}
