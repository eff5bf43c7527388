//! `nes migrate create`.

use super::{read_repo, GlobalArgs};
use crate::error::{ExitCode, NesError};
use crate::git::ledger::read_ledger;
use crate::migration::registry::Registry;
use crate::migration::scaffold::{self, NewMigration};

/// Scaffold `migrations/NNN-NAME/` from the templates, with the next free prefix.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kebab-case name without prefix, e.g. `source-election-constituencies`.
    pub name: String,
    /// Your name, written as AUTHOR (default: git config user.name).
    #[arg(long)]
    pub author: Option<String>,
    /// One line for DESCRIPTION.
    #[arg(long, default_value = "TODO: describe what this migration does")]
    pub description: String,
    /// DATE, YYYY-MM-DD (default: today).
    #[arg(long)]
    pub date: Option<String>,
}

pub fn exec(g: &GlobalArgs, registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    let author = match args.author.or_else(git_user_name) {
        Some(a) => a,
        None => {
            return Err(NesError::usage("no author given and no git user.name configured")
                .hint("pass --author \"Your Name\"")
                .into())
        }
    };
    let date = args
        .date
        .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string());
    // Prefixes recorded in the data repository's history count too, when it is there.
    let mut recorded: Vec<u16> = registry.all().iter().map(|m| m.prefix).collect();
    if g.db_repo.exists() {
        let ledger = read_ledger(&*read_repo(g)?)?;
        recorded.extend(
            ledger
                .entries
                .keys()
                .filter_map(|n| n.get(..3)?.parse::<u16>().ok()),
        );
    }
    let prefix = scaffold::next_prefix(&g.migrations_dir, recorded)?;
    let new = NewMigration {
        name: &args.name,
        author: &author,
        date: &date,
        description: &args.description,
    };
    let folder = scaffold::create(&g.migrations_dir, prefix, &new)?;
    println!("created {}", folder.display());
    if !g.quiet {
        eprintln!("next: add sources, write migrate() and README.md, then `cargo build` and");
        eprintln!("      `nes migrate run {prefix:03} --dry-run`");
    }
    Ok(ExitCode::Success)
}

fn git_user_name() -> Option<String> {
    git2::Config::open_default().ok()?.get_string("user.name").ok()
}
