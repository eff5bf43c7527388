//! `nes migrate repair`.

use super::{open_repo, GlobalArgs};
use crate::error::{ExitCode, NesError};
use crate::git::recovery::{self, RepairMode};

/// Resolve an interrupted run: finish its remaining batch commits, or roll back to the
/// commit before it started (--rollback).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The migration whose run was interrupted (as `nes migrate status` names it), checked
    /// against the run when given.
    pub name: Option<String>,
    /// Return branch, index and working tree to the commit before the run.
    #[arg(long)]
    pub rollback: bool,
    /// Commit identity, "Name <email>".
    #[arg(long, env = "NES_GIT_AUTHOR", value_name = "IDENTITY")]
    pub git_author: Option<String>,
}

pub fn exec(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let repo = open_repo(&g.db_repo)?;
    // Repair is the remedy for a crashed run, so it takes over the lock the crashed process
    // left behind; a lock held by a live process still refuses (exit code 3).
    let _lock = crate::git::lock::acquire(&repo, true)?;
    let removed = recovery::clear_leftovers(&repo)?;
    for line in &removed {
        eprintln!("note: {line}");
    }
    let Some(run) = recovery::interrupted(&repo)? else {
        if !removed.is_empty() {
            println!("removed what a stopped run left; no run was interrupted");
            return Ok(ExitCode::Success);
        }
        return Err(NesError::usage("no interrupted run to repair")
            .hint("`nes migrate status` shows each migration's state")
            .into());
    };
    // A run whose record is lost and which committed nothing has no name: any will do.
    if let Some(name) = args.name.as_deref() {
        if !run.migration.is_empty()
            && run.migration != name
            && !run.migration.starts_with(&format!("{name}-"))
        {
            return Err(
                NesError::usage(format!("the interrupted run is of {}, not {name}", run.migration))
                    .hint(format!("`{}` resolves it", run.repair_command()))
                    .into(),
            );
        }
    }
    // Without a saved plan only a rollback is possible: the run crashed before committing.
    let mode = if args.rollback || run.planned_batches == 0 {
        RepairMode::Rollback
    } else {
        RepairMode::Complete
    };
    let (signature, warning) = repo.signature(args.git_author.as_deref())?;
    if let Some(w) = warning {
        super::output::warn(&w, g.color_stderr());
    }
    recovery::repair(&repo, mode, &signature)?;
    match mode {
        RepairMode::Complete => println!(
            "completed run {} of {}: all {} batches committed",
            run.run_id,
            run.name(),
            run.planned_batches
        ),
        RepairMode::Rollback => println!(
            "rolled back run {} of {} to {}",
            run.run_id,
            run.name(),
            &run.pre_run_commit[..12.min(run.pre_run_commit.len())]
        ),
    }
    Ok(ExitCode::Success)
}
