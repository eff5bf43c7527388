//! Crash safety: the pre-run ref, the run journal, restoring the working tree and repair.

use anyhow::Result;

use super::commit::FileChange;
use super::message::CommitMeta;
use super::repo::DataRepo;

/// Ref holding the commit HEAD was at before the current (or crashed) run's first write.
pub const PRE_RUN_REF: &str = "refs/nes/pre-run";

/// Records the pre-run commit before anything is written.
pub fn record_pre_run(repo: &DataRepo, run_id: &str, migration: &str) -> Result<()> {
    todo!("{}{run_id}{migration}", repo.root().display())
}

/// Saves the batch plan before the first commit, so `repair` can finish the remaining batches.
pub fn save_plan(repo: &DataRepo, meta: &CommitMeta, batches: &[Vec<FileChange>]) -> Result<()> {
    todo!("{}{meta:?}{batches:?}", repo.root().display())
}

/// Clears the pre-run ref and plan after a run ended (committed, or restored).
pub fn finish_run(repo: &DataRepo) -> Result<()> {
    todo!("{}", repo.root().display())
}

/// Puts the given repository-relative paths back as they are at HEAD (deleting those HEAD
/// does not have). Used when a migration fails before committing.
pub fn restore_paths(repo: &DataRepo, paths: &[String]) -> Result<()> {
    todo!("{}{paths:?}", repo.root().display())
}

/// A run interrupted before it finished, as found on disk.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Interrupted {
    pub migration: String,
    pub run_id: String,
    pub pre_run_commit: String,
    /// Batches committed so far, and how many were planned (0 when no plan was saved).
    pub committed_batches: usize,
    pub planned_batches: usize,
}

/// The interrupted run, if a pre-run ref is present.
pub fn interrupted(repo: &DataRepo) -> Result<Option<Interrupted>> {
    todo!("{}", repo.root().display())
}

/// How `repair` resolves an interrupted run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairMode {
    /// Commit the remaining planned batches (needs the plan and the files in the working tree).
    Complete,
    /// Return branch, index and working tree to the pre-run commit.
    Rollback,
}

/// Resolves an interrupted run.
pub fn repair(repo: &DataRepo, mode: RepairMode, signature: &git2::Signature<'_>) -> Result<()> {
    let _ = (repo, mode, signature);
    todo!()
}
