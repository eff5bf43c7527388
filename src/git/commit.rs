//! Batch commits built from the previous batch's tree, never from a full index rewrite.
//!
//! A data repository holds 100k-1M files. Staging through the index would rewrite the whole
//! index per batch; instead the run's tree is edited in memory ([`super::plumbing::tree_edit`]) with
//! only each batch's paths upserted or removed, so a batch costs in proportion to its own
//! files and the directories above them. Each batch's objects are hashed here and added to
//! the run's one pack ([`super::plumbing::pack_file`]), which is complete and durable before the
//! branch moves. The index is brought in line
//! once, at the end, for the changed paths only ([`super::index`]).

use std::cell::RefCell;
use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};
use rayon::prelude::*;

pub use super::change::FileChange;
use super::change::{file_mode, last_change_per_path};
use super::index::{sync_index, BlobIds};
use super::message::{batch_message, CommitMeta};
use super::plumbing::blob_spill::BlobSpill;
use super::plumbing::object_id::{blob_id, object_id};
use super::plumbing::pack_file::{EncodedEntry, PackWriter, RawObject};
use super::plumbing::tree_delta::TreeDelta;
use super::plumbing::tree_edit::TreeEditor;
use super::ref_update::Expect;
use super::repo::DataRepo;
use crate::error::NesError;

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
///
/// [`prepare_batches`], then [`PreparedBatches::publish`].
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
    prepare_batches(
        repo,
        batches,
        first,
        total,
        meta,
        signature,
        blob_ids,
        None,
        &mut |_, _| {},
    )?
    .publish(repo, on_batch)
}

/// Batch commits whose objects are written, in one pack, but which no branch points at
/// yet: until [`PreparedBatches::publish`], history is as it was.
pub struct PreparedBatches {
    migration: String,
    /// The branch's commit they were built on.
    base: Option<git2::Oid>,
    /// Each batch's commit, its number and its message, in order.
    commits: Vec<(git2::Oid, usize, String)>,
    total: usize,
    /// The pack holding their objects (none without batches).
    pack: Option<std::path::PathBuf>,
}

/// Builds the commits of `batches` (batches `first..` of `total`, 1-based) on HEAD and
/// writes their objects as one pack ([`super::plumbing::pack_file`]), leaving the branch where it
/// is. Blobs the run's `spill` holds are copied from it instead of read, hashed and
/// compressed. `on_built(i, n)` is called after each batch's objects are written; on
/// failure no pack is left.
#[allow(clippy::too_many_arguments)]
pub fn prepare_batches(
    repo: &DataRepo,
    batches: &[Vec<FileChange>],
    first: usize,
    total: usize,
    meta: &CommitMeta,
    signature: &git2::Signature<'_>,
    blob_ids: &mut BlobIds,
    spill: Option<&BlobSpill>,
    on_built: &mut dyn FnMut(usize, usize),
) -> Result<PreparedBatches> {
    let git = repo.git();
    let head = repo.head_commit()?;
    let base = head.as_ref().map(|c| c.id());
    if batches.is_empty() {
        return Ok(PreparedBatches {
            migration: meta.migration.clone(),
            base,
            commits: Vec::new(),
            total,
            pack: None,
        });
    }
    let pack = RefCell::new(PackWriter::create(&git.commondir().join("objects").join("pack"))?);
    let mut editor = TreeEditor::new(git, head.map(|c| c.tree_id()))?.reading_from(&pack);
    let mut commits = Vec::with_capacity(batches.len());
    let mut parent = base;
    for (offset, batch) in batches.iter().enumerate() {
        let number = first + offset;
        let message = batch_message(meta, number, total);
        let oid = build_commit(
            repo.root(),
            &mut editor,
            parent,
            batch,
            &message,
            signature,
            blob_ids,
            spill,
        )
        .and_then(|new| {
            pack.borrow_mut().add(&new.objects, &new.ready, &new.deltas)?;
            Ok(new.id)
        })
        .with_context(|| format!("cannot commit batch {number}/{total} of {}", meta.migration))?;
        parent = Some(oid);
        commits.push((oid, number, message));
        on_built(number, total);
    }
    drop(editor);
    crate::fault::step(|| format!("write, sync and rename the pack of {} into place", meta.migration));
    let pack = pack
        .into_inner()
        .finish()
        .with_context(|| format!("cannot write the pack of {}", meta.migration))?;
    Ok(PreparedBatches {
        migration: meta.migration.clone(),
        base,
        commits,
        total,
        pack: Some(pack),
    })
}

