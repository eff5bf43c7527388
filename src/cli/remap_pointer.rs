//! `nes db remap-pointer`.

use std::path::PathBuf;

use super::{output, GlobalArgs};
use crate::error::ExitCode;
use crate::privacy::purge::{map, pointer};

/// After a purge, point the parent repository's submodule at the rewritten commit.
///
/// Reads the gitlink of the data repository in the parent (tool) repository, maps it through
/// the commit map `nes db purge-history` wrote, stages and commits it. Run it in the tool
/// repository.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The commit map the purge wrote (default: the data repository's .git/nes/purge/commit-map).
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let map_path = match args.map {
        Some(path) => path,
        None => map::default_for(&g.db_repo)?,
    };
    let commits = map::read(&map_path)?;
    let remapped = pointer::remap_pointer(&g.db_repo, &commits)?;
    if args.json {
        output::json(&serde_json::json!({"schema_version": 1, "pointer": remapped}))?;
    } else if let Some(commit) = &remapped.commit {
        println!(
            "{} now points at {} (was {}): commit {}; push it",
            remapped.path,
            &remapped.new[..12],
            &remapped.old[..12],
            &commit[..12]
        );
    } else {
        println!(
            "{} already points at the purged history ({})",
            remapped.path,
            &remapped.new[..12]
        );
    }
    Ok(ExitCode::Success)
}
