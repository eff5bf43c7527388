//! What a purge proves before it reports success: no selected policy path holds a value in
//! any blob reachable from any ref, `git fsck --strict` is clean, the ledger reads the same
//! (commit ids mapped), and the working tree and index are the rewritten HEAD.

use std::collections::HashMap;

use anyhow::{Context as _, Result};
use git2::Oid;

use super::refs::{self, run_git};
use crate::git::ledger::read_ledger;
use crate::git::repo::DataRepo;
use crate::privacy::history;
use crate::store::privacy::Policy;

/// The ledger as a value to compare: every entry, its commits renamed through `map` (a
/// commit the map lacks is kept as it is).
pub(super) fn ledger_value(repo: &DataRepo, map: &HashMap<Oid, Oid>) -> Result<serde_json::Value> {
    let ledger = read_ledger(repo)?;
    let mut entries = Vec::new();
    for entry in ledger.entries.values() {
        let mut entry = entry.clone();
        for commit in &mut entry.commits {
            if let Some(new) = Oid::from_str(commit).ok().and_then(|old| map.get(&old)) {
                *commit = new.to_string();
            }
        }
        entries.push(serde_json::to_value(entry)?);
    }
    Ok(serde_json::Value::Array(entries))
}

/// Every check; the first that fails is the error.
pub(super) fn verify(
    repo: &DataRepo,
    policy: &'static Policy,
    selection: &[usize],
    ledger_before: &serde_json::Value,
    head: Oid,
) -> Result<()> {
    no_values_left(repo, policy, selection)?;
    run_git(
        repo.root(),
        &["fsck", "--strict", "--no-progress", "--no-dangling"],
    )
    .context("the rewritten history fails `git fsck --strict`")?;
    let ledger_after = ledger_value(repo, &HashMap::new())?;
    anyhow::ensure!(
        &ledger_after == ledger_before,
        "the ledger reads differently after the rewrite (which migrations ran, their runs, dates or authors)"
    );
    let at = repo.head()?;
    anyhow::ensure!(
        at == head,
        "HEAD is {at} after the rewrite, not the rewritten {head}"
    );
    let dirty = repo.dirty_paths(5)?;
    anyhow::ensure!(
        dirty.is_empty(),
        "the working tree differs from the rewritten HEAD: {}",
        dirty.join(", ")
    );
    Ok(())
}

/// Parses every `.json` blob reachable from any ref that the byte scan cannot clear, and
/// fails naming the first that still holds a value.
fn no_values_left(repo: &DataRepo, policy: &'static Policy, selection: &[usize]) -> Result<()> {
    let git = repo.git();
    let mut tips = Vec::new();
    for (_, target) in refs::list(git)? {
        if let Ok(commit) = git.find_object(target, None).and_then(|o| o.peel_to_commit()) {
            tips.push(commit.id());
        }
    }
    let holding: Vec<Oid> = history::scan(git, &tips, policy, selection, false, &|| {})?
        .holding
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    anyhow::ensure!(
        holding.is_empty(),
        "{} blob(s) reachable from the rewritten refs still hold personal data, e.g. {}",
        holding.len(),
        holding[0]
    );
    Ok(())
}
