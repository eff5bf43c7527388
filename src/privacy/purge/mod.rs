//! `nes db purge-history`: every commit reachable from the data repository's refs rewritten
//! so that no blob holds a value at the selected policy paths, with messages, authors, dates
//! and trailers kept, the ledger checked unchanged, and the result verified before it is
//! reported.
//!
//! Order of a real run, and what an interruption leaves at each point: objects go into one
//! pack (harmless: nothing refers to them), the commit map is written, then the journal
//! ([`crate::git::rewrite_journal`]) and only then do refs move, compare-and-swap; the
//! rewritten HEAD is checked out, everything verified, the journal removed. With a journal
//! on disk every writing command refuses until `--resume` finishes or `--abort` undoes.

mod check;
pub mod map;
mod objects;
pub mod pointer;
mod refs;
mod rewrite;

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use git2::Oid;

use crate::error::NesError;
use crate::git::lock;
use crate::git::repo::DataRepo;
use crate::git::rewrite_journal::{self, RefMove, RewriteJournal};
use crate::store::privacy::{self, Policy};

pub use rewrite::RewriteCounts;

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct PurgeOptions {
    /// Policy paths or labels (`personal_details.father_name`); empty: every rule.
    pub paths: Vec<String>,
    /// Where the commit map goes; default [`map::default_path`].
    pub map: Option<PathBuf>,
    pub dry_run: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Values and blobs cleared for one rule.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PathCount {
    /// `person: personal_details.father_name`.
    pub rule: String,
    pub values: usize,
    pub blobs: usize,
}

/// What a purge did (or, dry, would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PurgeReport {
    pub dry_run: bool,
    #[serde(flatten)]
    pub counts: RewriteCounts,
    pub paths: Vec<PathCount>,
    /// Refs moved (or to move), old and new.
    pub refs: Vec<RefMove>,
    /// Where the commit map was written (`None` for a dry run).
    pub map: Option<String>,
    /// The `git push` commands that publish the rewrite.
    pub push_commands: Vec<String>,
}

/// Runs the purge: rewrite, move refs, check out, verify. A dry run stops after the
/// rewrite and writes nothing.
pub fn purge(repo: &DataRepo, options: &PurgeOptions) -> Result<PurgeReport> {
    let policy = privacy::policy();
    let selection = policy
        .select(&options.paths)
        .map_err(|e| NesError::usage(e).hint("name paths as `nes db audit` lists them, or none for all"))?;
    let _lock = lock::acquire(repo, false)?;
    refs::check_start(repo)?;
    let git = repo.git();
    let before = refs::list(git)?;
    let mut sink = if options.dry_run {
        objects::Sink::HashOnly
    } else {
        objects::Sink::pack(&git.path().join("objects").join("pack"))?
    };
    let mut rewriter = rewrite::Rewriter::new(git, policy, selection.clone())?;
    let tips: Vec<Oid> = before
        .iter()
        .filter_map(|(_, t)| git.find_object(*t, None).and_then(|o| o.peel_to_commit()).ok())
        .map(|c| c.id())
        .collect();
    let bar = crate::progress::bar(options.progress, 0, "walking commits");
    let blobs = rewriter.walk(&tips, &|| bar.inc(1))?;
    bar.finish_and_clear();
    rewriter.redact_blobs(&blobs, git.path().to_path_buf(), &mut sink)?;
    let bar = crate::progress::bar(options.progress, rewriter.order.len() as u64, "rewriting commits");
    rewriter.rebuild_commits(&mut sink, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let mut moves = Vec::new();
    for (name, old) in &before {
        let new = rewriter.target(*old, &mut sink)?;
        if new != *old {
            moves.push(RefMove {
                name: name.clone(),
                old: old.to_string(),
                new: new.to_string(),
            });
        }
    }
    let mut report = PurgeReport {
        dry_run: options.dry_run,
        paths: path_counts(policy, &selection, &rewriter.counts),
        counts: rewriter.counts.clone(),
        push_commands: refs::push_commands(git, &moves)?,
        refs: moves,
        map: None,
    };
    if options.dry_run {
        return Ok(report);
    }
    let map_path = options.map.clone().map_or_else(|| map::default_path(repo), Ok)?;
    if report.refs.is_empty() {
        // Nothing to move: the unfinished pack removes itself, the map says so (identity).
        drop(sink);
        map::write(&map_path, &rewriter.order, &rewriter.commits)?;
        report.map = Some(map_path.display().to_string());
        return Ok(report);
    }
    sink.finish()?;
    crate::fault::point("purge-objects-written");
    map::write(&map_path, &rewriter.order, &rewriter.commits)?;
    report.map = Some(map_path.display().to_string());
    let journal = RewriteJournal {
        refs: report.refs.clone(),
        head_ref: git.head()?.name().unwrap_or("HEAD").to_string(),
        note: serde_json::json!({
            "paths": options.paths,
            "ledger": check::ledger_value(repo, &rewriter.commits)?,
        }),
    };
    drop(rewriter);
    rewrite_journal::write(repo, &journal)?;
    crate::fault::point("purge-journal-written");
    finish(repo, &journal)?;
    Ok(report)
}

/// Moves the journal's refs forward, checks out, verifies and removes the journal; on a
/// failed check, puts every ref back first.
fn finish(repo: &DataRepo, journal: &RewriteJournal) -> Result<()> {
    refs::move_all(repo, journal, true)?;
    crate::fault::point("purge-refs-moved");
    refs::check_out_head(repo)?;
    crate::fault::point("purge-checked-out");
    let policy = privacy::policy();
    let paths: Vec<String> = serde_json::from_value(journal.note["paths"].clone()).unwrap_or_default();
    let selection = policy.select(&paths).map_err(anyhow::Error::msg)?;
    let head = journal
        .refs
        .iter()
        .find(|m| m.name == journal.head_ref)
        .map_or_else(|| repo.head(), |m| Ok(Oid::from_str(&m.new)?))?;
    if let Err(failed) = check::verify(repo, policy, &selection, &journal.note["ledger"], head) {
        undo(repo, journal).context("and putting the refs back failed too")?;
        return Err(failed.context("the purge was undone: every ref is back where it was"));
    }
    rewrite_journal::remove(repo)
}

/// Puts every ref of the journal back, checks the old HEAD out and removes the journal.
fn undo(repo: &DataRepo, journal: &RewriteJournal) -> Result<()> {
    refs::move_all(repo, journal, false)?;
    refs::check_out_head(repo)?;
    rewrite_journal::remove(repo)
}

/// What `--resume` / `--abort` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recovered {
    pub resumed: bool,
    pub refs: Vec<RefMove>,
}

/// Finishes (`resume`) or undoes an interrupted purge from its journal.
pub fn recover(repo: &DataRepo, resume: bool) -> Result<Recovered> {
    let _lock = lock::acquire_during_rewrite(repo, true)?;
    let Some(journal) = rewrite_journal::read(repo)? else {
        return Err(NesError::usage("no interrupted purge to resume or abort")
            .hint("`nes migrate status` shows what state the repository is in")
            .into());
    };
    if resume {
        finish(repo, &journal)?;
    } else {
        undo(repo, &journal)?;
    }
    Ok(Recovered {
        resumed: resume,
        refs: journal.refs,
    })
}

fn path_counts(policy: &Policy, selection: &[usize], counts: &RewriteCounts) -> Vec<PathCount> {
    selection
        .iter()
        .map(|&i| PathCount {
            rule: policy.rules[i].label(),
            values: counts.per_rule[i].0,
            blobs: counts.per_rule[i].1,
        })
        .collect()
}
