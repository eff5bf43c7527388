//! What a stopped run left, named, with the one command that recovers it: what
//! `nes migrate status` says after a crash (and `docs/maintainer-guide.md`, "After a crash").

use super::lock;
use super::own_lock::{self, LockDirs};
use super::recovery;
use super::ref_update;
use super::repo::DataRepo;
use anyhow::Result;

/// A state a crash (or a run in progress) leaves, and its remedy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrashState {
    /// `running`, `foreign-lock`, `purge-interrupted`, `interrupted`, `partial`, `committed-unfinished`,
    /// `record-lost` or `leftovers`.
    pub state: &'static str,
    /// What is on disk, in a sentence.
    pub detail: String,
    /// The one command that recovers it.
    pub command: String,
}

/// The state of the data repository's runs; `None` when nothing is in the way.
pub fn crash_state(repo: &DataRepo) -> Result<Option<CrashState>> {
    if let Some(holder) = lock::live_holder(repo) {
        return Ok(Some(CrashState {
            state: "running",
            detail: format!("a run is in progress: {}", holder.describe()),
            command: "wait for it to finish".into(),
        }));
    }
    let dirs = LockDirs::of(repo.git());
    let branch = repo.branch()?;
    let git_locks = [
        repo.git_dir().join("index.lock"),
        repo.git_dir().join("HEAD.lock"),
        ref_update::lock_path(&ref_update::ref_file(&dirs, &format!("refs/heads/{branch}"))),
        dirs.common_dir.join("packed-refs.lock"),
    ];
    if let Some(foreign) = git_locks
        .iter()
        .find(|l| std::fs::symlink_metadata(l).is_ok() && !own_lock::is_own(&dirs, l))
    {
        return Ok(Some(CrashState {
            state: "foreign-lock",
            detail: format!(
                "{} is held by another git process, or was left by one that crashed",
                foreign.display()
            ),
            command: format!("rm '{}' (only once no git process is running)", foreign.display()),
        }));
    }
    if let Some(journal) = super::rewrite_journal::read(repo)? {
        return Ok(Some(CrashState {
            state: "purge-interrupted",
            detail: format!(
                "a history rewrite (`nes db purge-history`) stopped part-way; its journal lists {} ref(s) to move",
                journal.refs.len()
            ),
            command: super::rewrite_journal::RECOVER.into(),
        }));
    }
    let stale = recovery::stale_locks(repo);
    if let Some(run) = recovery::interrupted(repo)? {
        let (state, detail) = if run.migration.is_empty() {
            (
                "record-lost",
                "a run's record is lost; it committed nothing".to_string(),
            )
        } else if run.planned_batches == 0 && run.committed_batches > 0 {
            (
                "record-lost",
                format!(
                    "the record of run {} of {} is lost after {} batch commit(s): it can only be \
                     rolled back (repair does), then run again",
                    run.run_id, run.migration, run.committed_batches
                ),
            )
        } else if run.committed_batches == 0 {
            (
                "interrupted",
                format!(
                    "run {} of {} stopped before its first batch commit",
                    run.run_id, run.migration
                ),
            )
        } else if run.committed_batches < run.planned_batches {
            (
                "partial",
                format!(
                    "run {} of {} stopped after {} of {} batch commits",
                    run.run_id, run.migration, run.committed_batches, run.planned_batches
                ),
            )
        } else {
            (
                "committed-unfinished",
                format!(
                    "run {} of {} committed all its batches but stopped before updating the index \
                     and clearing its record",
                    run.run_id, run.migration
                ),
            )
        };
        let locks = if stale.is_empty() {
            String::new()
        } else {
            format!("; it also left {} lock file(s) of its own", stale.len())
        };
        return Ok(Some(CrashState {
            state,
            detail: format!("{detail}{locks}"),
            command: run.repair_command(),
        }));
    }
    if !stale.is_empty() || recovery::has_leftovers(repo)? {
        let names: Vec<String> = stale.iter().map(|l| l.display().to_string()).collect();
        return Ok(Some(CrashState {
            state: "leftovers",
            detail: if names.is_empty() {
                "a stopped run left files of its own under .git/nes".into()
            } else {
                format!("a stopped nes left its own lock file(s): {}", names.join(", "))
            },
            command: "nes migrate repair (or any `nes migrate run`, which removes them first)".into(),
        }));
    }
    Ok(None)
}
