//! `nes migrate list`.

use super::{output, read_repo, runner, GlobalArgs};
use crate::error::ExitCode;
use crate::migration::registry::Registry;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON document (`{"schema_version": 1, "migrations": [...]}`).
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    let runner = runner(g, registry)?;
    let rows = runner.statuses(&*read_repo(g)?)?;
    output::migrations(&rows, args.json)?;
    Ok(ExitCode::Success)
}
