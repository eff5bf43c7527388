//! Batch commits built from the previous batch's tree, never from a full index rewrite.

use anyhow::Result;

use super::message::CommitMeta;
use super::repo::DataRepo;

/// A change to one repository-relative path, already made in the working tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// The file was created or rewritten; its content is read from the working tree.
    Write(String),
    /// The file was removed.
    Delete(String),
}

impl FileChange {
    /// The repository-relative path.
    pub fn path(&self) -> &str {
        match self {
            FileChange::Write(p) | FileChange::Delete(p) => p,
        }
    }
}

/// Splits units (files that must land together, e.g. an object and its new version) into
/// batches of at most `batch_size` files, in order; a unit larger than the limit is a batch alone.
pub fn plan_batches(units: &[Vec<FileChange>], batch_size: usize) -> Vec<Vec<FileChange>> {
    todo!("{units:?}{batch_size}")
}

/// Commits `batches` on the checked-out branch, one commit each with
/// [`super::message::batch_message`], then brings the index in line with HEAD.
/// `on_batch(i, n)` is called after each commit; `before_batch(i)` before (fault injection).
pub fn commit_batches(
    repo: &DataRepo,
    batches: &[Vec<FileChange>],
    meta: &CommitMeta,
    signature: &git2::Signature<'_>,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<Vec<git2::Oid>> {
    let _ = (repo, batches, meta, signature, on_batch);
    todo!()
}
