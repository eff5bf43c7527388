//! `nes migrate pending`.

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
    let mut rows = runner.statuses(&*read_repo(g)?)?;
    rows.retain(|r| r.status.is_pending());
    output::migrations(&rows, args.json)?;
    if !args.json {
        println!("{} pending", rows.len());
    }
    Ok(ExitCode::Success)
}
