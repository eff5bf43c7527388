//! Timings of the git layer on synthetic repositories (not a test; run by hand):
//! `cargo run --example git_bench -- <files> <commits>`.

use std::path::Path;
use std::time::Instant;

use nes::git::commit::{commit_batches, commit_one, plan_batches, FileChange};
use nes::git::ledger::read_ledger;
use nes::git::message::{batch_message, CommitMeta};
use nes::git::repo::DataRepo;
use nes::stats::Stats;

fn main() -> anyhow::Result<()> {
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
    let _ = nes::git::commit::pack_loose_objects(&repo, 0)?;
    println!("pack: {:?}", t.elapsed());
    for _ in 0..3 {
        let t = Instant::now();
        let ledger = read_ledger(&repo)?;
        println!(
            "read_ledger over {} commits: {:?} ({} entries)",
            commits + 2,
            t.elapsed(),
            ledger.entries.len()
        );
    }
    let _ = Path::new(".");
    Ok(())
}
