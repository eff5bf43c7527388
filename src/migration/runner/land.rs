//! Landing a run on a remote other writers push to (a queue bot, scrapers, hand commits):
//! the run starts from the remote's head, and when its push is rejected because the remote
//! moved, the run's migrations are run again on the new head and pushed again.
//!
//! A migration is a program: running it again on the new base is the correct rebase, with
//! the guard and the migration's own `verify` as on any run. Data commits are never rebased
//! as text, and nothing is ever force-pushed: the only commits left behind are nes's own
//! batches, replaced by their replay or by another run that applied the same migration.

use anyhow::Result;
use serde::Serialize;

use super::{MigrationReport, Outcome, RunOptions, RunReport, Runner};
use crate::error::NesError;
use crate::fault;
use crate::git::ledger::{read_ledger, Recorded};
use crate::git::push::{push, PushOutcome};
use crate::git::repo::DataRepo;
use crate::git::sync::{self, Upstream};
use crate::migration::registry::Migration;

/// Replays after a rejected push before the run gives up (`--push-retries`).
pub const DEFAULT_PUSH_RETRIES: u32 = 3;

/// How a run met its remote (`landing` in `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Landing {
    pub remote: String,
    pub branch: String,
    /// The remote's head the run started from; absent when the remote had no such branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_from: Option<String>,
    /// How the local branch met it: `up-to-date`, `fast-forward` (moved to the remote's
    /// head), `ahead` (nes's unpushed commits kept on top), `replayed` (nes's unpushed
    /// commits run again on top), `new-branch` (the remote has no such branch yet).
    pub start: &'static str,
    /// Pushes tried (0 when nothing was committed).
    pub push_attempts: u32,
    /// The remote's head when the run ended, as last fetched or pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_head: Option<String>,
    /// Migrations another run applied on the remote first; this run's commits were dropped.
    pub applied_elsewhere: Vec<String>,
    /// Migrations committed here but not on the remote when the run ended, oldest first.
    pub not_pushed: Vec<String>,
}

impl Landing {
    fn new(up: &Upstream, start: &'static str, started_from: Option<git2::Oid>) -> Self {
        Self {
            remote: up.remote.clone(),
            branch: up.branch.clone(),
            started_from: started_from.map(|o| o.to_string()),
            start,
            push_attempts: 0,
            remote_head: started_from.map(|o| o.to_string()),
            applied_elsewhere: Vec::new(),
            not_pushed: Vec::new(),
        }
    }
}

impl<'a> Runner<'a> {
    /// Before a run that will push: fetch the remote branch and start from its head. Moves
    /// the local branch there when it is behind; keeps nes's unpushed commits on top when it
    /// is ahead, and replays them when both moved; refuses commits nes did not make. `None`
    /// when the repository has no remote.
    pub(super) fn start_from_remote(
        &self,
        repo: &DataRepo,
        signature: &git2::Signature<'_>,
        options: &RunOptions,
        report: &mut RunReport,
    ) -> Result<Option<Upstream>> {
        let Some(up) = Upstream::resolve(repo, options.remote.as_deref())? else {
            return Ok(None);
        };
        let Some(remote_head) = sync::fetch(repo, &up, options.push_timeout)? else {
            report.landing = Some(Landing::new(&up, "new-branch", None));
            return Ok(Some(up));
        };
        let local = repo.head_commit()?.map(|c| c.id());
        let start = if local == Some(remote_head) {
            "up-to-date"
        } else {
            let ours = sync::local_only(repo, remote_head)?;
            refuse_foreign(repo, &up, &ours, |c| c.is_nes())?;
            let behind = match local {
                Some(local) => !sync::contains(repo, local, remote_head)?,
                None => true,
            };
            match (ours.is_empty(), behind) {
                (true, _) => {
                    repo.ensure_clean()?;
                    sync::move_to(repo, remote_head, options.push_timeout)?;
                    "fast-forward"
                }
                (false, false) => "ahead",
                (false, true) => {
                    repo.ensure_clean()?;
                    report.landing = Some(Landing::new(&up, "replayed", Some(remote_head)));
                    let base = repo
                        .git()
                        .merge_base(remote_head, local.expect("ours is not empty"))?;
                    self.replay_onto(repo, &up, remote_head, Some(base), signature, options, report)?;
                    return Ok(Some(up));
                }
            }
        };
        report.landing = Some(Landing::new(&up, start, Some(remote_head)));
        Ok(Some(up))
    }

