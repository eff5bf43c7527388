//! Benchmark of `nes db audit --history` and `nes db purge-history` (issue 30), the purge
//! against the reference a history rewrite cannot beat by much: a `git fast-export --all |
//! git fast-import` round trip of the same history into a fresh repository.
//!
//! ```text
//! cargo bench --bench purge -- [bundle] [synthetic] [--runs N] [--entities N]
//! ```
//!
//! `bundle`: a clone of `nes-database-2026.bundle` (full history, 8 commits; from
//! `$NES_SHARED_DIR` or `../shared`). `synthetic`: persons with family names (default
//! 100,000 entities, 200,000 files) in three commits: half created, the other half created,
//! then every tenth updated (a second version). Each measured step is a child process under
//! `/usr/bin/time` (wall time and peak RSS); copies and checks are outside the timing.
//! Repositories are cached under `target/nes-bench/` (or `$NES_BENCH_DIR`).

#[path = "support/mod.rs"]
mod support;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context as _, Result};
use nes::prelude::json;
use nes::store::backend::WorkTree;
use nes::store::clock::SystemClock;
use nes::store::publication::Publication;
use support::{bench_author, git, Kind};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("child") {
        return child(&args[1..]);
    }
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let runs: usize = value("--runs").map_or(Ok(3), |v| v.parse())?;
    let entities: usize = value("--entities").map_or(Ok(100_000), |v| v.parse())?;
    let mut scenarios: Vec<&str> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a.as_str())
        .collect();
    if scenarios.is_empty() {
        scenarios = vec!["bundle", "synthetic"];
    }
    let cache = std::env::var_os("NES_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/nes-bench"));
    std::fs::create_dir_all(&cache)?;
    println!("| history | step | run | wall (s) | peak RSS (MB) |");
    println!("|---|---|---|---|---|");
    for scenario in scenarios {
        let base = match scenario {
            "bundle" => bundle(&cache)?,
            "synthetic" => synthetic(&cache, entities)?,
            other => bail!("unknown scenario `{other}` (bundle, synthetic)"),
        };
        for run in 1..=runs {
            let exe = std::env::current_exe()?;
            let (wall, rss) = timed(&[exe.to_str().unwrap(), "child", "audit", base.to_str().unwrap()])?;
            println!("| {scenario} | nes db audit --history | {run} | {wall:.2} | {rss:.0} |");
            let work = cache.join("purge-work");
            let _ = std::fs::remove_dir_all(&work);
            std::fs::create_dir_all(&work)?;
            let copy = work.join("db");
            cp(&base, &copy)?;
            // A copy's files have new inodes and ctimes: refresh the index (as any clone has it)
            // and write everything out, so the purge's checkout is not charged for the copy.
            git(&copy, &["update-index", "--refresh", "-q"])?;
            let status = Command::new("sync").status()?;
            ensure!(status.success(), "sync failed");
            let (wall, rss) = timed(&[
                std::env::current_exe()?.to_str().unwrap(),
                "child",
                "purge",
                copy.to_str().unwrap(),
            ])?;
            println!("| {scenario} | nes db purge-history | {run} | {wall:.2} | {rss:.0} |");
            let fresh = work.join("fresh");
            git(&work, &["init", "--quiet", "fresh"])?;
            let pipe = format!(
                "git -C '{}' fast-export --all --reencode=no --signed-tags=verbatim | git -C '{}' fast-import --quiet",
                base.display(),
                fresh.display()
            );
            let (wall, rss) = timed(&["sh", "-c", &pipe])?;
            println!("| {scenario} | git fast-export --all \\| fast-import | {run} | {wall:.2} | {rss:.0} |");
        }
        let _ = std::fs::remove_dir_all(cache.join("purge-work"));
    }
    Ok(())
}

/// Runs `argv` under `/usr/bin/time`: wall seconds and peak RSS in MB.
fn timed(argv: &[&str]) -> Result<(f64, f64)> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "nes-bench %e %M"])
        .args(argv)
        .output()
        .context("run /usr/bin/time")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "{argv:?} failed: {stderr}");
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("nes-bench "))
        .context("no /usr/bin/time line")?;
    let mut words = line.split_whitespace().skip(1);
    let wall: f64 = words.next().context("wall")?.parse()?;
    let kb: f64 = words.next().context("rss")?.parse()?;
    Ok((wall, kb / 1024.0))
}

fn cp(from: &Path, to: &Path) -> Result<()> {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status()?;
    ensure!(status.success(), "cp -a {} failed", from.display());
    Ok(())
}

