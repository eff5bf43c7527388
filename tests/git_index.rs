//! The streamed index rewrite (`IndexSync::Stream`) against the real `git` binary: every
//! index version git writes, paths that sort around each other, extended flags, long paths,
//! and the indexes it must refuse untouched.

mod git_support;

use std::path::Path;

use git_support::*;
use nes::git::commit::FileChange;
use nes::git::index::{sync_index_using, BlobIds, IndexSync};

/// Paths whose git order (`-` < `.` < `/`) differs from a directory walk's.
const BEFORE: [&str; 8] = [
    "a-b",
    "a.b",
    "a/b/c",
    "a/b-c",
    "a/b.c",
    "a/bc",
    "d",
    "v2/entity/person/p-1.json",
];

/// A repository holding [`BEFORE`], then a second commit (not yet in the index) that adds,
/// rewrites and deletes around them, including a file replaced by a directory (`d` → `d/e`).
fn repo_with_pending_sync(dir: &Path) -> (nes::git::repo::DataRepo, Vec<FileChange>, BlobIds) {
    let repo = new_repo(dir);
    write_and_commit(dir, &repo, &BEFORE);

    std::fs::remove_file(dir.join("d")).unwrap();
    std::fs::remove_file(dir.join("a-b")).unwrap();
    for path in [
        "a/b/b",
        "a/b/d",
        "a/b.c",
        "a+",
        "d/e",
        "v2/entity/person/p-0.json",
        "zz",
    ] {
        write(dir, path, &format!("new {path}"));
    }
    let mut changes: Vec<FileChange> = [
        "a/b/b",
        "a/b/d",
        "a/b.c",
        "a+",
        "d/e",
        "v2/entity/person/p-0.json",
        "zz",
    ]
    .iter()
    .map(|p| FileChange::Write(p.to_string()))
    .collect();
    changes.push(FileChange::Delete("d".into()));
    changes.push(FileChange::Delete("a-b".into()));
    let known = commit_without_index(&repo, &changes, "002-b");
    (repo, changes, known)
}

/// `git ls-tree -r HEAD` in the form of `git ls-files --stage`.
fn head_as_stage(dir: &Path) -> Vec<String> {
    git(dir, &["ls-tree", "-r", "--full-tree", "HEAD"])
        .lines()
        .map(|l| {
            let (meta, path) = l.split_once('\t').unwrap();
            let parts: Vec<&str> = meta.split(' ').collect();
            format!("{} {} 0\t{path}", parts[0], parts[2])
        })
        .collect()
}

fn index_version(dir: &Path) -> u32 {
    let bytes = std::fs::read(dir.join(".git/index")).unwrap();
    assert_eq!(&bytes[..4], b"DIRC");
    u32::from_be_bytes(bytes[4..8].try_into().unwrap())
}

/// The index git itself accepts: checksum (`fsck`), stat data (`diff-files` without a
/// refresh), entries (`ls-files --stage` equal to HEAD), no leftover lock.
fn assert_index_sound(dir: &Path) {
    assert_clean_and_sound(dir);
    assert_eq!(
        git(dir, &["diff-files", "--name-status"]),
        "",
        "stat data differs"
    );
    assert_eq!(git(dir, &["diff-index", "--cached", "--name-status", "HEAD"]), "");
    let staged = git(dir, &["ls-files", "--stage"]);
    assert_eq!(staged.lines().collect::<Vec<_>>(), head_as_stage(dir));
    assert!(!dir.join(".git/index.lock").exists());
    git(dir, &["ls-files", "--debug"]);
}

#[test]
fn every_index_version_is_rewritten_as_git_reads_it() {
    for version in [None, Some("2"), Some("3"), Some("4")] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (repo, changes, known) = repo_with_pending_sync(dir);
        if let Some(v) = version {
            git(dir, &["update-index", "--index-version", v]);
        }
        // A cache tree, which no longer describes the index once it changes.
        git(dir, &["read-tree", "HEAD^"]);
        // Refreshes the stat data read-tree dropped; "needs update" for the pending paths.
        let _ = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["update-index", "-q", "--refresh"])
            .output()
            .unwrap();
        let before = index_version(dir);
        let half: BlobIds = known.iter().take(3).map(|(k, v)| (k.clone(), *v)).collect();
        sync_index_using(&repo, &changes, &half, IndexSync::Stream).unwrap();
        assert_eq!(index_version(dir), before, "{version:?}");
        assert_index_sound(dir);
        // git can go on from it: write a tree, commit, rewrite the index its own way.
        assert_eq!(
            git(dir, &["write-tree"]).trim(),
            git(dir, &["rev-parse", "HEAD^{tree}"]).trim(),
            "{version:?}"
        );
        git(dir, &["update-index", "--index-version", "2"]);
        assert_index_sound(dir);
    }
}

