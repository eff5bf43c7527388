//! `nes db init`.

use super::GlobalArgs;
use crate::error::{ExitCode, NesError};
use crate::git::repo::DataRepo;

/// Create the data repository at --db-repo.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// URL of a remote to add as `origin`.
    #[arg(long)]
    pub remote: Option<String>,
}

pub fn exec(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    if g.db_repo.join(".git").exists() {
        return Err(NesError::usage(format!("{} is already a repository", g.db_repo.display())).into());
    }
    DataRepo::init(&g.db_repo, args.remote.as_deref())?;
    println!("created data repository at {}", g.db_repo.display());
    Ok(ExitCode::Success)
}
