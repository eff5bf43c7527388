//! The version chain of one entity or relationship: each version's number, date, author and
//! change description, the commit that wrote its file and the migration of that commit, and
//! optionally the field changes from the version before.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;
use serde_json::Value;

use super::document::BOOKKEEPING;
use super::fields::{self, FieldChange};
use super::range::migration_of;
use crate::git::repo::DataRepo;
use crate::store::id::ObjectId;
use crate::store::layout::repo_path;

/// One version of a document.
#[derive(Debug, Clone, Serialize)]
pub struct VersionEntry {
    pub number: u64,
    pub date: Option<String>,
    pub author: Option<String>,
    pub change: Option<String>,
    /// The commit that wrote this version file (hex), when history has it.
    pub commit: Option<String>,
    pub migration: Option<String>,
    /// Who made that commit when no migration did (`Name <email>`): a queue bot, a
    /// scraper, a maintainer's hand commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_writer: Option<String>,
    /// Field changes from the previous version's snapshot (with `-p`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<FieldChange>>,
}

/// A document's versions at HEAD, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub id: String,
    pub path: String,
    /// Whether the document itself is still there (a deleted one keeps its versions).
    pub exists: bool,
    pub versions: Vec<VersionEntry>,
}

/// Reads the history of `id` at HEAD of `repo`.
pub fn history(repo: &DataRepo, id: &ObjectId, with_changes: bool) -> Result<History> {
    let git = repo.git();
    let head = repo
        .head_commit()?
        .context("the data repository has no commits")?;
    let tree = head.tree()?;
    let path = repo_path(&id.rel_path());
    let version_dir = repo_path(&id.version_rel_path(1));
    let version_dir = version_dir
        .rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default();
    let exists = tree.get_path(Path::new(&path)).is_ok();
    let mut files: Vec<(u64, Value)> = Vec::new();
    if let Ok(entry) = tree.get_path(Path::new(&version_dir)) {
        let dir = git
            .find_tree(entry.id())
            .with_context(|| format!("{version_dir} is not a directory"))?;
        for e in dir.iter() {
            let Some(number) = e
                .name()
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let blob = git.find_blob(e.id())?;
            let value = serde_json::from_slice(blob.content())
                .with_context(|| format!("{version_dir}/{number}.json is not valid JSON"))?;
            files.push((number, value));
        }
    }
    files.sort_by_key(|(n, _)| *n);
    let writers = writers(repo, &version_dir)?;
    let mut versions = Vec::with_capacity(files.len());
    for (i, (number, value)) in files.iter().enumerate() {
        let text = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_string);
        let (commit, migration, other_writer) = match writers.get(&format!("{number}.json")) {
            Some(w) => (Some(w.commit.clone()), w.migration.clone(), w.other.clone()),
            None => (None, None, None),
        };
        let changes = (with_changes && i > 0).then(|| {
            let (before, after) = (content(&files[i - 1].1), content(value));
            let mut changes = fields::diff(&before, &after);
            super::personal::hide(&after, &mut changes);
            changes
        });
        versions.push(VersionEntry {
            number: *number,
            date: text("/created_at"),
            author: text("/author/name").or_else(|| text("/author/slug")),
            change: text("/change_description"),
            commit,
            migration,
            other_writer,
            changes,
        });
    }
    Ok(History {
        id: id.to_string(),
        path,
        exists,
        versions,
    })
}

/// A version's snapshot without what every version rewrites (and the computed `id`).
fn content(version: &Value) -> Value {
    let mut snapshot = version.get("snapshot").cloned().unwrap_or(Value::Null);
    if let Some(map) = snapshot.as_object_mut() {
        for key in BOOKKEEPING.iter().chain(&["id"]) {
            map.remove(*key);
        }
    }
    snapshot
}

/// The commit that wrote a file, and the migration that made it or else who did.
#[derive(Clone)]
struct Writer {
    commit: String,
    migration: Option<String>,
    other: Option<String>,
}

/// For each file in `dir` at HEAD, the commit (first-parent history) that last wrote it
/// and that commit's migration.
fn writers(repo: &DataRepo, dir: &str) -> Result<HashMap<String, Writer>> {
    let git = repo.git();
    let mut walk = git.revwalk()?;
    walk.push_head()?;
    walk.simplify_first_parent()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
    let mut last_dir: Option<git2::Oid> = None;
    let mut files: HashMap<String, (git2::Oid, Writer)> = HashMap::new();
    for oid in walk {
        let commit = git.find_commit(oid?)?;
        let now = commit.tree()?.get_path(Path::new(dir)).ok().map(|e| e.id());
        if now == last_dir {
            continue;
        }
        last_dir = now;
        let Some(tree) = now.and_then(|t| git.find_tree(t).ok()) else {
            files.clear();
            continue;
        };
        let mut seen = std::collections::HashSet::new();
        let mut writer: Option<Writer> = None;
        for e in tree.iter() {
            let Some(name) = e.name() else { continue };
            seen.insert(name.to_string());
            if files.get(name).map(|f| f.0) != Some(e.id()) {
                if writer.is_none() {
                    let migration = migration_of(git, &commit)?;
                    let author = commit.author();
                    let other = migration.is_none().then(|| {
                        format!(
                            "{} <{}>",
                            author.name().unwrap_or("?"),
                            author.email().unwrap_or("?")
                        )
                    });
                    writer = Some(Writer {
                        commit: commit.id().to_string(),
                        migration,
                        other,
                    });
                }
                files.insert(name.to_string(), (e.id(), writer.clone().expect("set above")));
            }
        }
        files.retain(|name, _| seen.contains(name));
    }
    Ok(files.into_iter().map(|(name, (_, w))| (name, w)).collect())
}
