//! Batch commits built from the previous batch's tree, never from a full index rewrite.
//!
//! A data repository holds 100k-1M files. Staging through the index would rewrite the whole
//! index per batch; instead each batch's tree is the previous commit's tree with only the
//! batch's paths upserted or removed ([`git2::build::TreeUpdateBuilder`]), so a batch costs in
//! proportion to its own files and the directories above them. The index is brought in line
//! once, at the end, for the changed paths only.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _, Result};

use super::message::{batch_message, CommitMeta};
use super::repo::DataRepo;
use crate::error::NesError;

/// Above this many loose objects after a run, they are packed (see [`pack_loose_objects`]).
pub const LOOSE_OBJECTS_PACK_THRESHOLD: usize = 2_000;

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
/// `on_batch(i, n)` is called after each commit; `before_batch(i)` before (fault injection).
pub fn commit_batches(
    repo: &DataRepo,
    batches: &[Vec<FileChange>],
    meta: &CommitMeta,
    signature: &git2::Signature<'_>,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<Vec<git2::Oid>> {
    let total = batches.len();
    let oids = commit_batch_range(repo, batches, 1, total, meta, signature, on_batch)?;
    sync_index(repo, batches.iter().flatten())?;
    pack_after_run(repo, batches.iter().map(Vec::len).sum());
    Ok(oids)
}

/// Commits `batches` as batches `first..` of `total` (1-based), without touching the index:
/// `repair` uses it to finish a run whose first batches are already committed.
pub(crate) fn commit_batch_range(
    repo: &DataRepo,
    batches: &[Vec<FileChange>],
    first: usize,
    total: usize,
    meta: &CommitMeta,
    signature: &git2::Signature<'_>,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<Vec<git2::Oid>> {
    let mut oids = Vec::with_capacity(batches.len());
    for (offset, batch) in batches.iter().enumerate() {
        let number = first + offset;
        let message = batch_message(meta, number, total);
        let oid = commit_one(repo, batch, &message, signature)
            .with_context(|| format!("cannot commit batch {number}/{total} of {}", meta.migration))?;
        oids.push(oid);
        on_batch(number, total);
    }
    Ok(oids)
}

/// Commits one set of changes on top of HEAD (or as the root commit of an unborn branch).
/// With no changes this is an empty commit (what `mark-applied` records).
pub fn commit_one(
    repo: &DataRepo,
    changes: &[FileChange],
    message: &str,
    signature: &git2::Signature<'_>,
) -> Result<git2::Oid> {
    let git = repo.git();
    let parent = repo.head_commit()?;
    let base = match &parent {
        Some(commit) => commit.tree()?,
        None => git.find_tree(git.treebuilder(None)?.write()?)?,
    };
    let tree_id = updated_tree(repo, &base, changes)?;
    let tree = git.find_tree(tree_id)?;
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    // Updating "HEAD" moves the checked-out branch; libgit2 refuses if the branch no longer
    // points at `parent`, so a concurrent writer cannot be silently overwritten.
    Ok(git.commit(Some("HEAD"), signature, signature, message, &tree, &parents)?)
}

/// `base` with `changes` applied: blobs written from the working tree, paths upserted/removed.
fn updated_tree(repo: &DataRepo, base: &git2::Tree<'_>, changes: &[FileChange]) -> Result<git2::Oid> {
    let mut update = git2::build::TreeUpdateBuilder::new();
    for change in last_change_per_path(changes).into_values() {
        match change {
            FileChange::Write(path) => {
                let (oid, mode) = write_blob(repo, path)?;
                update.upsert(path.as_str(), oid, mode);
            }
            // libgit2 fails on removing an absent entry; deleting what HEAD lacks is a no-op.
            FileChange::Delete(path) => {
                if base.get_path(Path::new(path)).is_ok() {
                    update.remove(path.as_str());
                }
            }
        }
    }
    Ok(update.create_updated(repo.git(), base)?)
}

