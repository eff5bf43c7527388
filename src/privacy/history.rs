//! Personal data in history: every distinct `.json` blob reachable from any ref, read once
//! however many commits share it (trees are read once too), judged by the policy on all
//! cores. `nes db audit --history` counts what it finds; the purge proves it found nothing.

use std::collections::HashSet;

use anyhow::{Context as _, Result};
use git2::{ObjectType, Oid};
use rayon::prelude::*;

use super::audit::{AuditReport, ValueAt};
use super::tree::json_blobs;
use crate::store::privacy::{Finding, Policy};

/// What a scan of history found.
#[derive(Debug, Default)]
pub struct HistoryScan {
    /// Distinct `.json` blobs read.
    pub blobs: usize,
    /// Blobs holding a value at a selected path, with what they hold.
    pub holding: Vec<(Oid, Vec<Finding>)>,
}

/// The commits the refs of `git` point at (through tags), the repository's own transient
/// refs (`refs/nes/`) included: whatever a ref keeps alive counts.
pub fn ref_tips(git: &git2::Repository) -> Result<Vec<Oid>> {
    let mut tips = Vec::new();
    for reference in git.references()? {
        let reference = reference?;
        if let Ok(commit) = reference.peel(ObjectType::Commit) {
            tips.push(commit.id());
        }
    }
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// Reads every distinct `.json` blob reachable from `tips` and returns those holding a
/// value at a path of `selection`; `tick` runs once per blob.
pub fn scan(
    git: &git2::Repository,
    tips: &[Oid],
    policy: &Policy,
    selection: &[usize],
    with_values: bool,
    tick: &(dyn Fn() + Sync),
) -> Result<HistoryScan> {
    let mut walk = git.revwalk()?;
    for &tip in tips {
        walk.push(tip)?;
    }
    let odb = git.odb()?;
    let (mut trees, mut blobs) = (HashSet::new(), HashSet::new());
    for commit in walk {
        let commit = git.find_commit(commit?)?;
        json_blobs(&odb, commit.tree_id(), &mut trees, &mut blobs)?;
    }
    let mut blobs: Vec<Oid> = blobs.into_iter().collect();
    blobs.sort();
    let git_dir = git.path().to_path_buf();
    let holding = blobs
        .par_iter()
        .map_init(
            || git2::Repository::open(&git_dir),
            |handle, &id| -> Result<Option<(Oid, Vec<Finding>)>> {
                tick();
                let git = handle
                    .as_ref()
                    .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", git_dir.display()))?;
                let blob = git.find_blob(id)?;
                let findings = policy
                    .findings(selection, blob.content(), with_values)
                    .with_context(|| format!("blob {id} is not valid JSON, and it may hold personal data"))?;
                Ok((!findings.is_empty()).then_some((id, findings)))
            },
        )
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>>>()?;
    Ok(HistoryScan {
        blobs: blobs.len(),
        holding,
    })
}

/// `nes db audit --history`: fills each rule's `history_blobs` (values by blob id when
/// the report keeps values).
pub fn audit_history(
    git: &git2::Repository,
    policy: &Policy,
    report: &mut AuditReport,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    let all = policy.all();
    let with_values = report.keep_values;
    let found = scan(git, &ref_tips(git)?, policy, &all, with_values, tick)?;
    for row in &mut report.rules {
        row.history_blobs = Some(0);
    }
    for (blob, findings) in found.holding {
        for finding in findings {
            let row = &mut report.rules[finding.rule];
            *row.history_blobs.get_or_insert(0) += 1;
            if with_values {
                row.values.extend(finding.values.into_iter().map(|value| ValueAt {
                    file: format!("blob {blob}"),
                    value,
                }));
            }
        }
    }
    report.history_blobs_scanned = Some(found.blobs);
    Ok(())
}
