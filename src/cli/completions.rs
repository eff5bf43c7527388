//! `nes completions`.

use clap::CommandFactory;

use crate::error::ExitCode;

/// Print a completion script, e.g. `nes completions bash > /etc/bash_completion.d/nes`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    pub shell: clap_complete::Shell,
}

pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    clap_complete::generate(
        args.shell,
        &mut super::Cli::command(),
        "nes",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::Success)
}