    /// Pushes; when the remote moved, fetches it and replays the run's migrations on its new
    /// head (or drops them where another run applied them first), up to
    /// `options.push_retries` times.
    pub(super) fn land(
        &self,
        repo: &DataRepo,
        up: &Upstream,
        signature: &git2::Signature<'_>,
        options: &RunOptions,
        report: &mut RunReport,
    ) -> Result<()> {
        let mut base = report
            .landing
            .as_ref()
            .and_then(|l| l.started_from.as_deref())
            .and_then(|s| git2::Oid::from_str(s).ok());
        loop {
            let landing = report
                .landing
                .get_or_insert_with(|| Landing::new(up, "new-branch", None));
            landing.push_attempts += 1;
            let attempt = landing.push_attempts;
            fault::point("before-push");
            fault::hook("before-push");
            let outcome = push(repo, Some(&up.remote), options.push_timeout)?;
            if !matches!(outcome, PushOutcome::Rejected { .. }) {
                landing.remote_head = Some(repo.head()?.to_string());
                report.push = Some(outcome);
                return Ok(());
            }
            let head = sync::fetch(repo, up, options.push_timeout)?;
            if attempt > options.push_retries {
                landing.remote_head = head.map(|h| h.to_string());
                landing.not_pushed = match head {
                    Some(head) => unpushed_migrations(&sync::local_only(repo, head)?),
                    None => Vec::new(),
                };
                report.push = Some(outcome);
                return Ok(());
            }
            let Some(head) = head else {
                return Err(NesError::failed(format!(
                    "the push to {} was rejected, but the remote has no branch {} any more",
                    up.remote, up.branch
                ))
                .hint("check the remote; nothing was pushed and the commits are kept")
                .into());
            };
            self.replay_onto(repo, up, head, base, signature, options, report)?;
            base = Some(head);
            if repo.head()? == head {
                // Everything this run made was applied by others: nothing left to push.
                if let Some(landing) = report.landing.as_mut() {
                    landing.remote_head = Some(head.to_string());
                }
                return Ok(());
            }
        }
    }

    /// Moves the branch onto `head`, the remote's, and runs again the migrations whose
    /// batches only this repository has, in their order. One the remote applied since
    /// `since` (the remote head they were built on) was applied by another run: it is
    /// reported and not run.
    #[allow(clippy::too_many_arguments)]
    fn replay_onto(
        &self,
        repo: &DataRepo,
        up: &Upstream,
        head: git2::Oid,
        since: Option<git2::Oid>,
        signature: &git2::Signature<'_>,
        options: &RunOptions,
        report: &mut RunReport,
    ) -> Result<()> {
        let ours = sync::local_only(repo, head)?;
        refuse_foreign(repo, up, &ours, sync::LocalCommit::is_replayable_batch)?;
        let migrations = self.replayable(repo, &ours)?;
        sync::move_to(repo, head, options.push_timeout)?;
        let ledger = read_ledger(repo)?;
        let mut failed: Option<&str> = None;
        for m in migrations {
            let previous = report.migrations.iter().position(|r| r.name == m.name);
            if let Some(before) = failed {
                // Its commits were left behind with the others: say so rather than list them.
                let mut skipped = MigrationReport::new(m.name, Outcome::Skipped);
                skipped.reason = Some(format!(
                    "not run again on {}: {before} failed there first; nothing of it is pushed",
                    up.display()
                ));
                replace(report, previous, skipped);
                continue;
            }
            if let Some(entry) = ledger.get(m.name).filter(|e| e.recorded == Recorded::Applied) {
                let new = match (entry.commits.last(), since) {
                    (Some(last), Some(since)) => !sync::contains(repo, since, git2::Oid::from_str(last)?)?,
                    _ => true,
                };
                if new {
                    let mut skipped = MigrationReport::new(m.name, Outcome::Skipped);
                    skipped.reason = Some(format!(
                        "applied on {} by another run first ({}, {}); this run's commits were dropped, nothing of it is pushed",
                        up.display(),
                        entry.author.as_deref().unwrap_or("unknown author"),
                        entry.commits.last().map_or("no commit", |c| &c[..12.min(c.len())]),
                    ));
                    replace(report, previous, skipped);
                    if let Some(landing) = report.landing.as_mut() {
                        landing.applied_elsewhere.push(m.name.to_string());
                    }
                    continue;
                }
            }
            let replays = previous.map_or(0, |i| report.migrations[i].replays);
            let mut result = self.apply_one(repo, m, signature, options)?;
            result.replays = replays + 1;
            result.logs.push(format!(
                "nes: run again on {} at {}: the remote had moved",
                up.display(),
                sync::describe_oid(repo, head)
            ));
            if result.status == Outcome::Failed && !options.continue_on_failure {
                failed = Some(m.name);
            }
            replace(report, previous, result);
        }
        Ok(())
    }

