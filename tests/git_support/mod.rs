//! Helpers for the git-layer integration tests: real repositories in tempdirs.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nes::git::commit::FileChange;
use nes::git::message::CommitMeta;
use nes::git::repo::DataRepo;
use nes::stats::Stats;

#[path = "../common/mod.rs"]
pub mod common;

/// A fresh data repository (`nes db init`) with its own identity, reopened so it is used.
pub fn new_repo(dir: &Path) -> DataRepo {
    DataRepo::init(dir, None).expect("init");
    common::set_identity(dir);
    DataRepo::open(dir).expect("open")
}

/// Runs git in `dir`, asserting success; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes `content` at repository-relative `path`, creating directories.
pub fn write(dir: &Path, path: &str, content: &str) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, content).unwrap();
}

/// Writes `n` entity/version pairs under `v2/` and returns them as units of two files.
pub fn write_units(dir: &Path, n: usize, tag: &str) -> Vec<Vec<FileChange>> {
    (0..n)
        .map(|i| {
            let entity = format!("v2/entity/person/p-{i:05}.json");
            let version = format!("v2/version/entity/person/p-{i:05}/1.json");
            write(
                dir,
                &entity,
                &format!("{{\"id\": \"entity:person/p-{i:05}\", \"tag\": \"{tag}\"}}\n"),
            );
            write(
                dir,
                &version,
                &format!("{{\"id\": \"version:entity:person/p-{i:05}:1\", \"tag\": \"{tag}\"}}\n"),
            );
            vec![FileChange::Write(entity), FileChange::Write(version)]
        })
        .collect()
}

/// Commit metadata for `migration` and `run_id`.
pub fn meta(migration: &str, run_id: &str) -> CommitMeta {
    CommitMeta {
        migration: migration.to_string(),
        description: format!("Test migration {migration}."),
        author: "Test Author".to_string(),
        date: "2025-11-12".to_string(),
        stats: Stats {
            entities_created: 1250,
            versions_created: 1250,
            ..Stats::default()
        },
        duration: Duration::from_millis(1234),
        run_id: run_id.to_string(),
        checksum: "v1:sha256:00ff".to_string(),
    }
}

/// The signature a repository commits with.
pub fn sig(repo: &DataRepo) -> git2::Signature<'static> {
    repo.signature(None).unwrap().0
}

/// Asserts `git status --porcelain` is empty and `git fsck` is clean.
pub fn assert_clean_and_sound(dir: &Path) {
    assert_eq!(git(dir, &["status", "--porcelain"]), "", "working tree not clean");
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fsck", "--strict", "--no-dangling"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git fsck failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "git fsck reported problems"
    );
}

/// Plans `units` in batches of `batch_size` and commits them for `migration`/`run_id`.
pub fn commit_all(
    repo: &DataRepo,
    units: &[Vec<FileChange>],
    batch_size: usize,
    migration: &str,
    run_id: &str,
) -> Vec<git2::Oid> {
    let batches = nes::git::commit::plan_batches(units, batch_size);
    nes::git::commit::commit_batches(
        repo,
        &batches,
        &meta(migration, run_id),
        &sig(repo),
        &mut |_, _| {},
    )
    .unwrap()
}

/// Commits `changes` as one batch without touching the index (what a run does before its
/// index sync); returns the blob ids it computed, for the sync.
pub fn commit_without_index(
    repo: &DataRepo,
    changes: &[FileChange],
    migration: &str,
) -> nes::git::index::BlobIds {
    let mut known = nes::git::index::BlobIds::new();
    nes::git::commit::commit_batch_range(
        repo,
        &[changes.to_vec()],
        1,
        1,
        &meta(migration, "r2"),
        &sig(repo),
        &mut known,
        &mut |_, _| {},
    )
    .unwrap();
    known
}

/// Writes each of `paths` (its own path as content) and commits them as one batch.
pub fn write_and_commit(dir: &Path, repo: &DataRepo, paths: &[&str]) {
    for path in paths {
        write(dir, path, path);
    }
    let changes: Vec<FileChange> = paths.iter().map(|p| FileChange::Write(p.to_string())).collect();
    nes::git::commit::commit_batches(repo, &[changes], &meta("001-a", "r1"), &sig(repo), &mut |_, _| {})
        .unwrap();
}
