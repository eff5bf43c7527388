//! Bringing the git index in line with the commits nes made, for the paths they changed.
//!
//! The blob ids are known from committing, so no file is hashed again; the stat data comes
//! from the working tree, so `git status` finds the files clean without reading them. libgit2
//! loads a 1M-entry index as 1M objects (~150 MB) and shifts every later entry on each
//! insertion, so the index is rewritten by [`super::plumbing::index_file`] instead: the old file streamed
//! through a small buffer and merged with the sorted updates in one pass. libgit2 remains for
//! indexes that module does not handle (split or sparse indexes, SHA-256 repositories).

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::change::{file_mode, last_change_per_path, FileChange};
use super::own_lock::{LockDirs, OwnLock};
use super::plumbing::index_file::{self, Unsupported, Update};
use super::repo::DataRepo;
use crate::fault;

/// Blob id of each path a run committed as written, filled in while committing.
pub type BlobIds = HashMap<String, git2::Oid>;

/// Above this many entry moves (new paths × entries in the index), the libgit2 fallback
/// rebuilds the index in one merge pass instead of inserting. Measured on a 1M-entry index (2 vCPU): a rebuild
/// costs ~2.5 s, about what ~4,000 insertions cost (each moves half the entries' pointers).
const IN_PLACE_MOVES: usize = 4_000_000_000;

/// How [`sync_index_using`] changes the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexSync {
    /// [`IndexSync::Stream`] where supported, else libgit2 (in place or rebuilt, by size).
    Auto,
    /// Rewrite the index file by streaming it (see [`super::plumbing::index_file`]); fails on an index
    /// it does not support.
    Stream,
    /// libgit2: insert and remove entries in the loaded index.
    InPlace,
    /// libgit2: write a new index in one merge pass.
    Rebuild,
}

/// Makes the index agree with HEAD for `changes`, with fresh stat data; the index file is
/// written once. Paths missing from `known` are hashed from the working tree.
pub fn sync_index<'a, I>(repo: &DataRepo, changes: I, known: &BlobIds) -> Result<()>
where
    I: IntoIterator<Item = &'a FileChange>,
{
    sync_index_using(repo, changes, known, IndexSync::Auto)
}

/// [`sync_index`] with the strategy chosen by the caller (tests and benchmarks compare them).
pub fn sync_index_using<'a, I>(repo: &DataRepo, changes: I, known: &BlobIds, how: IndexSync) -> Result<()>
where
    I: IntoIterator<Item = &'a FileChange>,
{
    let mut updates: Vec<(&str, Option<git2::IndexEntry>)> = Vec::new();
    for (path, change) in last_change_per_path(changes) {
        let entry = match change {
            FileChange::Write(_) => Some(entry_from_worktree(repo.root(), path, known.get(path).copied())?),
            FileChange::Delete(_) => None,
        };
        updates.push((path, entry));
    }
    if matches!(how, IndexSync::Auto | IndexSync::Stream) {
        match stream(repo, &updates) {
            Ok(()) => return Ok(()),
            Err(e) if how == IndexSync::Auto && e.is::<Unsupported>() => {}
            Err(e) => return Err(e.context("cannot write the git index")),
        }
    }
    let mut index = repo.git().index()?;
    let new_paths = updates
        .iter()
        .filter(|(path, entry)| entry.is_some() && index.get_path(Path::new(path), 0).is_none())
        .count();
    let rebuild_it = match how {
        IndexSync::Auto | IndexSync::Stream => new_paths.saturating_mul(index.len()) > IN_PLACE_MOVES,
        IndexSync::InPlace => false,
        IndexSync::Rebuild => true,
    };
    if rebuild_it {
        return rebuild(repo, &index, updates);
    }
    for (path, entry) in updates {
        match entry {
            Some(entry) => index.add(&entry)?,
            None => match index.remove_path(Path::new(path)) {
                Ok(()) => {}
                Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                Err(e) => return Err(e.into()),
            },
        }
    }
    index.write().context("cannot write the git index")
}

/// Rewrites `.git/index` through `index.lock` (written, then renamed over it, as git does).
fn stream(repo: &DataRepo, updates: &[(&str, Option<git2::IndexEntry>)]) -> Result<()> {
    if let Ok(format) = repo.git().config()?.get_string("extensions.objectformat") {
        if !format.eq_ignore_ascii_case("sha1") {
            return Err(Unsupported(format!("object format {format}")).into());
        }
    }
    let updates: Vec<Update> = updates
        .iter()
        .map(|(path, entry)| (path.as_bytes().to_vec(), entry.as_ref().map(raw_entry)))
        .collect();
    let (lock, file) = IndexLock::acquire(repo)?;
    index_file::rewrite(&repo.git_dir().join("index"), &updates, file)?;
    lock.commit(&repo.git_dir().join("index"))
}

