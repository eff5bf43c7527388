//! `nes migrate validate`.

use super::{output, read_repo, runner, GlobalArgs};
use crate::error::ExitCode;
use crate::migration::drift;
use crate::migration::registry::Registry;
use crate::migration::runner::SCHEMA_VERSION;

/// Check applied migrations for drift: a folder edited after the migration ran.
///
/// Compares the checksum recorded in each applied migration's commit trailers with the
/// folder now (CRLF and LF text count as the same). The code and every source count; the
/// folder's top-level README.md does not (checksums recorded as `v1` by older runs still
/// cover it). Exits 1 when any migration drifted.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    let runner = runner(g, registry)?;
    let statuses = runner.statuses(&*read_repo(g)?)?;
    let drifted = drift::find(&statuses, &g.migrations_dir)?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            drift: &'a [drift::Drift],
        }
        output::json(&Doc {
            schema_version: SCHEMA_VERSION,
            drift: &drifted,
        })?;
    } else if drifted.is_empty() {
        println!("no drift: every applied migration matches its recorded checksum");
    } else {
        for d in &drifted {
            println!("{}: edited after it ran (applied in {})", d.name, d.commit);
            println!("  recorded {}\n  now      {}", d.recorded, d.current);
        }
        println!("help: revert the edits, or write a new migration for the change (applied migrations are history)");
    }
    Ok(if drifted.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}
