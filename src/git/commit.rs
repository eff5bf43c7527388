//! Batch commits built from the previous batch's tree, never from a full index rewrite.
//!
//! A data repository holds 100k-1M files. Staging through the index would rewrite the whole
//! index per batch; instead each batch's tree is the previous commit's tree with only the
//! batch's paths upserted or removed ([`git2::build::TreeUpdateBuilder`]), so a batch costs in
//! proportion to its own files and the directories above them. Each batch's objects are
//! published as one pack before the branch moves ([`super::packed`]). The index is brought in
//! line once, at the end, for the changed paths only ([`super::index`]).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};
use rayon::prelude::*;

use super::index::{sync_index, BlobIds};
use super::lookup::TreeLookup;
use super::message::{batch_message, CommitMeta};
use super::pack_file::RawObject;
use super::packed::with_packed_writes;
use super::repo::DataRepo;
use crate::error::NesError;

/// A change to one repository-relative path, already made in the working tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// The file was created or rewritten; its content is read from the working tree.
    Write(String),
    /// The file was removed.
    Delete(String),
}

impl FileChange {
    /// The repository-relative path.
    pub fn path(&self) -> &str {
        match self {
            FileChange::Write(p) | FileChange::Delete(p) => p,
        }
    }
}

/// Splits units (files that must land together, e.g. an object and its new version) into
/// batches of at most `batch_size` files, in order; a unit larger than the limit is a batch alone.
pub fn plan_batches(units: &[Vec<FileChange>], batch_size: usize) -> Vec<Vec<FileChange>> {
    let batch_size = batch_size.max(1);
    let mut batches = Vec::new();
    let mut current: Vec<FileChange> = Vec::new();
    for unit in units.iter().filter(|u| !u.is_empty()) {
        if !current.is_empty() && current.len() + unit.len() > batch_size {
            batches.push(std::mem::take(&mut current));
        }
        current.extend(unit.iter().cloned());
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Commits `batches` on the checked-out branch, one commit each with
/// [`super::message::batch_message`], then brings the index in line with HEAD.
/// `on_batch(i, n)` is called after each commit is durable and the branch points at it.
pub fn commit_batches(
    repo: &DataRepo,
    batches: &[Vec<FileChange>],
    meta: &CommitMeta,
    signature: &git2::Signature<'_>,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<Vec<git2::Oid>> {
    let total = batches.len();
    if total == 0 {
        return Ok(Vec::new());
    }
    let mut blob_ids = BlobIds::new();
    let oids = commit_batch_range(repo, batches, 1, total, meta, signature, &mut blob_ids, on_batch)?;
    sync_index(repo, batches.iter().flatten(), &blob_ids)?;
    consolidate_packs(repo);
    Ok(oids)
}

/// Commits `batches` as batches `first..` of `total` (1-based), without touching the index:
/// `repair` uses it to finish a run whose first batches are already committed. The blob id
/// of every written path is added to `blob_ids`, for the index sync that follows.
#[allow(clippy::too_many_arguments)]
pub fn commit_batch_range(
    repo: &DataRepo,
    batches: &[Vec<FileChange>],
    first: usize,
    total: usize,
    meta: &CommitMeta,
    signature: &git2::Signature<'_>,
    blob_ids: &mut BlobIds,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<Vec<git2::Oid>> {
    let branch = format!("refs/heads/{}", repo.branch()?);
    let mut parent = repo.head_commit()?.map(|c| c.id());
    with_packed_writes(repo.git_dir(), |writes| {
        let git = writes.git();
        let mut oids = Vec::with_capacity(batches.len());
        for (offset, batch) in batches.iter().enumerate() {
            let number = first + offset;
            let message = batch_message(meta, number, total);
            let oid = commit_tree_update(repo, git, parent, batch, &message, signature, blob_ids)
                .and_then(|new| {
                    let log = reflog_message(parent, &message);
                    writes.publish(new.blobs, &new.objects, &branch, parent, new.commit, &log)?;
                    Ok(new.commit)
                })
                .with_context(|| format!("cannot commit batch {number}/{total} of {}", meta.migration))?;
            parent = Some(oid);
            oids.push(oid);
            on_batch(number, total);
        }
        Ok(oids)
    })
}

/// Commits one set of changes on top of HEAD (or as the root commit of an unborn branch),
/// as loose objects: meant for a few files. With no changes this is an empty commit (what
/// `mark-applied` records).
pub fn commit_one(
    repo: &DataRepo,
    changes: &[FileChange],
    message: &str,
    signature: &git2::Signature<'_>,
) -> Result<git2::Oid> {
    let branch = format!("refs/heads/{}", repo.branch()?);
    let parent = repo.head_commit()?.map(|c| c.id());
    let git = repo.git();
    let new = commit_tree_update(
        repo,
        git,
        parent,
        changes,
        message,
        signature,
        &mut BlobIds::new(),
    )?;
    let odb = git.odb()?;
    for blob in &new.blobs {
        odb.write(git2::ObjectType::Blob, &blob.data)?;
    }
    move_branch(git, &branch, parent, new.commit, &reflog_message(parent, message))?;
    Ok(new.commit)
}

/// Moves `branch` (a full ref name) from `old` to `new`; fails without moving it when the
/// branch is no longer at `old`, so a concurrent writer is never overwritten.
pub(crate) fn move_branch(
    git: &git2::Repository,
    branch: &str,
    old: Option<git2::Oid>,
    new: git2::Oid,
    log: &str,
) -> Result<()> {
    match old {
        Some(old) => git.reference_matching(branch, new, true, old, log),
        None => git.reference(branch, new, false, log),
    }
    .with_context(|| format!("cannot move {branch} to the new commit (did another process change it?)"))?;
    Ok(())
}

/// What git itself writes to the reflog for a commit.
fn reflog_message(parent: Option<git2::Oid>, message: &str) -> String {
    let subject = message.lines().next().unwrap_or_default();
    match parent {
        Some(_) => format!("commit: {subject}"),
        None => format!("commit (initial): {subject}"),
    }
}

/// Trees (and commits) a commit created in the object database.
type NewObjects = Vec<git2::Oid>;

/// A commit made by [`commit_tree_update`], not yet on any branch.
struct NewCommit {
    commit: git2::Oid,
    /// The commit and the trees it created, in the object database of the handle.
    objects: NewObjects,
    /// The blobs of its written files, hashed but not stored anywhere yet.
    blobs: Vec<RawObject>,
}

/// Writes the commit of `changes` on top of `parent` through `git`, without moving any ref.
/// Its trees and the commit are written to `git`'s object database; its blobs are returned
/// for the caller to store (the tree refers to them by id).
fn commit_tree_update(
    repo: &DataRepo,
    git: &git2::Repository,
    parent: Option<git2::Oid>,
    changes: &[FileChange],
    message: &str,
    signature: &git2::Signature<'_>,
    blob_ids: &mut BlobIds,
) -> Result<NewCommit> {
    let parent = parent.map(|id| git.find_commit(id)).transpose()?;
    let base = match &parent {
        Some(commit) => commit.tree()?,
        None => git.find_tree(git.treebuilder(None)?.write()?)?,
    };
    let mut blobs = Vec::new();
    let tree_id = updated_tree(repo.root(), git, &base, changes, blob_ids, &mut blobs)?;
    let tree = git.find_tree(tree_id)?;
    let mut objects = changed_trees(git, &tree, changes)?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let commit = git.commit(None, signature, signature, message, &tree, &parents)?;
    objects.push(commit);
    Ok(NewCommit {
        commit,
        objects,
        blobs,
    })
}

/// The trees of `root` on the way to every changed path (those a tree update rewrote),
/// root included. Each tree is read once: a batch may touch a thousand directories below
/// one directory of a million entries.
fn changed_trees(
    git: &git2::Repository,
    root: &git2::Tree<'_>,
    changes: &[FileChange],
) -> Result<NewObjects> {
    let mut dirs = std::collections::BTreeSet::new();
    for change in changes {
        let mut path = change.path();
        while let Some((dir, _)) = path.rsplit_once('/') {
            if !dirs.insert(dir) {
                break;
            }
            path = dir;
        }
    }
    let mut trees: NewObjects = vec![root.id()];
    collect_subtrees(git, root, "", &dirs, &mut trees)?;
    Ok(trees)
}

/// Adds the trees of `dirs` directly below `prefix` (the directory `tree` is) and, recursively,
/// theirs.
fn collect_subtrees(
    git: &git2::Repository,
    tree: &git2::Tree<'_>,
    prefix: &str,
    dirs: &std::collections::BTreeSet<&str>,
    out: &mut NewObjects,
) -> Result<()> {
    let start = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let children = dirs
        .range::<str, _>((
            std::ops::Bound::Excluded(start.as_str()),
            std::ops::Bound::Unbounded,
        ))
        .take_while(|d| d.starts_with(&start))
        .filter(|d| !d[start.len()..].contains('/'));
    for dir in children {
        // A directory whose files were all deleted is gone from the new tree.
        let Some(entry) = tree.get_name(&dir[start.len()..]) else {
            continue;
        };
        if entry.kind() != Some(git2::ObjectType::Tree) {
            continue;
        }
        out.push(entry.id());
        let below = format!("{dir}/");
        let has_children = dirs
            .range::<&str, _>(below.as_str()..)
            .next()
            .is_some_and(|d| d.starts_with(&below));
        if has_children {
            let subtree = git.find_tree(entry.id())?;
            collect_subtrees(git, &subtree, dir, dirs, out)?;
        }
    }
    Ok(())
}

/// `base` with `changes` applied: paths upserted/removed, the blobs of written files
/// hashed (on every core) and added to `blobs`, once per distinct content.
fn updated_tree(
    root: &Path,
    git: &git2::Repository,
    base: &git2::Tree<'_>,
    changes: &[FileChange],
    blob_ids: &mut BlobIds,
    blobs: &mut Vec<RawObject>,
) -> Result<git2::Oid> {
    let changes = last_change_per_path(changes);
    let written: Vec<&str> = changes
        .values()
        .filter_map(|c| match c {
            FileChange::Write(path) => Some(path.as_str()),
            FileChange::Delete(_) => None,
        })
        .collect();
    let mut read: Vec<Option<(git2::Oid, git2::FileMode, Vec<u8>)>> = written
        .par_iter()
        .map(|path| read_blob(root, path).map(Some))
        .collect::<Result<_>>()?;
    let mut read = read.iter_mut();
    let mut update = git2::build::TreeUpdateBuilder::new();
    let mut base_lookup = TreeLookup::new(git, Some(base.clone()));
    let mut seen = HashSet::new();
    for change in changes.into_values() {
        match change {
            FileChange::Write(path) => {
                let (oid, mode, data) = read.next().and_then(Option::take).expect("one read per write");
                update.upsert(path.as_str(), oid, mode);
                blob_ids.insert(path.clone(), oid);
                if seen.insert(oid) {
                    blobs.push(RawObject {
                        id: oid,
                        kind: git2::ObjectType::Blob,
                        data,
                    });
                }
            }
            // libgit2 fails on removing an absent entry; deleting what HEAD lacks is a no-op.
            FileChange::Delete(path) => {
                if base_lookup.entry(path)?.is_some() {
                    update.remove(path.as_str());
                }
                blob_ids.remove(path);
            }
        }
    }
    Ok(update.create_updated(git, base)?)
}

/// The last change of each path, in path order (a batch may touch a path twice).
pub(crate) fn last_change_per_path<'a, I>(changes: I) -> BTreeMap<&'a str, &'a FileChange>
where
    I: IntoIterator<Item = &'a FileChange>,
{
    changes.into_iter().map(|c| (c.path(), c)).collect()
}

/// Reads a working-tree file and its blob id, byte for byte (no filters: the data
/// repository's files are committed exactly as the publication API wrote them).
fn read_blob(root: &Path, path: &str) -> Result<(git2::Oid, git2::FileMode, Vec<u8>)> {
    let full = root.join(path);
    let data =
        match fs::read(&full) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(NesError::failed(format!(
                "{path} was planned as written but is missing from the working tree"
            ))
            .hint("the working tree changed during the run; restore it with `nes migrate repair --rollback`")
            .into()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", full.display())),
        };
    let mode = file_mode(&fs::metadata(&full)?);
    Ok((git2::Oid::hash_object(git2::ObjectType::Blob, &data)?, mode, data))
}

/// The git mode of a working-tree file.
#[cfg(unix)]
pub(crate) fn file_mode(metadata: &fs::Metadata) -> git2::FileMode {
    use std::os::unix::fs::PermissionsExt as _;
    if metadata.permissions().mode() & 0o111 != 0 {
        git2::FileMode::BlobExecutable
    } else {
        git2::FileMode::Blob
    }
}

#[cfg(not(unix))]
pub(crate) fn file_mode(_metadata: &fs::Metadata) -> git2::FileMode {
    git2::FileMode::Blob
}

/// Folds the run's small packs into bigger ones once there are many, as
/// `git repack -d --geometric=2` (git 2.32+): each batch publishes a pack of its own, and
/// hundreds of packs would slow every object lookup. Geometric repacking rewrites only the
/// small packs, never the repository's big base pack, so its cost follows the new data.
/// Failure only warns: the packs are valid as they are.
pub fn consolidate_packs(repo: &DataRepo) {
    let packs = match count_packs(repo) {
        Ok(n) => n,
        Err(_) => return,
    };
    if packs <= PACKS_BEFORE_REPACK {
        return;
    }
    let result = Command::new("git")
        .arg("--git-dir")
        .arg(repo.git_dir())
        // With git's defaults (a 256 MiB delta cache, packs mapped up to 8 GiB) this child was
        // the largest process of a 100k-entity run (866 MB); these bound it.
        .args(REPACK_MEMORY_LIMITS.iter().flat_map(|kv| ["-c", kv]))
        .args(["repack", "-d", "-q", "--geometric=2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let problem = match result {
        Ok(out) if out.status.success() => return,
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        Err(e) => e.to_string(),
    };
    eprintln!(
        "warning: could not combine the {packs} pack files of the data repository ({problem}); \
         run `git -C {} repack -d --geometric=2`",
        repo.root().display()
    );
}

/// `git -c` settings bounding the memory of the repack in [`consolidate_packs`].
const REPACK_MEMORY_LIMITS: [&str; 4] = [
    "pack.deltaCacheSize=32m",
    "pack.windowMemory=64m",
    "core.packedGitWindowSize=16m",
    "core.packedGitLimit=64m",
];

/// Above this many pack files, [`consolidate_packs`] combines them.
pub const PACKS_BEFORE_REPACK: usize = 32;

/// Number of pack files in the repository's object store.
pub fn count_packs(repo: &DataRepo) -> Result<usize> {
    // Linked worktrees keep their objects in the common directory.
    let dir = repo.git().commondir().join("objects").join("pack");
    let mut n = 0;
    for entry in fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
        if entry?.path().extension().is_some_and(|e| e == "pack") {
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(n: usize) -> Vec<FileChange> {
        (0..n).map(|i| FileChange::Write(format!("f{i}"))).collect()
    }

    #[test]
    fn units_are_never_split() {
        let batches = plan_batches(&[unit(2), unit(2), unit(2)], 5);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 2]);
    }

    #[test]
    fn oversized_unit_is_alone() {
        let batches = plan_batches(&[unit(1), unit(7), unit(1)], 5);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 7, 1]);
    }

    #[test]
    fn exact_fill() {
        let units: Vec<_> = (0..1250).map(|_| unit(2)).collect();
        let batches = plan_batches(&units, 1000);
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1000, 1000, 500]
        );
    }

    #[test]
    fn empty_plan() {
        assert!(plan_batches(&[], 10).is_empty());
        assert!(plan_batches(&[vec![]], 10).is_empty());
    }
}