/// The on-disk form of a libgit2 entry built by [`entry_with_stat`] (stage 0, no flags).
fn raw_entry(e: &git2::IndexEntry) -> index_file::Entry {
    index_file::Entry::new(
        &e.path,
        e.id.as_bytes().try_into().expect("SHA-1 object id"),
        [
            e.ctime.seconds() as u32,
            e.ctime.nanoseconds(),
            e.mtime.seconds() as u32,
            e.mtime.nanoseconds(),
            e.dev,
            e.ino,
            e.mode,
            e.uid,
            e.gid,
            e.file_size,
        ],
    )
}

/// The index entry of a working-tree file whose blob id is `known` (else hashed here).
fn entry_from_worktree(root: &Path, path: &str, known: Option<git2::Oid>) -> Result<git2::IndexEntry> {
    let full = root.join(path);
    let metadata = fs::symlink_metadata(&full).with_context(|| format!("cannot stat {}", full.display()))?;
    let id = match known {
        Some(id) => id,
        None => {
            let bytes = fs::read(&full).with_context(|| format!("cannot read {}", full.display()))?;
            super::plumbing::object_id::blob_id(&bytes)
        }
    };
    Ok(entry_with_stat(path, id, &metadata))
}

/// Stat fields as git records them: truncated to 32 bits, like `git` and libgit2 do.
#[cfg(unix)]
fn entry_with_stat(path: &str, id: git2::Oid, metadata: &fs::Metadata) -> git2::IndexEntry {
    use std::os::unix::fs::MetadataExt as _;
    git2::IndexEntry {
        ctime: git2::IndexTime::new(metadata.ctime() as i32, metadata.ctime_nsec() as u32),
        mtime: git2::IndexTime::new(metadata.mtime() as i32, metadata.mtime_nsec() as u32),
        dev: metadata.dev() as u32,
        ino: metadata.ino() as u32,
        mode: i32::from(file_mode(metadata)) as u32,
        uid: metadata.uid(),
        gid: metadata.gid(),
        file_size: metadata.size() as u32,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

#[cfg(not(unix))]
fn entry_with_stat(path: &str, id: git2::Oid, metadata: &fs::Metadata) -> git2::IndexEntry {
    let mtime = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    let time = git2::IndexTime::new(mtime.as_secs() as i32, mtime.subsec_nanos());
    git2::IndexEntry {
        ctime: time,
        mtime: time,
        dev: 0,
        ino: 0,
        mode: i32::from(file_mode(metadata)) as u32,
        uid: 0,
        gid: 0,
        file_size: metadata.len() as u32,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// Writes a new index: `old`'s entries merged with `updates` (sorted by path) in one ordered
/// pass, so every insertion is an append. It is built beside the real one and renamed over
/// it, while holding `index.lock` as git does.
fn rebuild(repo: &DataRepo, old: &git2::Index, updates: Vec<(&str, Option<git2::IndexEntry>)>) -> Result<()> {
    let (lock, _) = IndexLock::acquire(repo)?;
    let staged = repo.nes_dir()?.join("index.new");
    let _ = fs::remove_file(&staged);
    let result = (|| -> Result<()> {
        let mut new = git2::Index::open(&staged)?;
        new.set_version(old.version())?;
        let mut updates = updates.into_iter().peekable();
        for entry in old.iter() {
            let path = entry.path.as_slice();
            while let Some((_, update)) = updates.next_if(|(p, _)| p.as_bytes() < path) {
                if let Some(update) = update {
                    new.add(&update)?;
                }
            }
            // An update of this path replaces every stage of it; it is added once the merge
            // passes the path.
            if updates.peek().is_some_and(|(p, _)| p.as_bytes() == path) {
                continue;
            }
            new.add(&entry)?;
        }
        for (_, update) in updates {
            if let Some(update) = update {
                new.add(&update)?;
            }
        }
        new.write().context("cannot write the new git index")?;
        fault::step(|| format!("rename {} to the git index", staged.display()));
        fs::rename(&staged, repo.git_dir().join("index")).context("cannot replace the git index")?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&staged);
    }
    result.and(lock.release())
}

/// `index.lock`, created exclusively as git does (as an [`OwnLock`], which a crash never
/// leaves unprovable), removed on drop unless committed.
struct IndexLock(OwnLock);

impl IndexLock {
    fn acquire(repo: &DataRepo) -> Result<(Self, fs::File)> {
        let lock = OwnLock::acquire(&LockDirs::of(repo.git()), repo.git_dir().join("index.lock"), b"")?;
        let file = fs::OpenOptions::new()
            .write(true)
            .open(lock.path())
            .with_context(|| format!("cannot open {}", lock.path().display()))?;
        Ok((Self(lock), file))
    }

    /// Renames the written lock file over `index`, releasing the lock.
    fn commit(self, index: &Path) -> Result<()> {
        self.0.commit(index).context("cannot replace the git index")
    }

    /// Removes the lock, unused.
    fn release(self) -> Result<()> {
        self.0.release()
    }
}