/// The index git writes by default is version 2; one with extended flags is version 3, and
/// the flags of untouched entries survive.
#[test]
fn extended_flags_survive() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (repo, changes, known) = repo_with_pending_sync(dir);
    assert_eq!(index_version(dir), 2);
    git(dir, &["update-index", "--skip-worktree", "a.b"]);
    write(dir, "intent.json", "{}");
    git(dir, &["add", "-N", "intent.json"]);
    assert_eq!(index_version(dir), 3);
    sync_index_using(&repo, &changes, &known, IndexSync::Stream).unwrap();
    assert_eq!(index_version(dir), 3);
    let tags = git(dir, &["ls-files", "-t", "a.b", "a/b/b"]);
    assert_eq!(tags, "S a.b\nH a/b/b\n");
    assert!(git(dir, &["ls-files", "--stage", "intent.json"]).starts_with("100644 e69de29"));
    git(dir, &["rm", "-q", "--cached", "intent.json"]);
    git(dir, &["update-index", "--no-skip-worktree", "a.b"]);
    std::fs::remove_file(dir.join("intent.json")).unwrap();
    assert_index_sound(dir);
}

/// Paths of 4095 bytes or more store 0xFFF as their length; such an entry is carried over
/// byte for byte in versions 2 and 4.
#[test]
fn long_paths_are_carried_over() {
    for version in ["2", "4"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (repo, changes, known) = repo_with_pending_sync(dir);
        git(dir, &["update-index", "--index-version", version]);
        let long = format!("{}/x.json", vec!["d".repeat(200); 22].join("/"));
        assert!(long.len() > 0xFFF);
        let blob = git(dir, &["rev-parse", "HEAD:a.b"]);
        git(
            dir,
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("100644,{},{long}", blob.trim()),
            ],
        );
        sync_index_using(&repo, &changes, &known, IndexSync::Stream).unwrap();
        let staged = git(dir, &["ls-files", "--stage"]);
        let mut expected = head_as_stage(dir);
        expected.push(format!("100644 {} 0\t{long}", blob.trim()));
        expected.sort_by(|a, b| a.split('\t').nth(1).cmp(&b.split('\t').nth(1)));
        assert_eq!(staged.lines().collect::<Vec<_>>(), expected, "v{version}");
        git(dir, &["update-index", "--force-remove", &long]);
        assert_index_sound(dir);
    }
}

/// A split index keeps entries in another file: refused before anything is written, so the
/// index stays byte for byte what it was.
#[test]
fn split_index_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (repo, changes, known) = repo_with_pending_sync(dir);
    git(dir, &["update-index", "--split-index"]);
    let before = std::fs::read(dir.join(".git/index")).unwrap();
    let err = sync_index_using(&repo, &changes, &known, IndexSync::Stream).unwrap_err();
    assert!(format!("{err:#}").contains("split index"), "{err:#}");
    assert_eq!(std::fs::read(dir.join(".git/index")).unwrap(), before);
    assert!(!dir.join(".git/index.lock").exists());
}

/// A missing index (deleted by hand) is written from the updates alone.
#[test]
fn missing_index_is_created() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let repo = new_repo(dir);
    std::fs::remove_file(dir.join(".git/index")).unwrap();
    let changes = vec![FileChange::Write("README.md".into())];
    sync_index_using(&repo, &changes, &BlobIds::new(), IndexSync::Stream).unwrap();
    assert_index_sound(dir);
}

/// A run's sync goes through the stream and leaves git a clean, sound repository.
#[test]
fn auto_sync_leaves_git_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (repo, changes, known) = repo_with_pending_sync(dir);
    sync_index_using(&repo, &changes, &known, IndexSync::Auto).unwrap();
    assert_index_sound(dir);
}

/// The clean-tree check names a modified, a deleted, a staged and an untracked file and an
/// untracked directory (once), and nothing ignored.
#[test]
fn clean_check_reports_each_kind_of_change() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (repo, changes, known) = repo_with_pending_sync(dir);
    sync_index_using(&repo, &changes, &known, IndexSync::Auto).unwrap();
    write(dir, ".gitignore", "*.tmp\nbuild/\n");
    git(dir, &["add", ".gitignore"]);
    git(dir, &["commit", "-qm", "ignore"]);
    write(dir, "x.tmp", "ignored");
    write(dir, "build/out", "ignored");
    write(dir, "a/b/x.tmp", "ignored");
    assert_eq!(repo.dirty_paths(10).unwrap(), Vec::<String>::new());
    repo.ensure_clean().unwrap();

    write(dir, "a/b/c", "modified");
    std::fs::remove_file(dir.join("a.b")).unwrap();
    write(dir, "staged.json", "{}");
    git(dir, &["add", "staged.json"]);
    write(dir, "a/new.json", "{}");
    write(dir, "fresh/one.json", "{}");
    write(dir, "fresh/two.json", "{}");
    write(dir, "with space.json", "{}");
    let mut dirty = repo.dirty_paths(100).unwrap();
    dirty.sort();
    assert_eq!(
        dirty,
        [
            "a.b",
            "a/b/c",
            "a/new.json",
            "fresh/",
            "staged.json",
            "with space.json"
        ]
    );
    assert_eq!(repo.dirty_paths(2).unwrap().len(), 2);
    let message = repo.ensure_clean().unwrap_err().to_string();
    assert!(message.contains("a/b/c") && message.contains("..."), "{message}");
}
