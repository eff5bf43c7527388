//! Recording a new data-repository commit in the parent repository that has it as a
//! submodule (`--update-submodule`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use crate::error::NesError;

/// Commits the submodule's current HEAD in the parent repository containing `data_repo`,
/// with `message`. Returns the new commit, or `None` when the pointer did not move.
pub fn commit_pointer(
    data_repo: &Path,
    message: &str,
    signature: &git2::Signature<'_>,
) -> Result<Option<git2::Oid>> {
    let parent = ParentRepo::of(data_repo).map_err(|e| anyhow::anyhow!("--update-submodule: {e}"))?;
    let (data_repo, workdir, rel_str) = (&parent.data_repo, &parent.workdir, &parent.rel);
    let parent = &parent.git;
    let mut submodule = match parent.find_submodule(rel_str) {
        Ok(s) => s,
        Err(_) => bail!(
            "--update-submodule: {} is not a submodule of {}; add it with `git submodule add`",
            rel_str,
            workdir.display()
        ),
    };
    let head = git2::Repository::open(data_repo)?.head()?.peel_to_commit()?.id();
    if submodule.index_id() == Some(head) {
        return Ok(None);
    }
    // Stage just the gitlink, leaving anything else the maintainer has staged alone.
    submodule.add_to_index(true)?;
    let mut index = parent.index()?;
    let tree = parent.find_tree(index.write_tree()?)?;
    let head_commit = parent.head()?.peel_to_commit()?;
    let oid = parent.commit(
        Some("HEAD"),
        signature,
        signature,
        message,
        &tree,
        &[&head_commit],
    )?;
    Ok(Some(oid))
}

/// The repository that holds a data repository as a submodule, and where.
pub struct ParentRepo {
    pub git: git2::Repository,
    /// The parent's working tree, canonical.
    pub workdir: PathBuf,
    /// The data repository, canonical.
    pub data_repo: PathBuf,
    /// The data repository's path inside the parent, with `/` separators (`database-repo`).
    pub rel: String,
}

impl ParentRepo {
    /// Finds the repository containing `data_repo` (a usage error naming what to do when
    /// there is none).
    pub fn of(data_repo: &Path) -> Result<Self> {
        let data_repo = data_repo
            .canonicalize()
            .with_context(|| format!("{} not found", data_repo.display()))?;
        let outer = data_repo
            .parent()
            .context("the data repository has no parent directory")?;
        let git = git2::Repository::discover(outer).map_err(|_| {
            NesError::usage(format!("no repository contains {}", data_repo.display()))
                .hint("run it in the tool repository that has the data repository as a submodule")
        })?;
        let workdir = git
            .workdir()
            .context("the parent repository has no working tree")?
            .canonicalize()?;
        let rel = data_repo
            .strip_prefix(&workdir)
            .context("the data repository is outside its parent")?
            .to_string_lossy()
            .replace('\\', "/");
        Ok(ParentRepo {
            git,
            workdir,
            data_repo,
            rel,
        })
    }
}
