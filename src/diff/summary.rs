//! The aggregate of a diff, so a large change reads in one screen: per kind, how many
//! documents were created, deleted, moved and updated, and per field path how many
//! documents changed it, with a few sample before → after values. Its size depends on the
//! number of kinds and paths, not of documents.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::document::{DocChange, Status};
use super::fields::Change;
use super::personal::PersonalCounts;

/// Samples kept per field path and per kind.
pub const SAMPLES: usize = 3;

/// Everything a diff changed, counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Documents created, deleted, moved or updated.
    pub documents: usize,
    pub by_kind: BTreeMap<String, KindSummary>,
    /// Version files added / changed / deleted (reported per document, counted here).
    pub versions: FileCounts,
    /// Top-level bookkeeping field → documents whose field changed.
    pub bookkeeping: BTreeMap<String, usize>,
    /// Files that are not documents or versions (README, migration logs), sample paths.
    pub other_files: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_samples: Vec<String>,
    /// Policy path (`person: personal_details.father_name`) → what the change did to it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub personal: BTreeMap<String, PersonalCounts>,
}

/// Added, changed and deleted files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FileCounts {
    pub added: usize,
    pub changed: usize,
    pub deleted: usize,
}

/// What changed in one kind of document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindSummary {
    pub created: usize,
    pub deleted: usize,
    pub moved: usize,
    pub updated: usize,
    /// Field path → how many documents changed it, with samples.
    pub paths: BTreeMap<String, PathSummary>,
    /// A few IDs of created, deleted and moved documents, with names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<String>,
}

/// How one field path changed across documents.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PathSummary {
    /// Documents that changed this path.
    pub documents: usize,
    pub samples: Vec<Sample>,
}

/// One document's change at a path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub id: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl Summary {
    /// Counts one document's change.
    pub fn add(&mut self, change: &DocChange) {
        self.documents += 1;
        let kind = self.by_kind.entry(change.kind.clone()).or_default();
        match change.status {
            Status::Created => kind.created += 1,
            Status::Deleted => kind.deleted += 1,
            Status::Moved => kind.moved += 1,
            Status::Updated => kind.updated += 1,
        }
        if change.status != Status::Updated && kind.samples.len() < SAMPLES {
            let label = match (&change.name, &change.moved_from) {
                (_, Some(from)) => format!("{from} → {}", change.id),
                (Some(name), None) => format!("{} ({name})", change.id),
                (None, None) => change.id.clone(),
            };
            kind.samples.push(label);
        }
        let mut last = None;
        for field in &change.fields {
            // A path counts once per document even if a list gave it twice.
            if last == Some(&field.path) {
                continue;
            }
            last = Some(&field.path);
            let path = kind.paths.entry(field.path.clone()).or_default();
            path.documents += 1;
            if path.samples.len() < SAMPLES {
                let (old, new) = match &field.change {
                    Change::Added { new } => (None, Some(new.clone())),
                    Change::Removed { old } => (Some(old.clone()), None),
                    Change::Changed { old, new } => (Some(old.clone()), Some(new.clone())),
                };
                path.samples.push(Sample {
                    id: change.id.clone(),
                    old,
                    new,
                });
            }
        }
        for field in &change.bookkeeping {
            *self.bookkeeping.entry(field.clone()).or_default() += 1;
        }
    }

    /// Counts a version file.
    pub fn add_version(&mut self, old: bool, new: bool) {
        match (old, new) {
            (false, true) => self.versions.added += 1,
            (true, true) => self.versions.changed += 1,
            (true, false) => self.versions.deleted += 1,
            (false, false) => {}
        }
    }

    /// Counts a file that is neither a document nor a version.
    pub fn add_other(&mut self, path: &str) {
        self.other_files += 1;
        if self.other_samples.len() < SAMPLES {
            self.other_samples.push(path.to_string());
        }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.documents == 0 && self.versions == FileCounts::default() && self.other_files == 0
    }
}