    /// The compiled migrations whose batches `ours` holds, each once, in history order;
    /// refuses when one is not compiled in or not fully applied.
    fn replayable(&self, repo: &DataRepo, ours: &[sync::LocalCommit]) -> Result<Vec<&'a Migration>> {
        let ledger = read_ledger(repo)?;
        let mut migrations: Vec<&'a Migration> = Vec::new();
        for name in unpushed_migrations(ours) {
            let Some(m) = self.registry.find(&name) else {
                return Err(NesError::failed(format!(
                    "the remote moved, and {name}, whose unpushed commits would have to be run again on it, is not compiled into this binary"
                ))
                .hint(format!(
                    "run the binary that made them, or integrate by hand (`git -C {} pull --rebase`)",
                    repo.root().display()
                ))
                .into());
            };
            if !ledger.is_applied(m.name) {
                return Err(NesError::failed(format!(
                    "the remote moved, and {name}'s unpushed run is not complete"
                ))
                .hint(format!("run `nes migrate repair {name}` first"))
                .into());
            }
            migrations.push(m);
        }
        Ok(migrations)
    }
}

/// The migrations whose batches are among `ours`, each once, oldest first.
fn unpushed_migrations(ours: &[sync::LocalCommit]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in ours.iter().filter_map(|c| c.trailers.migration.as_ref()) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// Refuses local commits the remote lacks that `allowed` does not accept, naming them.
fn refuse_foreign(
    repo: &DataRepo,
    up: &Upstream,
    ours: &[sync::LocalCommit],
    allowed: impl Fn(&sync::LocalCommit) -> bool,
) -> Result<()> {
    let foreign: Vec<&sync::LocalCommit> = ours.iter().filter(|c| !allowed(c)).collect();
    let Some(first) = foreign.first() else {
        return Ok(());
    };
    let what = if first.is_nes() {
        "commits nes cannot run again (a revert or mark-applied) while the remote has moved"
    } else {
        "commits nes did not make"
    };
    Err(NesError::failed(format!(
        "the local branch has {} commit(s) {} lacks, {what}: {}{}",
        foreign.len(),
        up.display(),
        first.described,
        if foreign.len() > 1 { ", ..." } else { "" }
    ))
    .hint(format!(
        "nes pushes only its own batches on top of the remote's head; push or drop these by hand first (`git -C {} log {}..HEAD`)",
        repo.root().display(),
        up.display()
    ))
    .into())
}

/// Puts `result` in place of the report's entry at `at`, or adds it.
fn replace(report: &mut RunReport, at: Option<usize>, result: MigrationReport) {
    match at {
        Some(i) => report.migrations[i] = result,
        None => report.migrations.push(result),
    }
}
