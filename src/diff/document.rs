//! One document's change: what it is (entity, relationship, author), what happened to it,
//! the version it gained, and its field changes with the bookkeeping set apart.

use serde::Serialize;
use serde_json::Value;

use super::fields::{self, FieldChange};
use crate::store::layout::{self, FileKind};

/// Top-level fields every update rewrites: summarised, not listed, unless asked.
pub const BOOKKEEPING: [&str; 3] = ["version_summary", "updated_at", "created_at"];

/// What happened to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Deleted,
    Updated,
    /// Re-created under a new ID by `move_entity`; `moved_from` holds the old one.
    Moved,
}

impl Status {
    /// One-letter mark, as `git diff --name-status` prints.
    pub fn mark(self) -> char {
        match self {
            Status::Created => 'A',
            Status::Deleted => 'D',
            Status::Updated => 'M',
            Status::Moved => 'R',
        }
    }
}

/// The version a change wrote, as its `version_summary` tells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    pub number: u64,
    pub author: String,
    pub change: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

impl std::fmt::Display for VersionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "version {} ({}, {:?})", self.number, self.author, self.change)
    }
}

/// The change of one entity, relationship or author.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocChange {
    /// `entity:location/ward/x`, `relationship:…`, `author:x`.
    pub id: String,
    /// Repository-relative path (of the new document for moves).
    pub path: String,
    /// `entity/location/ward`, `relationship/MEMBER_OF`, `author`.
    pub kind: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// The primary English (else Nepali) name, or the author's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The version this change wrote (created, updated and moved objects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionInfo>,
    /// Field changes of updates and moves, bookkeeping left out unless asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// Top-level bookkeeping fields that changed (always counted, listed in `fields` only
    /// with `all_fields`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bookkeeping: Vec<String>,
}

/// A parsed document and what its path says about it.
pub struct Doc {
    pub path: String,
    pub file_kind: FileKind,
    pub value: Value,
}

impl Doc {
    /// Parses the document at a repository-relative `path`; `None` for non-documents
    /// (version files, logs, files outside `v2/`).
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Option<Doc>, serde_json::Error> {
        let Some(file_kind) = document_kind(path) else {
            return Ok(None);
        };
        let value = serde_json::from_slice(bytes)?;
        Ok(Some(Doc {
            path: path.to_string(),
            file_kind,
            value,
        }))
    }

    /// The document's ID: its version summary's, else the one its path spells.
    pub fn id(&self) -> String {
        if let Some(id) = self
            .value
            .pointer("/version_summary/entity_or_relationship_id")
            .and_then(Value::as_str)
        {
            return id.to_string();
        }
        id_from_path(&self.path)
    }

    /// `entity/location/ward`, `relationship/MEMBER_OF`, `author`.
    pub fn kind(&self) -> String {
        match self.file_kind {
            FileKind::Relationship => match self.value.get("type").and_then(Value::as_str) {
                Some(t) => format!("relationship/{t}"),
                None => "relationship".into(),
            },
            _ => kind_from_path(&self.path),
        }
    }

    /// The name a reader knows the document by.
    pub fn name(&self) -> Option<String> {
        let v = &self.value;
        if let Some(names) = v.get("names").and_then(Value::as_array) {
            let primary = names
                .iter()
                .find(|n| n.get("kind").and_then(Value::as_str) == Some("PRIMARY"))
                .or(names.first())?;
            return ["/en/full", "/ne/full"]
                .iter()
                .find_map(|p| primary.pointer(p).and_then(Value::as_str))
                .map(str::to_string);
        }
        v.get("name").and_then(Value::as_str).map(str::to_string)
    }

