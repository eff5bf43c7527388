//! `nes migrate push`.

use std::time::Duration;

use super::{open_repo, output, GlobalArgs};
use crate::error::ExitCode;
use crate::git::push::{push, PushOutcome};

/// Push the data repository's branch (after a rejected push was integrated).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remote to push to (default: the branch's upstream, else origin).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
    /// Seconds to wait.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let repo = open_repo(&g.db_repo)?;
    let outcome = push(&repo, args.remote.as_deref(), Duration::from_secs(args.timeout))?;
    if args.json {
        output::json(&outcome)?;
    }
    Ok(match outcome {
        PushOutcome::Pushed { remote, branch } => {
            if !args.json {
                println!("pushed {branch} to {remote}");
            }
            ExitCode::Success
        }
        PushOutcome::NoRemote => {
            if !args.json {
                println!("no remote configured: nothing to push");
            }
            ExitCode::Success
        }
        PushOutcome::Rejected { remote, detail, .. } => {
            output::warn(
                &format!(
                    "{remote} rejected the push: {detail}. Run `nes migrate run`: it starts from the remote's head and runs nes's unpushed migrations again on it (commits of your own: integrate them with `git -C {} pull --rebase` first)",
                    g.db_repo.display()
                ),
                g.color_stderr(),
            );
            ExitCode::Failure
        }
    })
}
