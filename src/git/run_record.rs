//! The run record, `<gitdir>/nes/run.json`: which migration runs, from which commit, and
//! (once planned) its batches and commit metadata.
//!
//! Written atomically: `run.json.tmp`, synced, renamed over `run.json`, the directory
//! synced. A record that is missing or unreadable is never taken for a run of "": the
//! complete `run.json.tmp` a crash left before its rename stands in for it, and failing
//! that the run's commits name it ([`super::recovery`] reads their trailers).

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};

use super::commit::FileChange;
use super::message::CommitMeta;
use super::repo::DataRepo;
use crate::fault;
use crate::stats::Stats;

/// The run journal, `<gitdir>/nes/run.json`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Journal {
    pub(super) migration: String,
    pub(super) run_id: String,
    pub(super) pre_run_commit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) meta: Option<JournalMeta>,
    #[serde(default)]
    pub(super) batches: Vec<Vec<PlannedChange>>,
}

/// [`CommitMeta`] as stored in the journal.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct JournalMeta {
    pub(super) description: String,
    pub(super) author: String,
    pub(super) date: String,
    pub(super) stats: Stats,
    pub(super) duration_secs: f64,
    pub(super) checksum: String,
}

/// A [`FileChange`] as stored in the journal.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", content = "path", rename_all = "kebab-case")]
pub(super) enum PlannedChange {
    Write(String),
    Delete(String),
}

impl From<&FileChange> for PlannedChange {
    fn from(change: &FileChange) -> Self {
        match change {
            FileChange::Write(p) => PlannedChange::Write(p.clone()),
            FileChange::Delete(p) => PlannedChange::Delete(p.clone()),
        }
    }
}

impl From<&PlannedChange> for FileChange {
    fn from(change: &PlannedChange) -> Self {
        match change {
            PlannedChange::Write(p) => FileChange::Write(p.clone()),
            PlannedChange::Delete(p) => FileChange::Delete(p.clone()),
        }
    }
}

impl Journal {
    pub(super) fn commit_meta(&self) -> Option<CommitMeta> {
        let meta = self.meta.as_ref()?;
        Some(CommitMeta {
            migration: self.migration.clone(),
            description: meta.description.clone(),
            author: meta.author.clone(),
            date: meta.date.clone(),
            stats: meta.stats,
            duration: Duration::from_secs_f64(meta.duration_secs.max(0.0)),
            run_id: self.run_id.clone(),
            checksum: meta.checksum.clone(),
        })
    }

    pub(super) fn file_batches(&self) -> Vec<Vec<FileChange>> {
        self.batches
            .iter()
            .map(|b| b.iter().map(FileChange::from).collect())
            .collect()
    }
}

/// `<gitdir>/nes/run.json`.
pub(super) fn path(repo: &DataRepo) -> Result<PathBuf> {
    Ok(repo.git_dir().join("nes").join("run.json"))
}

fn tmp_path(repo: &DataRepo) -> Result<PathBuf> {
    Ok(repo.git_dir().join("nes").join("run.json.tmp"))
}

/// The record: `run.json`, else a complete `run.json.tmp` (a crash before its rename);
/// `None` when neither holds a readable record.
pub(super) fn read(repo: &DataRepo) -> Result<Option<Journal>> {
    for path in [path(repo)?, tmp_path(repo)?] {
        match fs::read(&path) {
            Ok(bytes) => {
                if let Ok(journal) = serde_json::from_slice::<Journal>(&bytes) {
                    if !journal.migration.is_empty() && !journal.run_id.is_empty() {
                        return Ok(Some(journal));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
    Ok(None)
}

/// Writes the record atomically and durably: a crash at any instant leaves the old record
/// or the new one, each whole.
pub(super) fn write(repo: &DataRepo, journal: &Journal) -> Result<()> {
    repo.nes_dir()?;
    let path = path(repo)?;
    let tmp = tmp_path(repo)?;
    fault::step(|| format!("create {}", tmp.display()));
    let mut file = fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::io::Write::write_all(&mut file, &serde_json::to_vec_pretty(journal)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fault::step(|| format!("fsync {}", tmp.display()));
    file.sync_all()
        .with_context(|| format!("cannot sync {}", tmp.display()))?;
    drop(file);
    fault::step(|| format!("rename {} to {}", tmp.display(), path.display()));
    fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    sync_dir(repo)
}

/// Removes the record (and a temporary one a crash left).
pub(super) fn remove(repo: &DataRepo) -> Result<()> {
    for path in [tmp_path(repo)?, path(repo)?] {
        if path.exists() {
            fault::step(|| format!("unlink {}", path.display()));
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
            }
        }
    }
    Ok(())
}

/// Whether a record (or a temporary one) is on disk.
pub(super) fn exists(repo: &DataRepo) -> bool {
    [path(repo), tmp_path(repo)]
        .into_iter()
        .any(|p| p.is_ok_and(|p| p.exists()))
}

/// Syncs `<gitdir>/nes`, so the rename is durable.
fn sync_dir(repo: &DataRepo) -> Result<()> {
    let dir = repo.nes_dir()?;
    fault::step(|| format!("fsync {}", dir.display()));
    #[cfg(unix)]
    fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))?;
    Ok(())
}

/// The record of a new run, before anything is written.
pub(super) fn new_run(migration: &str, run_id: &str, pre_run_commit: String) -> Journal {
    Journal {
        migration: migration.to_string(),
        run_id: run_id.to_string(),
        pre_run_commit,
        ..Journal::default()
    }
}

/// `meta` as stored in the record.
pub(super) fn stored_meta(meta: &CommitMeta) -> JournalMeta {
    JournalMeta {
        description: meta.description.clone(),
        author: meta.author.clone(),
        date: meta.date.clone(),
        stats: meta.stats,
        duration_secs: meta.duration.as_secs_f64(),
        checksum: meta.checksum.clone(),
    }
}

/// `batches` as stored in the record.
pub(super) fn stored_batches(batches: &[Vec<FileChange>]) -> Vec<Vec<PlannedChange>> {
    batches
        .iter()
        .map(|b| b.iter().map(PlannedChange::from).collect())
        .collect()
}
