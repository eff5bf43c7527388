//! The ledger: which migrations ran, read from the data repository's history alone.

use std::collections::BTreeMap;

use anyhow::Result;

use super::repo::DataRepo;

/// How the history records a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recorded {
    /// Every batch 1..n of one run is reachable from HEAD.
    Applied,
    /// Some but not all batches of a run are reachable: needs `nes migrate repair`.
    Partial,
}

/// What the history says about one migration name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LedgerEntry {
    /// `004-source-election-constituencies`.
    pub name: String,
    pub recorded: Recorded,
    /// Commits of the run that counts, oldest first (hex).
    pub commits: Vec<String>,
    pub run_id: Option<String>,
    /// Commit time of the last batch, RFC 3339.
    pub date: Option<String>,
    /// Commit author of the last batch.
    pub author: Option<String>,
    pub checksum: Option<String>,
    /// Recorded by `mark-applied` without running.
    pub baseline: bool,
    /// Recorded by the original Python tool (`v2/migration-logs/NNN-name/metadata.json`).
    pub python_log: bool,
    /// Some of its commits are not on the remote-tracking branch.
    pub unpushed: bool,
}

/// Every migration the history mentions, by name.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub entries: BTreeMap<String, LedgerEntry>,
}

/// Reads the ledger from HEAD's history (a `Nes-Revert` later in history makes a migration
/// pending again) plus `v2/migration-logs/*/metadata.json` at HEAD.
pub fn read_ledger(repo: &DataRepo) -> Result<Ledger> {
    todo!("{}", repo.root().display())
}
