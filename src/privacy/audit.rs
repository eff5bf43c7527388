//! `nes db audit`: for each path of the privacy policy, how many documents and version
//! snapshots of the working tree hold a value (and, from history, how many distinct blobs).
//! Files are judged by content, so copies outside `v2/` are found too; values are kept
//! only when asked for.

use std::path::Path;

use anyhow::{Context as _, Result};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::store::privacy::{Place, Policy};

/// What the audit found for one policy rule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleAudit {
    /// `person: personal_details.father_name`.
    pub label: String,
    pub prefix: String,
    pub path: String,
    pub reason: String,
    /// Entity files holding a value.
    pub documents: usize,
    /// Version files whose snapshot holds a value.
    pub snapshots: usize,
    /// Distinct blobs reachable from any ref holding a value (`--history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_blobs: Option<usize>,
    /// The values, by file (`--show-values`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueAt>,
}

/// A value found, and where.
#[derive(Debug, Clone, Serialize)]
pub struct ValueAt {
    pub file: String,
    pub value: Value,
}

/// The whole audit.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    pub policy: String,
    pub rules: Vec<RuleAudit>,
    /// JSON files of the working tree read.
    pub files_scanned: usize,
    /// Distinct JSON blobs of history read (`--history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_blobs_scanned: Option<usize>,
    /// Files of the working tree that are not JSON but mention a policy field with a value
    /// (the Python tool's `changes.diff` logs): nes cannot redact them field by field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unstructured: Vec<String>,
    /// Whether values are collected (`--show-values`).
    #[serde(skip)]
    pub keep_values: bool,
}

impl AuditReport {
    /// An empty report, one row per rule of `policy`, collecting values if `keep_values`.
    pub fn new(policy: &Policy, source: &str, keep_values: bool) -> Self {
        AuditReport {
            policy: source.to_string(),
            rules: policy
                .rules
                .iter()
                .map(|r| RuleAudit {
                    label: r.label(),
                    prefix: r.prefix.clone(),
                    path: r.path.to_string(),
                    reason: r.reason.clone(),
                    ..RuleAudit::default()
                })
                .collect(),
            keep_values,
            ..AuditReport::default()
        }
    }

    /// Whether any document, snapshot or blob holds a value.
    pub fn found_any(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.documents + r.snapshots + r.history_blobs.unwrap_or(0) > 0)
    }
}

/// Scans every JSON file of the working tree at `root` (`.git` left out) on all cores,
/// calling `tick` once per file.
pub fn audit_worktree(
    root: &Path,
    policy: &Policy,
    report: &mut AuditReport,
    tick: &(dyn Fn() + Sync),
) -> Result<()> {
    let (files, others) = files(root)?;
    let show_values = report.keep_values;
    let all = policy.all();
    report.unstructured = others
        .par_iter()
        .map(|rel| {
            let bytes = std::fs::read(root.join(rel)).with_context(|| format!("reading {rel}"))?;
            Ok(policy.may_hold(&all, &bytes).then(|| rel.clone()))
        })
        .filter_map(Result::transpose)
        .collect::<Result<_>>()?;
    let found: Vec<(String, Vec<crate::store::privacy::Finding>)> = files
        .par_iter()
        .map(|rel| {
            tick();
            let bytes = std::fs::read(root.join(rel)).with_context(|| format!("reading {rel}"))?;
            let findings = policy
                .findings(&all, &bytes, show_values)
                .with_context(|| format!("{rel} is not valid JSON, and it may hold personal data"))?;
            Ok((rel.clone(), findings))
        })
        .filter(|r: &Result<_>| r.as_ref().map_or(true, |(_, f)| !f.is_empty()))
        .collect::<Result<_>>()?;
    report.files_scanned += files.len();
    for (file, findings) in found {
        for finding in findings {
            let row = &mut report.rules[finding.rule];
            match finding.place {
                Place::Document => row.documents += 1,
                Place::Snapshot => row.snapshots += 1,
            }
            row.values.extend(finding.values.into_iter().map(|value| ValueAt {
                file: file.clone(),
                value,
            }));
        }
    }
    Ok(())
}

/// Repository-relative paths of the files below `root`, sorted, outside `.git`: the `*.json`
/// ones, and the others.
fn files(root: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let (mut json, mut others) = (Vec::new(), Vec::new());
    let walk = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() != 1 || e.file_name() != ".git");
    for entry in walk {
        let entry = entry.with_context(|| format!("listing {}", root.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).expect("walk stays below root");
        let rel = rel.to_string_lossy().replace('\\', "/");
        if entry.path().extension().is_some_and(|e| e == "json") {
            json.push(rel);
        } else {
            others.push(rel);
        }
    }
    Ok((json, others))
}
