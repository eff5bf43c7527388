//! `nes migrate mark-applied`.

use super::{open_repo, runner, GlobalArgs};
use crate::error::{ExitCode, NesError};
use crate::git::commit::commit_one;
use crate::git::lock;
use crate::git::message::baseline_message;
use crate::git::recovery;
use crate::git::repo::DataRepo;
use crate::migration::checksum::folder_checksum;
use crate::migration::registry::Registry;
use crate::migration::runner::new_run_id;
use crate::migration::status::Status;

/// Record a migration as applied without running it (a baseline).
///
/// For a data repository whose history no longer records a migration that did run (history
/// squashed or rewritten): makes one empty commit with the batch trailers and
/// `Nes-Baseline: true`, so `status` shows it applied and `run --all` skips it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The migration: full name (`004-foo`) or prefix (`004`).
    pub name: String,
    /// Why it is marked applied, written into the commit message.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Commit identity, "Name <email>".
    #[arg(long, env = "NES_GIT_AUTHOR", value_name = "IDENTITY")]
    pub git_author: Option<String>,
}

pub fn exec(g: &GlobalArgs, registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    let runner = runner(g, registry)?;
    let name = registry
        .find(&args.name)
        .map(|m| m.name.to_string())
        .ok_or_else(|| {
            NesError::usage(format!(
                "no migration named `{}` is compiled into this binary",
                args.name
            ))
            .hint("see `nes migrate list`; a folder added after the build needs `cargo build`")
        })?;
    let repo = open_repo(&g.db_repo)?;
    let _lock = lock::acquire(&repo, false)?;
    for removed in recovery::clear_leftovers(&repo)? {
        eprintln!("note: {removed}");
    }
    refuse_interrupted(&repo)?;
    let status = runner
        .statuses(&repo)?
        .into_iter()
        .find(|s| s.name == name)
        .map_or(Status::Pending, |s| s.status);
    refuse_recorded(&name, status)?;
    let dir = g.migrations_dir.join(&name);
    let checksum = folder_checksum(&dir).ok();
    let run_id = new_run_id();
    let message = baseline_message(&name, &run_id, checksum.as_deref(), &args.reason);
    let (signature, warning) = repo.signature(args.git_author.as_deref())?;
    if let Some(w) = warning {
        super::output::warn(&w, g.color_stderr());
    }
    let commit = commit_one(&repo, &[], &message, &signature)?;
    println!(
        "marked {name} as applied (run {run_id}, commit {})",
        &commit.to_string()[..12]
    );
    Ok(ExitCode::Success)
}

/// An interrupted run must be repaired first: its batches may be what is missing.
fn refuse_interrupted(repo: &DataRepo) -> anyhow::Result<()> {
    match recovery::interrupted(repo)? {
        Some(run) => Err(
            NesError::failed(format!("run {} of {} was interrupted", run.run_id, run.name()))
                .hint(format!("resolve it first with `{}`", run.repair_command()))
                .into(),
        ),
        None => Ok(()),
    }
}

/// Only a migration history does not record (pending or out of order) can be marked.
fn refuse_recorded(name: &str, status: Status) -> anyhow::Result<()> {
    match status {
        Status::Pending | Status::OutOfOrder | Status::NotCompiled | Status::Example => Ok(()),
        Status::Applied | Status::Unpushed => Err(NesError::usage(format!(
            "{name} is already applied; history records it"
        ))
        .hint("`nes migrate status` shows its commits; nothing to mark")
        .into()),
        Status::Partial => Err(NesError::usage(format!(
            "{name} is partially applied: some of its batch commits are in history"
        ))
        .hint(format!(
            "finish or roll back that run with `nes migrate repair {name}`"
        ))
        .into()),
    }
}