/// The measured step, in its own process: the purge through the library, as the command.
fn child(args: &[String]) -> Result<()> {
    let [what, dir] = args else {
        bail!("child purge|audit <dir>")
    };
    let repo = nes::git::repo::DataRepo::open(Path::new(dir))?;
    if what == "audit" {
        use nes::privacy::{audit, history};
        let policy = nes::store::privacy::policy();
        let mut report = audit::AuditReport::new(policy, "model/privacy.toml", false);
        audit::audit_worktree(repo.root(), policy, &mut report, &|| {})?;
        history::audit_history(repo.git(), policy, &mut report, &|| {})?;
        ensure!(report.found_any(), "the audit found nothing");
        return Ok(());
    }
    ensure!(what == "purge", "unknown child step {what}");
    let report = nes::privacy::purge::purge(&repo, &nes::privacy::purge::PurgeOptions::default())?;
    ensure!(report.counts.blobs_changed > 0, "the purge changed nothing");
    Ok(())
}

fn bundle(cache: &Path) -> Result<PathBuf> {
    let dest = cache.join("purge-2026");
    if dest.join(".git/nes-bench-complete").exists() {
        return Ok(dest);
    }
    let shared = std::env::var_os("NES_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let bundle = shared.join("nes-format/nes-database-2026.bundle");
    ensure!(
        bundle.is_file(),
        "{} not found: set NES_SHARED_DIR",
        bundle.display()
    );
    let _ = std::fs::remove_dir_all(&dest);
    git(
        cache,
        &[
            "clone",
            "--quiet",
            "--branch",
            "main",
            bundle.to_str().unwrap(),
            dest.to_str().unwrap(),
        ],
    )?;
    std::fs::write(dest.join(".git/nes-bench-complete"), "")?;
    Ok(dest)
}

/// Persons with a father's and a spouse's name, in three commits (see the module doc).
fn synthetic(cache: &Path, entities: usize) -> Result<PathBuf> {
    let dest = cache.join(format!("purge-synthetic-{entities}"));
    if dest.join(".git/nes-bench-complete").exists() {
        return Ok(dest);
    }
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(&dest)?;
    git(&dest, &["init", "--quiet", "--initial-branch=main"])?;
    // No automatic gc behind a commit: it would hold gc.pid.lock when the explicit one runs.
    for (key, value) in [
        ("user.name", "Bench"),
        ("user.email", "bench@example.org"),
        ("gc.auto", "0"),
    ] {
        git(&dest, &["config", key, value])?;
    }
    let started = std::time::Instant::now();
    let fields = |i: usize| {
        let mut fields = Kind::Person.fields("purge", i);
        let text = |v: String| json!({"en": {"provenance": "imported", "value": v}, "ne": null});
        fields["personal_details"] = json!({
            "father_name": text(format!("Father {i}")),
            "mother_name": null,
            "spouse_name": text(format!("Spouse {i}")),
        });
        fields
    };
    let half = entities / 2;
    for (range, message) in [
        (0..half, "Import persons, first half"),
        (half..entities, "Import persons, second half"),
    ] {
        let mut publication = Publication::new(
            Box::new(WorkTree::new(&dest)),
            Box::new(SystemClock),
            bench_author(),
        );
        publication.use_author("author:bench-author")?;
        for i in range {
            publication.create_entity(&Kind::Person.id("purge", i), fields(i), "Benchmark import")?;
        }
        publication.flush()?;
        git(&dest, &["add", "-A"])?;
        git(&dest, &["commit", "--quiet", "-m", message])?;
    }
    let mut publication = Publication::new(
        Box::new(WorkTree::new(&dest)),
        Box::new(SystemClock),
        bench_author(),
    );
    publication.use_author("author:bench-author")?;
    for i in (0..entities).step_by(10) {
        let id = Kind::Person.id("purge", i);
        let mut updated = fields(i);
        updated["short_description"] =
            json!({"en": {"provenance": "imported", "value": "Updated"}, "ne": null});
        publication.update_entity(&id, updated, "Benchmark update")?;
    }
    publication.flush()?;
    git(&dest, &["add", "-A"])?;
    git(&dest, &["commit", "--quiet", "-m", "Update every tenth person"])?;
    git(&dest, &["gc", "--quiet"])?;
    std::fs::write(dest.join(".git/nes-bench-complete"), "")?;
    eprintln!("generated {} in {:.1?}", dest.display(), started.elapsed());
    Ok(dest)
}
