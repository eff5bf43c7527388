//! Opening, creating and inspecting the data repository.

use std::path::{Path, PathBuf};

use anyhow::Result;

/// A data repository checked out on a branch, with complete history.
pub struct DataRepo {
    repo: git2::Repository,
    root: PathBuf,
}

impl DataRepo {
    /// Opens the repository at `path`. Refuses, with the command that fixes it, a missing
    /// repository (`nes db init`), a shallow clone, a detached HEAD.
    pub fn open(path: &Path) -> Result<Self> {
        todo!("{path:?}")
    }

    /// Creates a repository at `path`: branch `main`, a first commit, recommended settings
    /// for large repositories, and `origin` when `remote` is given.
    pub fn init(path: &Path, remote: Option<&str>) -> Result<Self> {
        todo!("{path:?}{remote:?}")
    }

    /// Working tree root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The underlying git2 repository.
    pub fn git(&self) -> &git2::Repository {
        &self.repo
    }

    /// Name of the checked-out branch (`main`).
    pub fn branch(&self) -> Result<String> {
        todo!()
    }

    /// The commit HEAD points at.
    pub fn head(&self) -> Result<git2::Oid> {
        todo!()
    }

    /// Up to `limit` paths with uncommitted changes (modified, staged or untracked, not ignored).
    pub fn dirty_paths(&self, limit: usize) -> Result<Vec<String>> {
        todo!("{limit}")
    }

    /// Fails with the first few dirty paths and how to fix them unless the tree is clean.
    pub fn ensure_clean(&self) -> Result<()> {
        todo!()
    }

    /// Content of a repository-relative path at HEAD, `None` when absent.
    pub fn head_blob(&self, path: &str) -> Result<Option<Vec<u8>>> {
        todo!("{path}")
    }

    /// Commit identity: `override_` ("Name <email>"), else git config, else the documented
    /// fallback `nes <nes@localhost>` with a warning message returned beside it.
    pub fn signature(&self, override_: Option<&str>) -> Result<(git2::Signature<'static>, Option<String>)> {
        todo!("{override_:?}")
    }
}
