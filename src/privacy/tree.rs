//! Raw tree objects as history scans read them: their entries without building git2 tree
//! objects, and the `.json` blobs below a tree, each tree read once.

use std::collections::HashSet;

use anyhow::{bail, Context as _, Result};
use git2::Oid;

/// Mode of a subdirectory in a raw tree (git writes it without a leading zero).
const TREE_MODE: &[u8] = b"40000";
/// Mode of a gitlink (a submodule's commit): not an object of this repository.
const GITLINK_MODE: &[u8] = b"160000";

/// What an entry of a tree points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Tree,
    Gitlink,
    Blob,
}

/// One entry of a raw tree: its kind, its name and where its 20-byte id is in the tree.
pub struct TreeEntry<'a> {
    pub kind: EntryKind,
    pub name: &'a [u8],
    pub id: Oid,
    /// Offset of the id's bytes in the tree.
    pub id_at: usize,
}

/// The entries of a raw tree object, in order.
pub fn tree_entries(data: &[u8]) -> Result<Vec<TreeEntry<'_>>> {
    let mut entries = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let space = memchr::memchr(b' ', &data[at..]).context("a tree entry has no mode")? + at;
        let nul = memchr::memchr(0, &data[space..]).context("a tree entry has no name")? + space;
        let id_at = nul + 1;
        let Some(id) = data.get(id_at..id_at + 20) else {
            bail!("a tree entry's id is cut short");
        };
        let mode = &data[at..space];
        let kind = match mode {
            TREE_MODE => EntryKind::Tree,
            GITLINK_MODE => EntryKind::Gitlink,
            _ => EntryKind::Blob,
        };
        entries.push(TreeEntry {
            kind,
            name: &data[space + 1..nul],
            id: Oid::from_bytes(id)?,
            id_at,
        });
        at = id_at + 20;
    }
    Ok(entries)
}

/// Adds the `.json` blobs below `tree` to `blobs`, reading each tree not seen yet.
pub fn json_blobs(
    odb: &git2::Odb<'_>,
    tree: Oid,
    seen: &mut HashSet<Oid>,
    blobs: &mut HashSet<Oid>,
) -> Result<()> {
    if !seen.insert(tree) {
        return Ok(());
    }
    let raw = odb.read(tree)?;
    for entry in tree_entries(raw.data()).with_context(|| format!("tree {tree} is damaged"))? {
        match entry.kind {
            EntryKind::Tree => json_blobs(odb, entry.id, seen, blobs)?,
            EntryKind::Blob if entry.name.ends_with(b".json") => {
                blobs.insert(entry.id);
            }
            _ => {}
        }
    }
    Ok(())
}
