//! `nes migrate revert`.

use super::{open_repo, output, GlobalArgs};
use crate::error::ExitCode;
use crate::git::{lock, recovery, revert};
use crate::migration::registry::Registry;

/// Undo every batch of an applied migration in one new commit; it is pending again.
///
/// The commit sets each path the migration changed back to its state before the migration
/// (or removes it). Refuses, naming the paths, when later commits changed any of them. The
/// data repository must be clean. Nothing is pushed: run `nes migrate push` afterwards.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The migration: full name (`004-foo`) or prefix (`004`).
    pub name: String,
    /// Commit identity, "Name <email>".
    #[arg(long, env = "NES_GIT_AUTHOR", value_name = "IDENTITY")]
    pub git_author: Option<String>,
    /// Print the result as one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    // A migration no longer compiled in can still be reverted by its full name.
    let name = registry
        .find(&args.name)
        .map_or_else(|| args.name.clone(), |m| m.name.to_string());
    let repo = open_repo(&g.db_repo)?;
    let _lock = lock::acquire(&repo, false)?;
    for removed in recovery::clear_leftovers(&repo)? {
        eprintln!("note: {removed}");
    }
    if let Some(run) = recovery::interrupted(&repo)? {
        return Err(crate::error::NesError::failed(format!(
            "run {} of {} was interrupted",
            run.run_id,
            run.name()
        ))
        .hint(format!("resolve it first with `{}`", run.repair_command()))
        .into());
    }
    let (signature, warning) = repo.signature(args.git_author.as_deref())?;
    if let Some(w) = warning {
        output::warn(&w, g.color_stderr());
    }
    let reverted = revert::revert_migration(&repo, &name, &signature)?;
    if args.json {
        output::json(&reverted)?;
    } else {
        println!(
            "reverted {} in commit {}: {} path(s) set back; it is pending again",
            reverted.migration,
            &reverted.commit[..12],
            reverted.paths.len()
        );
    }
    Ok(ExitCode::Success)
}
