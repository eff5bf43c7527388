//! Batch commit messages and their machine-readable trailers.

use std::time::Duration;

use crate::stats::Stats;

/// What every batch commit of one run says about it.
#[derive(Debug, Clone)]
pub struct CommitMeta {
    /// `004-source-election-constituencies`.
    pub migration: String,
    pub description: String,
    pub author: String,
    pub date: String,
    pub stats: Stats,
    pub duration: Duration,
    pub run_id: String,
    /// `v1:sha256:<hex>`.
    pub checksum: String,
}

/// The message of batch `batch` (1-based) of `total`; a single batch has no "(Batch 1/1)".
pub fn batch_message(meta: &CommitMeta, batch: usize, total: usize) -> String {
    todo!("{meta:?}{batch}{total}")
}

/// The `Nes-*` trailers of a commit message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trailers {
    pub migration: Option<String>,
    /// `(n, total)` from `Nes-Batch: n/total`.
    pub batch: Option<(u32, u32)>,
    pub run: Option<String>,
    pub checksum: Option<String>,
    /// `Nes-Baseline: true` (recorded by `mark-applied`).
    pub baseline: bool,
    /// `Nes-Revert: NAME`.
    pub revert: Option<String>,
}

/// Reads the trailers of the last paragraph of `message`.
pub fn parse_trailers(message: &str) -> Trailers {
    todo!("{message}")
}
