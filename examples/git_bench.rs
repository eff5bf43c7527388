//! Timings of the git layer on synthetic repositories (not a test; run by hand):
//! `cargo run --example git_bench -- <files> <commits>`, or `-- <repo-path>` to time the
//! read-only operations on an existing data repository (e.g. a clone of the real bundle).

use std::path::Path;
use std::time::Instant;

use nes::git::commit::{commit_batches, commit_one, plan_batches, FileChange};
use nes::git::ledger::read_ledger;
use nes::git::message::{batch_message, CommitMeta};
use nes::git::repo::DataRepo;
use nes::stats::Stats;

fn time_existing(path: &Path) -> anyhow::Result<()> {
    let t = Instant::now();
    let repo = DataRepo::open(path)?;
    println!("open: {:?}", t.elapsed());
    for _ in 0..2 {
        let t = Instant::now();
        let dirty = repo.dirty_paths(6)?;
        println!("dirty_paths: {:?} ({} dirty)", t.elapsed(), dirty.len());
        let t = Instant::now();
        let ledger = read_ledger(&repo)?;
        println!(
            "read_ledger: {:?} ({} entries)",
            t.elapsed(),
            ledger.entries.len()
        );
    }
    // One 1000-file batch on top of the existing tree: should cost the same as on an empty repo.
    let units: Vec<Vec<FileChange>> = (0..1000)
        .map(|i| {
            let path = format!("v2/bench/b-{i:04}.json");
            let full = repo.root().join(&path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, format!("{{\"bench\": {i}}}\n")).unwrap();
            vec![FileChange::Write(path)]
        })
        .collect();
    let sig = git2::Signature::now("Bench", "bench@example.org")?;
    let meta = CommitMeta {
        migration: "900-bench".into(),
        description: "bench".into(),
        author: "Bench".into(),
        date: "2025-01-01".into(),
        stats: Stats::default(),
        duration: std::time::Duration::from_secs(1),
        run_id: "bench".into(),
        checksum: "v1:sha256:00".into(),
    };
    let t = Instant::now();
    commit_batches(&repo, &plan_batches(&units, 1000), &meta, &sig, &mut |_, _| {})?;
    println!(
        "commit_batches, 1000 files on this repo (incl. index sync): {:?}",
        t.elapsed()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if let Some(path) = std::env::args().nth(1).filter(|a| a.parse::<usize>().is_err()) {
        return time_existing(Path::new(&path));
    }
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let (files, commits) = (
        args.first().copied().unwrap_or(3000),
        args.get(1).copied().unwrap_or(10_000),
    );
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let repo = DataRepo::init(dir, None)?;
    let sig = git2::Signature::now("Bench", "bench@example.org")?;
    let meta = |name: &str, run: &str| CommitMeta {
        migration: name.into(),
        description: "bench".into(),
        author: "Bench".into(),
        date: "2025-01-01".into(),
        stats: Stats::default(),
        duration: std::time::Duration::from_secs(1),
        run_id: run.into(),
        checksum: "v1:sha256:00".into(),
    };

    let t = Instant::now();
    let units: Vec<Vec<FileChange>> = (0..files)
        .map(|i| {
            let path = format!("v2/entity/person/p-{i:06}.json");
            let full = dir.join(&path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, format!("{{\"id\": {i}}}\n")).unwrap();
            vec![FileChange::Write(path)]
        })
        .collect();
    println!("write {files} files: {:?}", t.elapsed());
    let t = Instant::now();
    commit_batches(
        &repo,
        &plan_batches(&units, 1000),
        &meta("001-bench", "r1"),
        &sig,
        &mut |_, _| {},
    )?;
    println!(
        "commit_batches {files} files (incl. index sync + pack): {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let dirty = repo.dirty_paths(6)?;
    println!("dirty_paths: {:?} ({} dirty)", t.elapsed(), dirty.len());

    let t = Instant::now();
    for i in 0..commits {
        let m = meta(&format!("{:03}-m{}", i % 1000, i), &format!("run-{i}"));
        commit_one(&repo, &[], &batch_message(&m, 1, 1), &sig)?;
    }
    println!("{commits} empty commits: {:?}", t.elapsed());
    let t = Instant::now();
    nes::git::commit::consolidate_packs(&repo);
    println!("pack: {:?}", t.elapsed());
    let cache = dir.join(".git/nes/ledger-cache.json");
    let _ = std::fs::remove_file(&cache);
    let t = Instant::now();
    let ledger = read_ledger(&repo)?;
    println!(
        "read_ledger, full walk of {} commits: {:?} ({} entries)",
        commits + 2,
        t.elapsed(),
        ledger.entries.len()
    );
    let t = Instant::now();
    read_ledger(&repo)?;
    println!("read_ledger, cache hit: {:?}", t.elapsed());
    commit_one(
        &repo,
        &[],
        &batch_message(&meta("999-last", "r-last"), 1, 1),
        &sig,
    )?;
    let t = Instant::now();
    read_ledger(&repo)?;
    println!("read_ledger, cache + 1 new commit: {:?}", t.elapsed());
    let t = Instant::now();
    let mut walk = repo.git().revwalk()?;
    walk.push_head()?;
    let n = walk
        .filter_map(|o| o.ok())
        .filter_map(|o| repo.git().find_commit(o).ok())
        .count();
    println!("bare revwalk + find_commit of {n} commits: {:?}", t.elapsed());
    Ok(())
}
