//! The refs a purge rewrites, what must hold before it starts, and moving them: every ref
//! compare-and-swap from the id the journal recorded, then the rewritten HEAD checked out.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result};
use git2::Oid;

use crate::error::NesError;
use crate::git::repo::DataRepo;
use crate::git::rewrite_journal::{RefMove, RewriteJournal};
use crate::git::{recovery, sync};

/// nes's own transient refs (`refs/nes/pre-run`): never rewritten, a purge refuses while
/// a run left one anyway.
const OWN_REFS: &str = "refs/nes/";

/// Every direct ref under `refs/` but nes's own, with its target, sorted by name.
pub(super) fn list(git: &git2::Repository) -> Result<Vec<(String, Oid)>> {
    let mut refs = Vec::new();
    for reference in git.references()? {
        let reference = reference?;
        let (Some(name), Some(target)) = (reference.name(), reference.target()) else {
            continue; // symbolic (`refs/remotes/origin/HEAD`): follows its target
        };
        if name.starts_with("refs/") && !name.starts_with(OWN_REFS) {
            refs.push((name.to_string(), target));
        }
    }
    refs.sort();
    Ok(refs)
}

/// Refuses what a purge must not start on: an interrupted run, a dirty working tree, or
/// local branch commits the remote-tracking branch lacks (a repository without a remote
/// has nothing to lose on the remote and is fine).
pub(super) fn check_start(repo: &DataRepo) -> Result<()> {
    if let Some(run) = recovery::interrupted(repo)? {
        return Err(NesError::failed(format!(
            "run {} of {} was interrupted; a purge rewrites every commit and must start from a finished state",
            run.run_id,
            run.name()
        ))
        .hint(format!("resolve it with `{}` first", run.repair_command()))
        .into());
    }
    for removed in recovery::clear_leftovers(repo)? {
        eprintln!("note: {removed}");
    }
    repo.ensure_clean()?;
    let git = repo.git();
    let remotes = git.remotes()?;
    for (name, target) in list(git)? {
        let Some(branch) = name.strip_prefix("refs/heads/") else {
            continue;
        };
        for remote in remotes.iter().flatten() {
            let tracking = format!("refs/remotes/{remote}/{branch}");
            let Ok(tracked) = git.refname_to_id(&tracking) else {
                continue;
            };
            let mut walk = git.revwalk()?;
            walk.push(target)?;
            walk.hide(tracked)?;
            let ahead: Vec<Oid> = walk.collect::<Result<_, _>>()?;
            if !ahead.is_empty() {
                let named: Vec<String> = ahead
                    .iter()
                    .take(5)
                    .map(|&c| sync::describe_oid(repo, c))
                    .collect();
                return Err(NesError::usage(format!(
                    "branch {branch} has {} commit(s) {tracking} does not have: {}{}",
                    ahead.len(),
                    named.join(", "),
                    if ahead.len() > 5 { ", ..." } else { "" }
                ))
                .hint(format!(
                    "a purge rewrites every commit and the remote must get the rewritten ones only: push them \
                     (`git -C {root} push {remote} {branch}`) or drop them (`git -C {root} reset --keep {tracking}`), then purge",
                    root = repo.root().display()
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// What a ref the journal lists points at now.
fn current(git: &git2::Repository, name: &str) -> Result<Option<Oid>> {
    match git.find_reference(name) {
        Ok(r) => Ok(r.target()),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Moves every ref of the journal from one side to the other (`forward`: old → new),
/// compare-and-swap; a ref already there is left. A ref some other process moved stops it.
pub(super) fn move_all(repo: &DataRepo, journal: &RewriteJournal, forward: bool) -> Result<()> {
    let git = repo.git();
    for (i, m) in journal.refs.iter().enumerate() {
        let (from, to) = ends(m, forward)?;
        let now = current(git, &m.name)?;
        if now == Some(to) {
            continue;
        }
        if now != Some(from) {
            return Err(NesError::failed(format!(
                "{} points at {} now, neither its id before the purge ({}) nor after ({}): another process moved it",
                m.name,
                now.map_or("nothing".into(), |o| o.to_string()),
                m.old,
                m.new
            ))
            .hint("stop the other writer, then run `nes db purge-history --resume` or `--abort` again")
            .into());
        }
        crate::fault::step(|| format!("move {}", m.name));
        let log = if forward {
            "nes db purge-history"
        } else {
            "nes db purge-history --abort"
        };
        git.reference_matching(&m.name, to, true, from, log)
            .with_context(|| format!("cannot move {} to {to}", m.name))?;
        if i == 0 && forward {
            crate::fault::point("purge-first-ref-moved");
        }
    }
    Ok(())
}

fn ends(m: &RefMove, forward: bool) -> Result<(Oid, Oid)> {
    let (old, new) = (Oid::from_str(&m.old)?, Oid::from_str(&m.new)?);
    Ok(if forward { (old, new) } else { (new, old) })
}

/// Makes the index and working tree HEAD's tree again (`git reset --hard`: only the files
/// whose blob changed are written). The ledger's cache, keyed by the old HEAD, is dropped.
pub(super) fn check_out_head(repo: &DataRepo) -> Result<()> {
    if let Ok(nes_dir) = repo.nes_dir() {
        let _ = std::fs::remove_file(nes_dir.join("ledger-cache.json"));
    }
    crate::fault::step(|| "git reset --hard".into());
    run_git(repo.root(), &["reset", "--hard", "--quiet", "HEAD"])?;
    Ok(())
}

/// Runs the `git` binary in `dir`; fails with its stderr, or clearly when git is missing.
pub(super) fn run_git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| {
            NesError::usage(format!("cannot run `git {}`: {e}", args.join(" ")))
                .hint("install git and put it on PATH: the purge checks the rewritten history with `git fsck --strict`")
        })?;
    if !out.status.success() {
        anyhow::bail!(
            "`git {}` in {} failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `git push` commands that publish the rewrite: every moved branch and tag, with a
/// lease on the id the remote had (its remote-tracking ref before the purge, else the
/// ref's own old id), so a remote that moved meanwhile is not overwritten.
pub(super) fn push_commands(git: &git2::Repository, moved: &[RefMove]) -> Result<Vec<String>> {
    let remotes = git.remotes()?;
    let Some(remote) = remotes
        .iter()
        .flatten()
        .find(|r| *r == "origin")
        .or_else(|| remotes.iter().flatten().next())
    else {
        return Ok(Vec::new());
    };
    let mut commands = Vec::new();
    for m in moved {
        let lease = if let Some(branch) = m.name.strip_prefix("refs/heads/") {
            let tracking = format!("refs/remotes/{remote}/{branch}");
            moved
                .iter()
                .find(|t| t.name == tracking)
                .map_or(m.old.as_str(), |t| t.old.as_str())
        } else if m.name.starts_with("refs/tags/") {
            m.old.as_str()
        } else {
            continue;
        };
        commands.push(format!(
            "git push --force-with-lease={name}:{lease} {remote} {new}:{name}",
            name = m.name,
            new = m.new
        ));
    }
    Ok(commands)
}
