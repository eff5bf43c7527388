//! `nes db remap-pointer`: after a purge, moves the parent (tool) repository's gitlink of
//! the data repository from the old commit to its rewritten one, through the commit map.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use git2::Oid;

use crate::error::NesError;
use crate::git::submodule::ParentRepo;

/// What the pointer was and became (`None`: it already pointed at the purged history).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Remapped {
    /// The gitlink's path in the parent, `database-repo`.
    pub path: String,
    pub old: String,
    pub new: String,
    /// The parent's new commit, when one was made.
    pub commit: Option<String>,
}

/// Stages and commits the gitlink of `data_repo` in the repository containing it, mapped
/// through `map`. Refuses a gitlink the map does not know; does nothing when the gitlink is
/// already a rewritten commit.
/// The commit's identity is the parent's git config, else `nes <nes@localhost>`.
pub fn remap_pointer(data_repo: &Path, map: &HashMap<Oid, Oid>) -> Result<Remapped> {
    let ParentRepo {
        git: parent,
        workdir,
        rel,
        ..
    } = ParentRepo::of(data_repo)?;
    let mut index = parent.index()?;
    let Some(mut entry) = index.get_path(Path::new(&rel), 0).filter(|e| e.mode == 0o160000) else {
        return Err(NesError::usage(format!("{rel} is not a submodule of {}", workdir.display()))
            .hint("nothing to remap: only a parent that records the data repository as a gitlink has a pointer")
            .into());
    };
    let old = entry.id;
    let Some(&new) = map.get(&old) else {
        if map.values().any(|v| *v == old) {
            return Ok(Remapped {
                path: rel,
                old: old.to_string(),
                new: old.to_string(),
                commit: None,
            });
        }
        return Err(NesError::failed(format!(
            "the parent's pointer {rel} is at {old}, a commit the commit map does not list"
        ))
        .hint("the map is of another purge, or the pointer names a commit no ref reached; check it with `git submodule status`")
        .into());
    };
    if new == old {
        return Ok(Remapped {
            path: rel,
            old: old.to_string(),
            new: new.to_string(),
            commit: None,
        });
    }
    entry.id = new;
    index.add(&entry)?;
    index.write()?;
    let tree = parent.find_tree(index.write_tree()?)?;
    let head = parent.head()?.peel_to_commit()?;
    let message = format!(
        "Point {rel} at the purged history\n\n`nes db purge-history` rewrote the data repository's history; \
         {old} is now {new}.\n"
    );
    let signature = parent
        .signature()
        .or_else(|_| git2::Signature::now("nes", "nes@localhost"))?;
    let commit = parent.commit(Some("HEAD"), &signature, &signature, &message, &tree, &[&head])?;
    Ok(Remapped {
        path: rel,
        old: old.to_string(),
        new: new.to_string(),
        commit: Some(commit.to_string()),
    })
}
