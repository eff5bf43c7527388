//! `nes migrate deps`.

use super::{output, read_repo, runner, GlobalArgs};
use crate::error::ExitCode;
use crate::migration::deps::{self, Node};
use crate::migration::registry::Registry;
use crate::migration::runner::{RunOptions, Target};

/// Show which migrations depend on which, from what they read and wrote.
///
/// Applied migrations use the record committed with their run (`.nes/runs/`); pending
/// ones are dry-run in order to find out. Warns when a pending migration reads data only a
/// later-numbered migration writes, and when two pending migrations write the same IDs;
/// a cycle is an error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    let runner = runner(g, registry)?;
    let repo = read_repo(g)?;
    let statuses = runner.statuses(&repo)?;
    let mut nodes: Vec<Node> = deps::recorded(&repo)?
        .into_iter()
        .filter_map(|(name, access)| {
            let prefix = name.get(..3)?.parse().ok()?;
            Some(Node {
                name,
                prefix,
                pending: false,
                access,
            })
        })
        .collect();
    let pending: Vec<String> = statuses
        .iter()
        .filter(|s| s.status.is_pending() && s.compiled)
        .map(|s| s.name.clone())
        .collect();
    if !pending.is_empty() {
        let options = RunOptions {
            dry_run: true,
            allow_out_of_order: true,
            continue_on_failure: true,
            progress: false,
            stream_logs: false,
            ..RunOptions::default()
        };
        let report = runner.run(&repo, &Target::Named(pending), &options)?;
        for m in report.migrations {
            if !m.error.is_empty() {
                output::warn(
                    &format!("{} failed in its dry run: {}", m.name, m.error.join(": ")),
                    g.color_stderr(),
                );
            }
            let prefix = m.name[..3].parse().unwrap_or_default();
            nodes.push(Node {
                name: m.name,
                prefix,
                pending: true,
                access: m.access,
            });
        }
    }
    let report = deps::analyze(nodes)?;
    if args.json {
        output::json(&report)?;
    } else {
        if report.edges.is_empty() {
            println!("no dependencies between migrations");
        }
        for e in &report.edges {
            println!("{} → {}  ({})", e.from, e.to, e.because.join(", "));
        }
        for w in &report.warnings {
            output::warn(w, g.color_stderr());
        }
    }
    if let Some(err) = deps::cycle_error(&report) {
        return Err(err.into());
    }
    Ok(ExitCode::Success)
}
