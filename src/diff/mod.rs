//! Semantic diff of a data repository: between two states (two commits, or a commit and a
//! dry run's overlay), what happened to each entity, relationship and author — created,
//! deleted, moved, or updated field by field — and the aggregate that reads in one screen.
//!
//! The engine walks the changed paths once, in order, and hands each document's change to a
//! sink as soon as it is known; it keeps only the [`Summary`] and, until the end, the IDs of
//! deleted documents (a later creation may turn one into a move). It knows nothing of
//! migrations or the command line.

pub mod document;
pub mod fields;
pub mod history;
pub mod personal;
pub mod range;
pub mod render;
pub mod source;
pub mod summary;

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use serde::Serialize;

pub use document::{DocChange, Status, VersionInfo};
pub use fields::{Change, FieldChange};
pub use source::{MapState, State, TreeState};
pub use summary::Summary;

use document::Doc;

/// What to report.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// List bookkeeping fields (`version_summary`, `updated_at`, `created_at`) per document
    /// instead of only counting them.
    pub all_fields: bool,
}

/// A whole diff held in memory: what `--json` previews carry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    pub summary: Summary,
    pub documents: Vec<DocChange>,
}

/// Diffs `paths` (repository-relative, each listed once) between `old` and `new`, handing
/// each document's change to `sink`, and returns the summary.
pub fn diff<I>(
    paths: I,
    old: &dyn State,
    new: &dyn State,
    options: &Options,
    sink: &mut dyn FnMut(DocChange) -> Result<()>,
) -> Result<Summary>
where
    I: IntoIterator<Item = Result<String>>,
{
    let mut summary = Summary::default();
    // Deleted documents by ID, and created ones that say they moved from an ID: paired at
    // the end, since either may come first in path order.
    let mut deleted: BTreeMap<String, String> = BTreeMap::new();
    let mut moved_in: Vec<(String, String)> = Vec::new();
    for path in paths {
        let path = path?;
        let before = old.read(&path)?;
        let after = new.read(&path)?;
        if document::document_kind(&path).is_none() {
            if document::version_number(&path).is_some() {
                summary.add_version(before.is_some(), after.is_some());
                // Only a redaction rewrites an earlier version: its snapshot is compared.
                if let (Some(a), Some(b)) = (&before, &after) {
                    if a != b {
                        let old = serde_json::from_slice(a)
                            .with_context(|| format!("{path} (old side) is not valid JSON"))?;
                        let new = serde_json::from_slice(b)
                            .with_context(|| format!("{path} (new side) is not valid JSON"))?;
                        personal::count(&mut summary.personal, Some(&old), Some(&new));
                    }
                }
            } else if before != after {
                summary.add_other(&path);
            }
            continue;
        }
        let before = before.map(|b| parse(&path, &b, "old")).transpose()?;
        let after = after.map(|b| parse(&path, &b, "new")).transpose()?;
        personal::count(
            &mut summary.personal,
            before.as_ref().map(|d| &d.value),
            after.as_ref().map(|d| &d.value),
        );
        let change = match (before, after) {
            (Some(a), Some(b)) => document::updated(&a, &b, options.all_fields),
            (Some(a), None) => {
                deleted.insert(a.id(), path);
                None
            }
            (None, Some(b)) => match b.moved_from() {
                Some(from) => {
                    moved_in.push((path, from));
                    None
                }
                None => Some(document::created(&b)),
            },
            (None, None) => None,
        };
        if let Some(change) = change {
            summary.add(&change);
            sink(change)?;
        }
    }
    for (path, from) in moved_in {
        let new_doc = read_doc(new, &path, "new")?;
        let change = match deleted.remove(&from) {
            Some(old_path) => {
                document::moved(&read_doc(old, &old_path, "old")?, &new_doc, options.all_fields)
            }
            // Moved from a document the range does not delete: an ordinary creation here.
            None => document::created(&new_doc),
        };
        summary.add(&change);
        sink(change)?;
    }
    for path in deleted.into_values() {
        let change = document::deleted(&read_doc(old, &path, "old")?);
        summary.add(&change);
        sink(change)?;
    }
    Ok(summary)
}

/// [`diff`] into memory.
pub fn collect<I>(paths: I, old: &dyn State, new: &dyn State, options: &Options) -> Result<Diff>
where
    I: IntoIterator<Item = Result<String>>,
{
    let mut documents = Vec::new();
    let summary = diff(paths, old, new, options, &mut |c| {
        documents.push(c);
        Ok(())
    })?;
    Ok(Diff { summary, documents })
}

fn parse(path: &str, bytes: &[u8], side: &str) -> Result<Doc> {
    Ok(Doc::parse(path, bytes)
        .with_context(|| format!("{path} ({side} side) is not valid JSON"))?
        .expect("only documents are parsed"))
}

fn read_doc(state: &dyn State, path: &str, side: &str) -> Result<Doc> {
    let bytes = state
        .read(path)?
        .with_context(|| format!("{path} vanished from the {side} side while diffing"))?;
    parse(path, &bytes, side)
}
