//! Pushing to a local bare remote.

mod git_support;

use std::path::Path;
use std::time::Duration;

use git_support::*;
use nes::git::commit::{commit_batches, plan_batches};
use nes::git::ledger::read_ledger;
use nes::git::push::{push, PushOutcome};
use nes::git::repo::DataRepo;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A bare remote and a data repository whose `origin` it is, with `main` pushed.
fn setup(tmp: &Path) -> (std::path::PathBuf, DataRepo) {
    let remote = tmp.join("remote.git");
    std::fs::create_dir_all(&remote).unwrap();
    git(&remote, &["init", "-q", "--bare", "--initial-branch=main"]);
    let dir = tmp.join("db");
    DataRepo::init(&dir, Some(remote.to_str().unwrap())).unwrap();
    common::set_identity(&dir);
    let repo = DataRepo::open(&dir).unwrap();
    (remote, repo)
}

fn run(repo: &DataRepo, migration: &str, files: usize) {
    let units = write_units(repo.root(), files, migration);
    commit_batches(
        repo,
        &plan_batches(&units, 1000),
        &meta(migration, migration),
        &sig(repo),
        &mut |_, _| {},
    )
    .unwrap();
}

#[test]
fn pushes_to_origin_and_ledger_tracks_unpushed() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, repo) = setup(tmp.path());
    run(&repo, "001-a", 3);
    assert!(
        !read_ledger(&repo).unwrap().get("001-a").unwrap().unpushed,
        "no remote-tracking ref yet"
    );

    let outcome = push(&repo, None, TIMEOUT).unwrap();
    assert_eq!(
        outcome,
        PushOutcome::Pushed {
            remote: "origin".into(),
            branch: "main".into()
        }
    );
    assert_eq!(
        git(&remote, &["rev-parse", "main"]).trim(),
        repo.head().unwrap().to_string()
    );

    run(&repo, "002-b", 3);
    let ledger = read_ledger(&repo).unwrap();
    assert!(!ledger.get("001-a").unwrap().unpushed);
    assert!(ledger.get("002-b").unwrap().unpushed);
}

#[test]
fn no_remote_is_not_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = new_repo(tmp.path());
    assert_eq!(push(&repo, None, TIMEOUT).unwrap(), PushOutcome::NoRemote);
    assert!(push(&repo, Some("upstream"), TIMEOUT).is_err());
}

#[test]
fn rejected_when_remote_moved_keeps_local_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let (remote, repo) = setup(tmp.path());
    assert!(matches!(
        push(&repo, None, TIMEOUT).unwrap(),
        PushOutcome::Pushed { .. }
    ));

    // Someone else pushes first.
    let other = tmp.path().join("other");
    let out = std::process::Command::new("git")
        .args(["clone", "-q"])
        .arg(&remote)
        .arg(&other)
        .output()
        .unwrap();
    assert!(out.status.success());
    common::set_identity(&other);
    write(&other, "theirs.txt", "theirs\n");
    git(&other, &["add", "theirs.txt"]);
    git(&other, &["commit", "-qm", "theirs"]);
    git(&other, &["push", "-q", "origin", "main"]);
    let theirs = git(&other, &["rev-parse", "HEAD"]).trim().to_string();

    run(&repo, "001-a", 3);
    let local = repo.head().unwrap();
    match push(&repo, None, TIMEOUT).unwrap() {
        PushOutcome::Rejected {
            remote,
            branch,
            detail,
        } => {
            assert_eq!((remote.as_str(), branch.as_str()), ("origin", "main"));
            assert!(detail.contains("rejected"), "{detail}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(repo.head().unwrap(), local, "local commits untouched");
    assert_eq!(
        git(&remote, &["rev-parse", "main"]).trim(),
        theirs,
        "remote untouched"
    );
    // The rejection fetched the remote, so the tracking ref knows their commit.
    assert_eq!(git(repo.root(), &["rev-parse", "origin/main"]).trim(), theirs);
    assert_clean_and_sound(repo.root());
}

#[test]
fn push_failure_carries_git_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let missing = tmp.path().join("does-not-exist.git");
    let repo = DataRepo::init(&dir, Some(missing.to_str().unwrap())).unwrap();
    let err = push(&repo, None, TIMEOUT).unwrap_err();
    assert!(err.to_string().contains("does-not-exist.git"), "{err}");
}

#[test]
fn sync_fetches_the_branch_names_local_commits_and_moves_without_losing_changes() {
    use nes::git::sync::{self, Upstream};
    let tmp = tempfile::tempdir().unwrap();
    let (remote, repo) = setup(tmp.path());
    let up = Upstream::resolve(&repo, None).unwrap().unwrap();
    assert_eq!(up.display(), "origin/main");
    assert_eq!(
        sync::fetch(&repo, &up, TIMEOUT).unwrap(),
        None,
        "the remote has no branch yet"
    );
    assert!(matches!(
        push(&repo, None, TIMEOUT).unwrap(),
        PushOutcome::Pushed { .. }
    ));
    let base = repo.head().unwrap();

    // A hand commit and a batch here; someone else's commit there.
    write(repo.root(), "hand.txt", "hand\n");
    git(repo.root(), &["add", "hand.txt"]);
    git(repo.root(), &["commit", "-qm", "hand"]);
    run(&repo, "001-a", 2);
    let other = tmp.path().join("other");
    git(tmp.path(), &["clone", "-q", remote.to_str().unwrap(), "other"]);
    common::set_identity(&other);
    write(&other, "theirs.txt", "theirs\n");
    git(&other, &["add", "theirs.txt"]);
    git(&other, &["commit", "-qm", "theirs"]);
    git(&other, &["push", "-q", "origin", "main"]);

    let theirs = sync::fetch(&repo, &up, TIMEOUT).unwrap().unwrap();
    assert_eq!(theirs.to_string(), git(&other, &["rev-parse", "HEAD"]).trim());
    let ours = sync::local_only(&repo, theirs).unwrap();
    assert_eq!(ours.len(), 2);
    assert!(!ours[0].is_nes() && ours[0].described.contains("\"hand\""));
    assert!(ours[1].is_replayable_batch());
    assert!(sync::contains(&repo, repo.head().unwrap(), base).unwrap());
    assert!(!sync::contains(&repo, repo.head().unwrap(), theirs).unwrap());

    // A local change to a path the move would touch is kept: the move refuses.
    write(repo.root(), "hand.txt", "edited\n");
    assert!(sync::move_to(&repo, theirs, TIMEOUT).is_err());
    assert_eq!(
        std::fs::read_to_string(repo.root().join("hand.txt")).unwrap(),
        "edited\n"
    );
    git(repo.root(), &["checkout", "--", "hand.txt"]);
    sync::move_to(&repo, theirs, TIMEOUT).unwrap();
    assert_eq!(repo.head().unwrap(), theirs);
    assert!(repo.root().join("theirs.txt").is_file());
    assert!(!repo.root().join("hand.txt").exists());
    assert_clean_and_sound(repo.root());
}
