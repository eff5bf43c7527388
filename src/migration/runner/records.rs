//! What a run leaves besides the data: its run record (`.nes/runs/`), the Python tool's log,
//! its default author and its run id.

use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::git::commit::FileChange;
use crate::git::repo::DataRepo;
use crate::migration::deps::{record_path, RunRecord};
use crate::migration::python_log::{self, PythonLog};
use crate::migration::registry::Migration;
use crate::stats::Stats;
use crate::store::publication::{Access, AuthorRef};
use crate::store::slug;

/// Writes `.nes/runs/<migration>.json`, committed with the last batch.
pub(super) fn write_run_record(
    repo: &DataRepo,
    name: &str,
    run_id: &str,
    access: &Access,
) -> Result<FileChange> {
    let record = RunRecord {
        schema_version: 1,
        migration: name.to_string(),
        run_id: run_id.to_string(),
        access: access.clone(),
    };
    let path = record_path(name);
    let full = repo.root().join(&path);
    std::fs::create_dir_all(full.parent().expect("record path has a parent"))?;
    std::fs::write(&full, serde_json::to_vec(&record)?).with_context(|| format!("writing {path}"))?;
    Ok(FileChange::Write(path))
}

/// Writes `v2/migration-logs/<migration>/metadata.json` as the Python tool would. Under
/// `--reproducible` it says the run happened at the migration's DATE and took no time.
pub(super) fn write_python_log(
    repo: &DataRepo,
    m: &Migration,
    stats: Stats,
    elapsed: Duration,
    reproducible: bool,
) -> Result<FileChange> {
    let (executed_at, duration_seconds) = match chrono::NaiveDate::parse_from_str(m.date, "%Y-%m-%d") {
        Ok(date) if reproducible => (date.and_time(chrono::NaiveTime::MIN), 0.0),
        _ => (chrono::Local::now().naive_local(), elapsed.as_secs_f64()),
    };
    let log = PythonLog {
        migration: m.name,
        author: m.author,
        date: m.date,
        description: m.description,
        executed_at,
        duration_seconds,
        stats,
        has_diff: false,
    };
    let path = python_log::metadata_path(m.name);
    let full = repo.root().join(&path);
    std::fs::create_dir_all(full.parent().expect("log path has a parent"))?;
    std::fs::write(&full, python_log::metadata_json(&log)?).with_context(|| format!("writing {path}"))?;
    Ok(FileChange::Write(path))
}

/// The migration's AUTHOR as an author object (`migration-<name>` when it slugs to nothing).
pub fn default_author(m: &Migration) -> AuthorRef {
    let slug = slug::text_to_slug(m.author);
    let slug = if slug::validate_slug(&slug).is_ok() {
        slug
    } else {
        format!("migration-{}", m.name)
    };
    AuthorRef {
        slug,
        name: Some(m.author.to_string()),
    }
}

/// A unique run ID: UTC time and a short hash of time and process.
pub fn new_run_id() -> String {
    use sha2::{Digest, Sha256};
    let now = chrono::Utc::now();
    let seed = format!(
        "{}-{}-{}",
        now.timestamp_nanos_opt().unwrap_or_default(),
        std::process::id(),
        gethostname::gethostname().to_string_lossy()
    );
    let hash = Sha256::digest(seed.as_bytes());
    let short: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{short}", now.format("%Y%m%dT%H%M%SZ"))
}
