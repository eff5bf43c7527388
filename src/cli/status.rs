//! `nes migrate status`.

use super::{output, read_repo, runner, GlobalArgs};
use crate::error::ExitCode;
use crate::git::crash_state::{crash_state, CrashState};
use crate::git::recovery;
use crate::migration::registry::Registry;
use crate::migration::runner::SCHEMA_VERSION;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON document with commits and run IDs.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    let runner = runner(g, registry)?;
    let repo = read_repo(g)?;
    let rows = runner.statuses(&repo)?;
    let interrupted = recovery::interrupted(&repo)?;
    let recovery = crash_state(&repo)?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            migrations: &'a [crate::migration::status::MigrationStatus],
            interrupted: Option<recovery::Interrupted>,
            /// What a stopped run left and the command that recovers it.
            recovery: Option<CrashState>,
        }
        output::json(&Doc {
            schema_version: SCHEMA_VERSION,
            migrations: &rows,
            interrupted,
            recovery,
        })?;
        return Ok(ExitCode::Success);
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:<12}  {:<8}  {:<22}  RUN",
        "NAME", "STATUS", "COMMITS", "RECORDED"
    );
    for r in &rows {
        let ledger = r.ledger.as_ref();
        let commits = ledger.map_or("-".to_string(), |l| match (l.python_log, l.commits.first()) {
            (true, _) => "log".to_string(),
            (_, Some(c)) => format!("{} ({})", &c[..7.min(c.len())], l.commits.len()),
            _ => "-".to_string(),
        });
        let recorded = ledger.and_then(|l| l.date.clone()).unwrap_or_else(|| "-".into());
        let run = ledger
            .and_then(|l| l.run_id.clone())
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<width$}  {:<12}  {:<8}  {:<22}  {run}",
            r.name,
            r.status.as_str(),
            commits,
            recorded
        );
    }
    if let Some(state) = recovery {
        output::warn(
            &format!(
                "state {}: {}; recover with `{}`",
                state.state, state.detail, state.command
            ),
            g.color_stderr(),
        );
    }
    Ok(ExitCode::Success)
}
