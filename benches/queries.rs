//! Queries inside a migration on the real data (issue 32): a cold scan of the locations,
//! then 200 name look-ups and 20 person listings, and the service's 004 written the
//! natural way (77 districts, 58 found by name). Prints a markdown table.
//!
//! `cargo bench --bench queries` (the real bundle from `../shared`, or `NES_SHARED_DIR`;
//! clones cached under `target/nes-bench/`).

#[path = "queries_support/mod.rs"]
mod queries_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use queries_support::{dry_publication, location_names, port_004};

fn shared() -> PathBuf {
    std::env::var_os("NES_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// A clone of the real bundle at `rev`, cached.
fn clone_at(name: &str, rev: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/nes-bench")
        .join(name);
    if !dir.join(".git").is_dir() {
        let bundle = shared().join("nes-format/nes-database.bundle");
        let ok = Command::new("git")
            .args(["clone", "--quiet", "--branch", "main"])
            .arg(&bundle)
            .arg(&dir)
            .status()
            .expect("git clone")
            .success();
        assert!(ok, "cloning {}", bundle.display());
        let ok = Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(["checkout", "--quiet", rev])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    dir
}

/// This process's resident and peak memory, from /proc (0 elsewhere).
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    if !shared().join("nes-format/nes-database.bundle").is_file() {
        eprintln!(
            "SKIPPED: no real bundle at {} (set NES_SHARED_DIR)",
            shared().display()
        );
        return;
    }
    let head = clone_at("queries-real", "HEAD");
    let runs: usize = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    println!(
        "| run | cold scan of 7,580 locations | 200 name look-ups + 20 person listings | ratio | \
         of which: look-ups / first listing / 19 more | 004 port (77 rows, 165 creates) | RSS after |"
    );
    println!("|---|---|---|---|---|---|---|");
    for run in 1..=runs {
        let mut p = dry_publication(&head);
        let started = Instant::now();
        let names = location_names(&mut p).unwrap();
        let cold = started.elapsed();
        let step = (names.len() / 200).max(1);
        let picked: Vec<&String> = names.iter().step_by(step).take(200).collect();
        let started = Instant::now();
        let mut found = 0;
        for name in &picked {
            found += p.find_entities_by_name("location", name).unwrap().len();
        }
        let lookups = started.elapsed();
        let mut persons = 0;
        let mut first_listing = None;
        for _ in 0..20 {
            persons = p.list_entities("person", None, &[]).unwrap().len();
            first_listing.get_or_insert(started.elapsed() - lookups);
        }
        let warm = started.elapsed();
        let first_listing = first_listing.unwrap_or_default();
        let rest = warm - lookups - first_listing;
        assert!(found >= picked.len() && persons == 5_637, "{found} {persons}");
        let (rss, _) = memory();
        drop(p);

        let pre = clone_at("queries-pre004", "HEAD~2");
        let csv = shared().join("nes-format/sources/004-source-election-constituencies/constituencies.csv");
        let mut p = dry_publication(&pre);
        let started = Instant::now();
        let port = port_004(&mut p, &csv).unwrap();
        let port_time = started.elapsed();
        assert_eq!(port.created.len(), 165);
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {run} | {:.0} ms | {:.0} ms | {:.2}x | {:.0} / {:.0} / {:.0} ms | {:.0} ms | {} MB |",
            ms(cold),
            ms(warm),
            warm.as_secs_f64() / cold.as_secs_f64(),
            ms(lookups),
            ms(first_listing),
            ms(rest),
            ms(port_time),
            rss / 1_000_000,
        );
    }
    // The indexes alone: index the locations, then hold another type's documents (the
    // 2025 data has no projects) so that only the location indexes stay.
    let trimmed = || {
        // SAFETY: malloc_trim only returns free heap pages to the system.
        unsafe { libc::malloc_trim(0) };
        memory().0
    };
    let mut p = dry_publication(&head);
    let before = trimmed();
    p.find_entities_by_name("location", "-").unwrap();
    p.list_entities("project", None, &[]).unwrap();
    let after = trimmed();
    println!(
        "\nlocation indexes (7,580 entities) after their documents were dropped: {} KB, {} bytes an entity",
        after.saturating_sub(before) / 1000,
        after.saturating_sub(before) / 7_580
    );
    drop(p);
    let (_, peak) = memory();
    println!("peak RSS of the bench process: {} MB", peak / 1_000_000);
}
