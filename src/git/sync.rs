//! Sharing the data repository's branch with other writers (a queue bot, scrapers, hand
//! commits): fetching the remote branch, finding the commits only this repository has, and
//! moving the local branch onto the remote's head.
//!
//! Nothing here writes to the remote: the only ref it moves is the local branch (and the
//! remote-tracking ref a fetch updates). Which local commits may be left behind is the
//! caller's decision; this module only names them.

use std::time::Duration;

use anyhow::{Context as _, Result};

use super::message::{parse_trailers, Trailers};
use super::push::{choose_remote, run_git};
use super::repo::DataRepo;
use crate::error::NesError;

/// The remote branch a run lands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub remote: String,
    pub branch: String,
}

impl Upstream {
    /// The remote's branch as `push` would choose it (`explicit`, else the branch's upstream,
    /// else `origin`, else the only remote); `None` when the repository has no remote.
    pub fn resolve(repo: &DataRepo, explicit: Option<&str>) -> Result<Option<Self>> {
        let branch = repo.branch()?;
        Ok(choose_remote(repo, explicit, &branch)?.map(|remote| Self { remote, branch }))
    }

    /// `origin/main`, as users type it.
    pub fn display(&self) -> String {
        format!("{}/{}", self.remote, self.branch)
    }
}

/// Fetches the remote branch into `refs/remotes/<remote>/<branch>` and returns its commit, or
/// `None` when the remote has no such branch yet (the first push creates it).
pub fn fetch(repo: &DataRepo, up: &Upstream, timeout: Duration) -> Result<Option<git2::Oid>> {
    let tracking = format!("refs/remotes/{}/{}", up.remote, up.branch);
    // Only this branch, into its tracking ref, whatever `remote.<name>.fetch` says.
    let refspec = format!("+refs/heads/{}:{tracking}", up.branch);
    let out = run_git(
        repo,
        &["fetch", "--quiet", "--no-tags", &up.remote, &refspec],
        timeout,
    )?;
    if !out.success {
        if out.stderr.contains("couldn't find remote ref") {
            return Ok(None);
        }
        return Err(NesError::failed(format!(
            "fetching {} failed: {}",
            up.display(),
            out.stderr.trim()
        ))
        .hint(format!(
            "a run that pushes starts from the remote's head; fix the cause above, or commit locally only with --no-push (`git -C {} fetch {}` shows the problem)",
            repo.root().display(),
            up.remote
        ))
        .into());
    }
    let reference = repo
        .git()
        .find_reference(&tracking)
        .with_context(|| format!("{tracking} is missing after fetching it"))?;
    Ok(reference.resolve()?.target())
}

/// A commit HEAD has that the remote's head does not.
#[derive(Debug, Clone)]
pub struct LocalCommit {
    pub oid: git2::Oid,
    pub trailers: Trailers,
    /// `abc1234 "subject" (Author Name)`, for messages.
    pub described: String,
}

impl LocalCommit {
    /// Made by nes: a batch, a `mark-applied` baseline or a revert.
    pub fn is_nes(&self) -> bool {
        self.trailers.migration.is_some() || self.trailers.revert.is_some()
    }

    /// A batch of a migration's run, which running the migration again reproduces.
    pub fn is_replayable_batch(&self) -> bool {
        self.trailers.migration.is_some()
            && self.trailers.batch.is_some()
            && !self.trailers.baseline
            && self.trailers.revert.is_none()
    }
}

/// The commits reachable from HEAD but not from `remote_head`, oldest first.
pub fn local_only(repo: &DataRepo, remote_head: git2::Oid) -> Result<Vec<LocalCommit>> {
    let git = repo.git();
    let Some(head) = repo.head_commit()? else {
        return Ok(Vec::new());
    };
    let mut walk = git.revwalk()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
    walk.push(head.id())?;
    walk.hide(remote_head)?;
    let mut commits = Vec::new();
    for oid in walk {
        let oid = oid?;
        let commit = git.find_commit(oid)?;
        commits.push(LocalCommit {
            oid,
            trailers: parse_trailers(&String::from_utf8_lossy(commit.message_bytes())),
            described: describe(&commit),
        });
    }
    Ok(commits)
}

/// Whether `ancestor` is `commit` or one of its ancestors.
pub fn contains(repo: &DataRepo, commit: git2::Oid, ancestor: git2::Oid) -> Result<bool> {
    Ok(commit == ancestor || repo.git().graph_descendant_of(commit, ancestor)?)
}

/// `abc1234 "subject" (Author Name)` of the commit `oid`.
pub fn describe_oid(repo: &DataRepo, oid: git2::Oid) -> String {
    match repo.git().find_commit(oid) {
        Ok(commit) => describe(&commit),
        Err(_) => short(oid),
    }
}

fn describe(commit: &git2::Commit<'_>) -> String {
    let summary = String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned();
    let author = String::from_utf8_lossy(commit.author().name_bytes()).into_owned();
    format!("{} \"{summary}\" ({author})", short(commit.id()))
}

/// The first 12 hex digits of `oid`.
pub fn short(oid: git2::Oid) -> String {
    oid.to_string()[..12].to_string()
}

/// Moves the checked-out branch, its index and working tree to `target`, as
/// `git reset --keep` does: it refuses rather than lose a local change to a path it moves.
/// The commits left behind stay in the reflog.
pub fn move_to(repo: &DataRepo, target: git2::Oid, timeout: Duration) -> Result<()> {
    let out = run_git(
        repo,
        &["reset", "--quiet", "--keep", &target.to_string()],
        timeout,
    )?;
    if !out.success {
        return Err(NesError::failed(format!(
            "moving {} to {} failed: {}",
            repo.root().display(),
            short(target),
            out.stderr.trim()
        ))
        .hint(format!(
            "check `git -C {} status`; nothing was pushed",
            repo.root().display()
        ))
        .into());
    }
    Ok(())
}
