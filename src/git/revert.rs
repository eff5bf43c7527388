//! `nes migrate revert`: undo every batch of an applied migration in one new commit.
//!
//! The migration's effect is the difference between the tree before its first batch and
//! the tree after its last batch. The revert commit is HEAD's tree with each of those paths
//! set back to its pre-migration entry (or removed), built with a
//! [`git2::build::TreeUpdateBuilder`] so its cost follows the migration's size, not the
//! repository's. A path changed again by a later commit is a conflict: the revert refuses
//! and names it rather than silently discarding the later change.

use anyhow::{Context as _, Result};

use super::commit::FileChange;
use super::index::{sync_index, BlobIds};
use super::ledger::{read_ledger, Recorded};
use super::message::revert_trailer;
use super::plumbing::lookup::TreeLookup;
use super::recovery::restore_paths;
use super::repo::DataRepo;
use crate::error::NesError;

/// How many conflicting paths the refusal names before summarising the rest.
const CONFLICTS_SHOWN: usize = 20;

/// What a revert did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reverted {
    pub migration: String,
    /// The revert commit (hex).
    pub commit: String,
    /// Paths set back to their state before the migration (restored or removed).
    pub paths: Vec<String>,
}

/// The commit message of a revert of `migration`.
pub fn revert_message(migration: &str, commits: usize) -> String {
    format!(
        "Revert migration: {migration}\n\n\
         Undoes the {commits} commit(s) of {migration}; it is pending again.\n\n{}",
        revert_trailer(migration)
    )
}

/// Reverts `migration` (its full name): one new commit on HEAD, then the working tree and
/// index of the reverted paths. The working tree must be clean; the caller holds the lock.
pub fn revert_migration(
    repo: &DataRepo,
    migration: &str,
    signature: &git2::Signature<'_>,
) -> Result<Reverted> {
    repo.ensure_clean()?;
    let commits = applied_commits(repo, migration)?;
    let git = repo.git();
    let first = git.find_commit(commits[0])?;
    let last = git.find_commit(*commits.last().expect("at least one commit"))?;
    let before = match first.parents().next() {
        Some(parent) => parent.tree()?,
        None => git.find_tree(git.treebuilder(None)?.write()?)?,
    };
    refuse_interleaved(git, migration, &commits)?;
    let after = last.tree()?;
    let head = repo.head_commit()?.context("the data repository has no commit")?;
    let head_tree = head.tree()?;
    let paths = changed_paths(git, &before, &after)?;
    refuse_conflicts(migration, &conflicts(git, &paths, &after, &head_tree)?)?;

    let mut update = git2::build::TreeUpdateBuilder::new();
    let mut before = TreeLookup::new(git, Some(before));
    for path in &paths {
        match before.entry(path)? {
            Some((oid, mode)) => update.upsert(path.as_str(), oid, file_mode(mode)),
            None => update.remove(path.as_str()),
        };
    }
    let tree = git.find_tree(update.create_updated(git, &head_tree)?)?;
    let message = revert_message(migration, commits.len());
    let oid = git
        .commit(Some("HEAD"), signature, signature, &message, &tree, &[&head])
        .with_context(|| format!("cannot commit the revert of {migration}"))?;
    sync_worktree(repo, &paths, &tree)?;
    Ok(Reverted {
        migration: migration.to_string(),
        commit: oid.to_string(),
        paths,
    })
}

/// The commits of `migration`'s applied run, oldest first; refuses anything else.
fn applied_commits(repo: &DataRepo, migration: &str) -> Result<Vec<git2::Oid>> {
    let ledger = read_ledger(repo)?;
    let Some(entry) = ledger.get(migration) else {
        return Err(
            NesError::usage(format!("{migration} is not applied: history does not record it"))
                .hint("`nes migrate status` shows what is applied")
                .into(),
        );
    };
    if entry.recorded == Recorded::Partial {
        return Err(NesError::usage(format!("{migration} is only partially applied"))
            .hint(format!(
                "resolve it with `nes migrate repair {migration}` (--rollback undoes it)"
            ))
            .into());
    }
    if entry.commits.is_empty() {
        return Err(NesError::usage(format!(
            "{migration} was applied by the original Python tool (v2/migration-logs/), not by nes commits"
        ))
        .hint("revert its changes with git by hand; nes only reverts runs it recorded")
        .into());
    }
    entry
        .commits
        .iter()
        .map(|c| git2::Oid::from_str(c).map_err(Into::into))
        .collect()
}