    /// The version its `version_summary` describes.
    pub fn version(&self) -> Option<VersionInfo> {
        let summary = self.value.get("version_summary")?;
        let author = summary.get("author");
        let author = author
            .and_then(|a| a.get("name").and_then(Value::as_str))
            .or_else(|| author.and_then(|a| a.get("slug").and_then(Value::as_str)))
            .unwrap_or("unknown author");
        Some(VersionInfo {
            number: summary.get("version_number")?.as_u64()?,
            author: author.to_string(),
            change: summary
                .get("change_description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            date: summary
                .get("created_at")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    /// The old ID in a `move_entity` change description (`… (moved from <old ID>)`).
    pub fn moved_from(&self) -> Option<String> {
        let change = self
            .value
            .pointer("/version_summary/change_description")?
            .as_str()?;
        let rest = change.strip_suffix(')')?;
        let at = rest.rfind("(moved from ")?;
        Some(rest[at + "(moved from ".len()..].to_string())
    }

    /// A change record without fields.
    fn change(&self, status: Status) -> DocChange {
        DocChange {
            id: self.id(),
            path: self.path.clone(),
            kind: self.kind(),
            status,
            moved_from: None,
            name: self.name(),
            version: None,
            fields: Vec::new(),
            bookkeeping: Vec::new(),
        }
    }
}

/// A created document.
pub fn created(new: &Doc) -> DocChange {
    DocChange {
        version: new.version(),
        ..new.change(Status::Created)
    }
}

/// A deleted document.
pub fn deleted(old: &Doc) -> DocChange {
    old.change(Status::Deleted)
}

/// An updated document (`None` when the two are equal as JSON, e.g. only reformatted).
pub fn updated(old: &Doc, new: &Doc, all_fields: bool) -> Option<DocChange> {
    let mut change = compared(old, new, all_fields, &[])?;
    change.status = Status::Updated;
    Some(change)
}

/// `old` moved to `new` by `move_entity`: the field changes besides the new ID.
pub fn moved(old: &Doc, new: &Doc, all_fields: bool) -> DocChange {
    let mut change = compared(old, new, all_fields, &["slug"]).unwrap_or_else(|| new.change(Status::Moved));
    change.status = Status::Moved;
    change.moved_from = Some(old.id());
    change.version = new.version();
    change
}

fn compared(old: &Doc, new: &Doc, all_fields: bool, implied: &[&str]) -> Option<DocChange> {
    let mut changes = fields::diff(&old.value, &new.value);
    if changes.is_empty() {
        return None;
    }
    super::personal::hide(&new.value, &mut changes);
    let mut record = new.change(Status::Updated);
    for c in changes {
        let top = c.top_field();
        if BOOKKEEPING.contains(&top) {
            if record.bookkeeping.last().map(String::as_str) != Some(top) {
                record.bookkeeping.push(top.to_string());
            }
            if !all_fields {
                continue;
            }
        } else if implied.contains(&top) {
            continue;
        }
        record.fields.push(c);
    }
    record.version = new.version().filter(|v| Some(v) != old.version().as_ref());
    Some(record)
}

/// The document kind of a repository-relative path, `None` for other files.
pub fn document_kind(path: &str) -> Option<FileKind> {
    let rel = path.strip_prefix(layout::DATA_DIR)?.strip_prefix('/')?;
    if !rel.ends_with(".json") {
        return None;
    }
    match layout::classify(rel) {
        kind @ (FileKind::Entity | FileKind::Relationship | FileKind::Author) => Some(kind),
        _ => None,
    }
}

/// `v2/entity/person/x.json` → `entity:person/x`; `v2/author/x.json` → `author:x`.
pub fn id_from_path(path: &str) -> String {
    let rel = path.strip_prefix("v2/").unwrap_or(path);
    let stem = rel.strip_suffix(".json").unwrap_or(rel);
    match stem.split_once('/') {
        Some((first, rest)) => format!("{first}:{rest}"),
        None => stem.to_string(),
    }
}

/// `v2/entity/location/ward/x.json` → `entity/location/ward`.
fn kind_from_path(path: &str) -> String {
    let rel = path.strip_prefix("v2/").unwrap_or(path);
    match rel.rsplit_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => rel.to_string(),
    }
}

/// The version number of a version file path (`v2/version/…/3.json` → 3).
pub fn version_number(path: &str) -> Option<u64> {
    let rel = path.strip_prefix("v2/version/")?;
    rel.rsplit_once('/')?.1.strip_suffix(".json")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(path: &str, value: Value) -> Doc {
        Doc {
            path: path.into(),
            file_kind: document_kind(path).unwrap(),
            value,
        }
    }

    #[test]
    fn update_sets_bookkeeping_apart() {
        let summary = |n: u64, c: &str| {
            json!({"author": {"name": "A", "slug": "a"}, "change_description": c, "version_number": n,
                   "entity_or_relationship_id": "entity:person/x"})
        };
        let old = doc(
            "v2/entity/person/x.json",
            json!({"names": [{"kind": "PRIMARY", "en": {"full": "X"}}], "version_summary": summary(1, "c1")}),
        );
        let new = doc(
            "v2/entity/person/x.json",
            json!({"names": [{"kind": "PRIMARY", "en": {"full": "Y"}}], "version_summary": summary(2, "fix")}),
        );
        let change = updated(&old, &new, false).unwrap();
        assert_eq!(change.id, "entity:person/x");
        assert_eq!(change.kind, "entity/person");
        assert_eq!(change.fields.len(), 1);
        assert_eq!(change.fields[0].path, "names[0].en.full");
        assert_eq!(change.bookkeeping, vec!["version_summary"]);
        assert_eq!(
            change.version.as_ref().unwrap().to_string(),
            "version 2 (A, \"fix\")"
        );
        let all = updated(&old, &new, true).unwrap();
        assert!(all.fields.len() > 1);
        assert!(updated(&old, &old, false).is_none());
    }

    #[test]
    fn paths_ids_and_moves() {
        assert_eq!(
            id_from_path("v2/entity/location/ward/a-1.json"),
            "entity:location/ward/a-1"
        );
        assert_eq!(id_from_path("v2/author/x.json"), "author:x");
        assert_eq!(document_kind("v2/version/entity/person/x/1.json"), None);
        assert_eq!(document_kind("README.md"), None);
        assert_eq!(version_number("v2/version/entity/person/x/12.json"), Some(12));
        let d = doc(
            "v2/entity/person/y.json",
            json!({"version_summary": {"change_description": "Merge (moved from entity:person/x)"}}),
        );
        assert_eq!(d.moved_from().as_deref(), Some("entity:person/x"));
    }
}
