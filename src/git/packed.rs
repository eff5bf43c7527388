//! Batch objects kept in memory and published as one pack file per batch, never as loose
//! objects.
//!
//! Why: a 1000-file batch written as loose objects creates ~1000 files (and as many
//! temporary ones) under `.git/objects`, which then have to be packed and deleted again. On
//! this product's scale the file creations dominated a run, and the deletions slowed the
//! filesystem's later inode allocations too. Here blobs, trees and the commit go to a libgit2
//! in-memory backend ("mempack"); [`PackedWrites::publish`] writes them out as one pack (two
//! files: `.pack` and `.idx`) and only then moves the branch, so a crash before that leaves
//! the branch where it was and nothing half-written in the repository.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::commit::move_branch;
use super::pack_file::{write_pack, RawObject};

/// A repository handle whose object writes go to memory until [`PackedWrites::publish`].
///
/// It is a second handle on the repository on purpose: the in-memory backend cannot be
/// detached from a handle, and other code writing through the main handle must keep
/// writing to disk.
pub(crate) struct PackedWrites<'a> {
    git: &'a git2::Repository,
    mempack: git2::Mempack<'a>,
}

/// Opens a second handle on the repository at `git_dir` and runs `f` with writes going to
/// memory; anything not published when `f` returns is discarded.
pub(crate) fn with_packed_writes<T>(
    git_dir: &Path,
    f: impl FnOnce(&PackedWrites<'_>) -> Result<T>,
) -> Result<T> {
    let git = git2::Repository::open(git_dir)
        .with_context(|| format!("cannot open {} for writing", git_dir.display()))?;
    let odb = git.odb()?;
    // Above the default backends (loose 1, packed 2), so new objects land here; objects that
    // already exist anywhere are not written again.
    let mempack = odb.add_new_mempack_backend(1000)?;
    let writes = PackedWrites { git: &git, mempack };
    f(&writes)
}

impl PackedWrites<'_> {
    /// The handle to create objects through.
    pub(crate) fn git(&self) -> &git2::Repository {
        self.git
    }

    /// Writes `blobs` and `objects` (every object created through [`Self::git`] since the last
    /// publish) as one pack ([`super::pack_file`]), forgets them from memory, then moves
    /// `branch` from `old` to `new` ([`move_branch`]).
    pub(crate) fn publish(
        &self,
        mut blobs: Vec<RawObject>,
        objects: &[git2::Oid],
        branch: &str,
        old: Option<git2::Oid>,
        new: git2::Oid,
        log: &str,
    ) -> Result<()> {
        // libgit2's own `git_mempack_dump` would add every object reachable from the new
        // commit (the whole tree), so the pack is built from the list instead.
        let odb = self.git.odb()?;
        // Identical directories (say, two version folders holding the same file) share a tree.
        let mut seen: HashSet<git2::Oid> = blobs.iter().map(|b| b.id).collect();
        for id in objects {
            if !seen.insert(*id) {
                continue;
            }
            let object = odb.read(*id)?;
            blobs.push(RawObject {
                id: *id,
                kind: object.kind(),
                data: object.data().to_vec(),
            });
        }
        let dir = self.git.commondir().join("objects").join("pack");
        write_pack(&dir, &blobs)
            .with_context(|| format!("cannot write the batch's pack in {}", dir.display()))?;
        drop(blobs);
        self.mempack.reset()?;
        move_branch(self.git, branch, old, new, log)
    }
}