/// The revert takes the difference from before the first batch to after the last: a
/// foreign commit between them would be undone too, so it is refused instead.
fn refuse_interleaved(git: &git2::Repository, migration: &str, commits: &[git2::Oid]) -> Result<()> {
    let first = commits[0];
    let mut foreign = Vec::new();
    let mut current = git.find_commit(*commits.last().expect("at least one commit"))?;
    while current.id() != first {
        let Ok(parent) = current.parent(0) else { break };
        // A foreign commit that changes nothing (e.g. `--allow-empty`) is harmless.
        if !commits.contains(&current.id()) && current.tree_id() != parent.tree_id() {
            foreign.push(current.id().to_string());
        }
        current = parent;
    }
    if foreign.is_empty() {
        return Ok(());
    }
    Err(NesError::failed(format!(
        "cannot revert {migration}: other commits lie between its batches ({}), and reverting \
         would undo them too",
        foreign.join(", ")
    ))
    .hint("revert its batch commits by hand with `git revert`, then check `nes migrate status`")
    .into())
}

/// Paths whose entries differ between `before` and `after` (blobs only, sorted).
fn changed_paths(
    git: &git2::Repository,
    before: &git2::Tree<'_>,
    after: &git2::Tree<'_>,
) -> Result<Vec<String>> {
    let diff = git.diff_tree_to_tree(Some(before), Some(after), None)?;
    let mut paths: Vec<String> = diff
        .deltas()
        .flat_map(|d| [d.old_file().path(), d.new_file().path()])
        .flatten()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// Paths that HEAD no longer has as the migration left them: a later commit changed them.
fn conflicts(
    git: &git2::Repository,
    paths: &[String],
    after: &git2::Tree<'_>,
    head: &git2::Tree<'_>,
) -> Result<Vec<String>> {
    let mut after = TreeLookup::new(git, Some(after.clone()));
    let mut head = TreeLookup::new(git, Some(head.clone()));
    let mut changed = Vec::new();
    for path in paths {
        if after.entry(path)? != head.entry(path)? {
            changed.push(path.clone());
        }
    }
    Ok(changed)
}

fn refuse_conflicts(migration: &str, conflicts: &[String]) -> Result<()> {
    if conflicts.is_empty() {
        return Ok(());
    }
    let mut listed: String = conflicts
        .iter()
        .take(CONFLICTS_SHOWN)
        .map(|p| format!("\n  {p}"))
        .collect();
    if conflicts.len() > CONFLICTS_SHOWN {
        listed.push_str(&format!("\n  ... and {} more", conflicts.len() - CONFLICTS_SHOWN));
    }
    Err(NesError::failed(format!(
        "cannot revert {migration}: later commits changed {} of the paths it changed:{listed}",
        conflicts.len()
    ))
    .hint("revert the later migrations first (newest first), or undo these changes by hand with git")
    .into())
}

fn file_mode(mode: i32) -> git2::FileMode {
    if mode == i32::from(git2::FileMode::BlobExecutable) {
        git2::FileMode::BlobExecutable
    } else {
        git2::FileMode::Blob
    }
}

/// Brings the working tree and index of `paths` in line with the new HEAD `tree`.
fn sync_worktree(repo: &DataRepo, paths: &[String], tree: &git2::Tree<'_>) -> Result<()> {
    restore_paths(repo, paths).context("updating the working tree")?;
    let mut lookup = TreeLookup::new(repo.git(), Some(tree.clone()));
    let mut changes = Vec::with_capacity(paths.len());
    for path in paths {
        changes.push(match lookup.entry(path)? {
            Some(_) => FileChange::Write(path.clone()),
            None => FileChange::Delete(path.clone()),
        });
    }
    sync_index(repo, &changes, &BlobIds::new()).context("updating the git index")
}