impl PreparedBatches {
    /// Moves the checked-out branch through the commits, one batch at a time (each a
    /// reflog entry, as git makes). Fails without moving when the branch is no longer
    /// where they were built. `on_batch(i, n)` is called after each move.
    pub fn publish(self, repo: &DataRepo, on_batch: &mut dyn FnMut(usize, usize)) -> Result<Vec<git2::Oid>> {
        let git = repo.git();
        let branch = format!("refs/heads/{}", repo.branch()?);
        let mut parent = self.base;
        let mut oids = Vec::with_capacity(self.commits.len());
        for (oid, number, message) in &self.commits {
            move_branch(git, &branch, parent, *oid, &reflog_message(parent, message)).with_context(|| {
                format!(
                    "cannot commit batch {number}/{} of {}",
                    self.total, self.migration
                )
            })?;
            parent = Some(*oid);
            oids.push(*oid);
            on_batch(*number, self.total);
        }
        Ok(oids)
    }

    /// Removes the pack, for a run that will not be recorded: nothing refers to its
    /// objects. A pack that cannot be removed is left for `git gc`.
    pub fn discard(self) {
        if let Some(pack) = &self.pack {
            let _ = fs::remove_file(pack.with_extension("idx"));
            let _ = fs::remove_file(pack);
        }
    }
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
    let git = repo.git();
    let branch = format!("refs/heads/{}", repo.branch()?);
    let head = repo.head_commit()?;
    let parent = head.as_ref().map(|c| c.id());
    let mut editor = TreeEditor::new(git, head.map(|c| c.tree_id()))?;
    let new = build_commit(
        repo.root(),
        &mut editor,
        parent,
        changes,
        message,
        signature,
        &mut BlobIds::new(),
        None,
    )?;
    let odb = git.odb()?;
    for object in &new.objects {
        let stored = odb.write(object.kind, &object.data)?;
        anyhow::ensure!(stored == object.id, "object {} was stored as {stored}", object.id);
    }
    move_branch(git, &branch, parent, new.id, &reflog_message(parent, message))?;
    Ok(new.id)
}

/// Moves `branch` (a full ref name) from `old` to `new`; fails without moving it when the
/// branch is no longer at `old`, so a concurrent writer is never overwritten. Written by
/// [`super::ref_update`], whose lock a crash never leaves unprovable.
pub(crate) fn move_branch(
    git: &git2::Repository,
    branch: &str,
    old: Option<git2::Oid>,
    new: git2::Oid,
    log: &str,
) -> Result<()> {
    let expect = old.map_or(Expect::Absent, Expect::At);
    super::ref_update::update(git, branch, expect, new, log)
        .with_context(|| format!("cannot move {branch} to the new commit (did another process change it?)"))
}

/// What git itself writes to the reflog for a commit.
fn reflog_message(parent: Option<git2::Oid>, message: &str) -> String {
    let subject = message.lines().next().unwrap_or_default();
    match parent {
        Some(_) => format!("commit: {subject}"),
        None => format!("commit (initial): {subject}"),
    }
}

/// A commit built by [`build_commit`], on no branch and in no object store yet.
struct NewCommit {
    id: git2::Oid,
    /// Its new blobs, trees and the commit itself, each once.
    objects: Vec<RawObject>,
    /// Its new blobs that came from the spill, already encoded (none of them in `objects`).
    ready: Vec<EncodedEntry>,
    /// Older versions of big directories, as deltas against the versions in `objects`.
    deltas: Vec<TreeDelta>,
}

/// A written file's blob: read from the working tree, or ready from the spill.
enum Blob {
    Read(git2::Oid, git2::FileMode, Vec<u8>),
    Ready(git2::FileMode, EncodedEntry),
}