/// The last change of each path, in path order (a batch may touch a path twice).
fn last_change_per_path<'a, I>(changes: I) -> BTreeMap<&'a str, &'a FileChange>
where
    I: IntoIterator<Item = &'a FileChange>,
{
    changes.into_iter().map(|c| (c.path(), c)).collect()
}

/// Writes a working-tree file to the object database.
fn write_blob(repo: &DataRepo, path: &str) -> Result<(git2::Oid, git2::FileMode)> {
    let full = repo.root().join(path);
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
    Ok((repo.git().blob(&data)?, file_mode(&full)?))
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Result<git2::FileMode> {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = fs::metadata(path)?.permissions().mode() & 0o111 != 0;
    Ok(if executable {
        git2::FileMode::BlobExecutable
    } else {
        git2::FileMode::Blob
    })
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Result<git2::FileMode> {
    Ok(git2::FileMode::Blob)
}

/// Makes the index agree with HEAD for `changes`, with fresh stat data so `git status` stays
/// fast and clean; the index file is written once.
pub(crate) fn sync_index<'a, I>(repo: &DataRepo, changes: I) -> Result<()>
where
    I: IntoIterator<Item = &'a FileChange>,
{
    let mut index = repo.git().index()?;
    for change in last_change_per_path(changes).into_values() {
        let path = Path::new(change.path());
        match change {
            // Re-hashes the file (the blob already exists, so nothing new is stored) and records
            // its stat data: the entry then matches both HEAD and the working tree.
            FileChange::Write(_) => index.add_path(path)?,
            FileChange::Delete(_) => match index.remove_path(path) {
                Ok(()) => {}
                Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                Err(e) => return Err(e.into()),
            },
        }
    }
    index.write().context("cannot write the git index")?;
    Ok(())
}

/// Packs the run's loose objects when it wrote many: 100k loose files slow every later git
/// command and waste disk (one 4 KiB block per small object). Failure only warns: loose
/// objects are valid, and the commits are already made.
fn pack_after_run(repo: &DataRepo, files_written: usize) {
    if files_written < LOOSE_OBJECTS_PACK_THRESHOLD {
        return;
    }
    if let Err(e) = pack_loose_objects(repo, LOOSE_OBJECTS_PACK_THRESHOLD) {
        eprintln!(
            "warning: could not pack the new git objects ({e:#}); run `git -C {} repack -d`",
            repo.root().display()
        );
    }
}

/// Packs every loose object into one new pack and deletes the loose copies, when there are
/// more than `threshold`; returns how many were packed.
///
/// Why `git pack-objects` fed the loose object list: its cost is proportional to the loose
/// objects only, whereas `git repack -d` first walks all reachable history, and git2's
/// packbuilder needs the object list anyway while being slower at delta search. Listing
/// `objects/??/` is 256 small directory reads.
pub fn pack_loose_objects(repo: &DataRepo, threshold: usize) -> Result<usize> {
    // Linked worktrees keep their objects in the common directory.
    let objects = repo.git().commondir().join("objects");
    let loose = loose_objects(&objects)?;
    if loose.len() <= threshold {
        return Ok(0);
    }
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(repo.git_dir())
        .args(["pack-objects", "-q"])
        .arg(objects.join("pack").join("pack"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run `git pack-objects` (is git installed?)")?;
    {
        let mut stdin = child.stdin.take().context("no stdin for git pack-objects")?;
        let list: String = loose.iter().map(|oid| format!("{oid}\n")).collect();
        stdin.write_all(list.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "git pack-objects failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let status = Command::new("git")
        .arg("--git-dir")
        .arg(repo.git_dir())
        .args(["prune-packed", "-q"])
        .status()?;
    if !status.success() {
        bail!("git prune-packed failed");
    }
    Ok(loose.len())
}

/// Ids of the loose objects under `objects/`.
fn loose_objects(objects: &Path) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for byte in 0..=255u8 {
        let prefix = format!("{byte:02x}");
        let dir = match fs::read_dir(objects.join(&prefix)) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for entry in dir {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if name.len() == 38 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                ids.push(format!("{prefix}{name}"));
            }
        }
    }
    Ok(ids)
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
