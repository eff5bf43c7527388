//! `nes migrate run --write-migration-logs`: `metadata.json` exactly as the original Python
//! tool writes it (FORMAT.md §7), checked against the real logs in the database bundle.

mod common;

use common::git;

use std::path::{Path, PathBuf};
use std::process::Command;

use nes::migration::python_log::{metadata_json, PythonLog};
use nes::stats::Stats;
use serde_json::Value;
use tempfile::TempDir;

const EXAMPLE: &str = "000-example-migration";
const LOG: &str = "v2/migration-logs/000-example-migration/metadata.json";

/// Runs the example with `--write-migration-logs` in batches of 4; returns the data repo.
fn run_example(dir: &Path) -> PathBuf {
    let out = Command::new(env!("CARGO_BIN_EXE_nes"))
        .current_dir(dir)
        .env(
            "NES_MIGRATIONS_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"),
        )
        .env("NES_GIT_AUTHOR", "Nes Test <t@example.org>")
        .env("NES_DB_REPO", dir.join("db"))
        .args([
            "migrate",
            "run",
            "000",
            "-q",
            "--batch-size",
            "4",
            "--write-migration-logs",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir.join("db")
}

/// Each line with its value blanked: the key order, indentation and punctuation.
fn skeleton(json: &str) -> Vec<String> {
    json.lines()
        .map(|line| match line.split_once("\": ") {
            Some((key, value)) if !value.starts_with('{') => {
                let comma = if value.ends_with(',') { "," } else { "" };
                format!("{key}\": _{comma}")
            }
            _ => line.to_string(),
        })
        .collect()
}

#[test]
fn the_log_is_committed_with_the_last_batch_in_python_layout() {
    let dir = TempDir::new().unwrap();
    let db = run_example(dir.path());
    let last_batch = git(&db, &["show", "--name-only", "--format=%s", "HEAD"]);
    assert!(last_batch.contains(LOG), "{last_batch}");
    assert!(!git(&db, &["show", "--name-only", "--format=", "HEAD~1"]).contains("migration-logs"));
    let text = git(&db, &["show", &format!("HEAD:{LOG}")]);
    assert!(!text.ends_with('\n'), "no trailing newline");
    assert!(text.is_ascii());
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["migration_name"], EXAMPLE);
    assert_eq!(doc["date"], "2026-11-21T00:00:00");
    assert_eq!(doc["status"], "completed");
    let changes = &doc["changes"];
    assert_eq!(changes["entities_created"], 5);
    assert_eq!(
        changes["summary"].as_str().unwrap(),
        format!(
            "Created {} entities, {} relationships, and {} versions",
            changes["entities_created"], changes["relationships_created"], changes["versions_created"]
        )
    );
    let executed_at = doc["executed_at"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(executed_at, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
            && !executed_at.ends_with('Z')
            && !executed_at.contains('+'),
        "naive local time: {executed_at}"
    );
    assert_eq!(git(&db, &["status", "--porcelain"]), "");

    if let Some(shared) = common::shared_dir() {
        let parent = Path::new("/dev/shm");
        let tmp = if parent.is_dir() {
            TempDir::new_in(parent).unwrap()
        } else {
            TempDir::new().unwrap()
        };
        let bundle = common::clone_bundle(&shared, &tmp.path().join("bundle"));
        let real = std::fs::read_to_string(bundle.join(LOG)).unwrap();
        assert_eq!(skeleton(&text), skeleton(&real), "key order and layout");
    }
}

/// Every real `metadata.json` in the bundle, re-rendered from its own values, is identical
/// byte for byte: key order, indentation, ASCII escapes, float repr, no final newline.
#[test]
fn real_logs_in_the_bundle_re_render_byte_for_byte() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let parent = Path::new("/dev/shm");
    let tmp = if parent.is_dir() {
        TempDir::new_in(parent).unwrap()
    } else {
        TempDir::new().unwrap()
    };
    let bundle = common::clone_bundle(&shared, &tmp.path().join("bundle"));
    let logs = bundle.join("v2/migration-logs");
    let mut checked = 0;
    for dir in std::fs::read_dir(&logs).unwrap() {
        let path = dir.unwrap().path().join("metadata.json");
        let Ok(real) = std::fs::read_to_string(&path) else {
            continue;
        };
        let doc: Value = serde_json::from_str(&real).unwrap();
        let text = |key: &str| doc[key].as_str().unwrap().to_string();
        let count = |key: &str| doc["changes"][key].as_u64().unwrap();
        let (name, author, date, description) = (
            text("migration_name"),
            text("author"),
            text("date"),
            text("description"),
        );
        let log = PythonLog {
            migration: &name,
            author: &author,
            date: &date[..10],
            description: &description,
            executed_at: chrono::NaiveDateTime::parse_from_str(&text("executed_at"), "%Y-%m-%dT%H:%M:%S%.f")
                .unwrap(),
            duration_seconds: doc["duration_seconds"].as_f64().unwrap(),
            stats: Stats {
                entities_created: count("entities_created"),
                relationships_created: count("relationships_created"),
                versions_created: count("versions_created"),
                ..Stats::default()
            },
            has_diff: doc["changes"]["has_diff"].as_bool().unwrap(),
        };
        assert_eq!(metadata_json(&log).unwrap(), real, "{}", path.display());
        checked += 1;
    }
    assert!(checked > 0, "no metadata.json in the bundle");
}
