//! Recording a new data-repository commit in the parent repository that has it as a
//! submodule (`--update-submodule`).

use std::path::Path;

use anyhow::{bail, Context as _, Result};

/// Commits the submodule's current HEAD in the parent repository containing `data_repo`,
/// with `message`. Returns the new commit, or `None` when the pointer did not move.
pub fn commit_pointer(
    data_repo: &Path,
    message: &str,
    signature: &git2::Signature<'_>,
) -> Result<Option<git2::Oid>> {
    let data_repo = data_repo
        .canonicalize()
        .with_context(|| format!("{} not found", data_repo.display()))?;
    let outer = data_repo
        .parent()
        .context("the data repository has no parent directory")?;
    let parent = git2::Repository::discover(outer).with_context(|| {
        format!(
            "--update-submodule: no repository contains {}",
            data_repo.display()
        )
    })?;
    let workdir = parent
        .workdir()
        .context("the parent repository has no working tree")?
        .canonicalize()?;
    let rel = data_repo
        .strip_prefix(&workdir)
        .context("the data repository is outside its parent")?;
    let rel_str = rel.to_string_lossy().replace('\\', "/");
    let mut submodule = match parent.find_submodule(&rel_str) {
        Ok(s) => s,
        Err(_) => bail!(
            "--update-submodule: {} is not a submodule of {}; add it with `git submodule add`",
            rel_str,
            workdir.display()
        ),
    };
    let head = git2::Repository::open(&data_repo)?.head()?.peel_to_commit()?.id();
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