/// The commit of `changes` on top of `parent`, whose tree `editor` holds: the written files
/// are taken from `spill` or read and hashed (on every core), the changed directories
/// serialised, the commit object built; nothing is stored.
#[allow(clippy::too_many_arguments)]
fn build_commit(
    root: &Path,
    editor: &mut TreeEditor<'_>,
    parent: Option<git2::Oid>,
    changes: &[FileChange],
    message: &str,
    signature: &git2::Signature<'_>,
    blob_ids: &mut BlobIds,
    spill: Option<&BlobSpill>,
) -> Result<NewCommit> {
    let changes = last_change_per_path(changes);
    let written: Vec<&str> = changes
        .values()
        .filter_map(|c| match c {
            FileChange::Write(path) => Some(path.as_str()),
            FileChange::Delete(_) => None,
        })
        .collect();
    let mut read: Vec<Option<Blob>> = written
        .par_iter()
        .map(|path| {
            let ready = spill
                .map(|s| s.take(path))
                .transpose()
                .with_context(|| format!("cannot read the spilled blob of {path}"))?
                .flatten();
            Ok(Some(match ready {
                Some(blob) => Blob::Ready(blob.mode, blob.entry),
                None => {
                    let (id, mode, data) = read_blob(root, path)?;
                    Blob::Read(id, mode, data)
                }
            }))
        })
        .collect::<Result<_>>()?;
    let mut read = read.iter_mut();
    let mut objects = Vec::with_capacity(written.len() + 8);
    let mut ready = Vec::new();
    let mut seen = HashSet::new();
    for change in changes.into_values() {
        match change {
            FileChange::Write(path) => {
                let blob = read.next().and_then(Option::take).expect("one read per write");
                let (id, mode) = match &blob {
                    Blob::Read(id, mode, _) => (*id, *mode),
                    Blob::Ready(mode, entry) => (entry.id, *mode),
                };
                editor.upsert(path, id, i32::from(mode))?;
                blob_ids.insert(path.clone(), id);
                if seen.insert(id) {
                    match blob {
                        Blob::Read(id, _, data) => objects.push(RawObject {
                            id,
                            kind: git2::ObjectType::Blob,
                            data: data.into(),
                        }),
                        Blob::Ready(_, entry) => ready.push(entry),
                    }
                }
            }
            // Deleting what the tree lacks is a no-op.
            FileChange::Delete(path) => {
                editor.remove(path)?;
                blob_ids.remove(path);
            }
        }
    }
    let (tree, trees) = editor.write()?;
    objects.extend(trees);
    let data = commit_bytes(tree, parent, signature, message);
    let id = object_id(git2::ObjectType::Commit, &data);
    objects.push(RawObject {
        id,
        kind: git2::ObjectType::Commit,
        data: data.into(),
    });
    Ok(NewCommit {
        id,
        objects,
        ready,
        deltas: editor.take_deltas(),
    })
}

/// A commit object's content, as git and libgit2 write it (no encoding header: UTF-8).
fn commit_bytes(
    tree: git2::Oid,
    parent: Option<git2::Oid>,
    signature: &git2::Signature<'_>,
    message: &str,
) -> Vec<u8> {
    let mut out = format!("tree {tree}\n").into_bytes();
    if let Some(parent) = parent {
        out.extend_from_slice(format!("parent {parent}\n").as_bytes());
    }
    for role in ["author", "committer"] {
        out.extend_from_slice(role.as_bytes());
        out.push(b' ');
        out.extend_from_slice(signature.name_bytes());
        out.extend_from_slice(b" <");
        out.extend_from_slice(signature.email_bytes());
        out.extend_from_slice(b"> ");
        let when = signature.when();
        let offset = when.offset_minutes();
        let sign = if offset < 0 || when.sign() == '-' {
            '-'
        } else {
            '+'
        };
        let offset = offset.unsigned_abs();
        out.extend_from_slice(
            format!("{} {sign}{:02}{:02}\n", when.seconds(), offset / 60, offset % 60).as_bytes(),
        );
    }
    out.push(b'\n');
    out.extend_from_slice(message.as_bytes());
    out
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
    Ok((blob_id(&data), mode, data))
}

/// Folds the small packs into bigger ones once there are many, as
/// `git repack -d --geometric=2` (git 2.32+): each run publishes a pack of its own, and
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
    fn commit_objects_are_byte_for_byte_libgit2s() {
        let dir = tempfile::tempdir().unwrap();
        let git = git2::Repository::init_bare(dir.path()).unwrap();
        let tree = git
            .find_tree(git.treebuilder(None).unwrap().write().unwrap())
            .unwrap();
        let message = "900-x: batch 1/2\n\nNES-Migration: 900-x\n";
        for (offset, name) in [(0, "Ram Bahadur"), (345, "Sita"), (-300, "Zoë O'Neil")] {
            let when = git2::Time::new(1_700_000_000, offset);
            let sig = git2::Signature::new(name, "maint@example.org", &when).unwrap();
            let root = git.commit_create_buffer(&sig, &sig, message, &tree, &[]).unwrap();
            assert_eq!(commit_bytes(tree.id(), None, &sig, message), root.to_vec());
            let parent_id = git.commit(None, &sig, &sig, "root", &tree, &[]).unwrap();
            let parent = git.find_commit(parent_id).unwrap();
            let child = git
                .commit_create_buffer(&sig, &sig, message, &tree, &[&parent])
                .unwrap();
            assert_eq!(
                commit_bytes(tree.id(), Some(parent_id), &sig, message),
                child.to_vec()
            );
        }
    }

    #[test]
    fn empty_plan() {
        assert!(plan_batches(&[], 10).is_empty());
        assert!(plan_batches(&[vec![]], 10).is_empty());
    }
}
