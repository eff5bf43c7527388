//! The command line: argument parsing and output, one file per command; the work itself
//! happens in the library modules.
//!
//! Nothing below it knows of it: no library module imports `cli`, so every command is a
//! library call that tests and embedders can make without a terminal.

mod completions;
mod create;
mod db_audit;
mod db_init;
mod db_verify;
mod deps;
mod diff;
mod list;
mod log;
mod mark_applied;
mod model;
mod output;
mod pending;
mod preview;
mod purge_history;
mod push;
mod remap_pointer;
mod repair;
mod revert;
mod run;
mod status;
mod validate;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::{self, ExitCode, NesError};
use crate::git::repo::DataRepo;
use crate::migration::registry::{Migration, Registry};
use crate::migration::runner::Runner;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  a migration or a check failed
  2  usage, configuration or input error before anything ran
  3  the data repository is busy (another run holds its lock)";

/// Evolve a Git-backed open-data repository through numbered, reviewable migrations.
///
/// Migrations are folders in `migrations/` compiled into this binary; their results are
/// committed to a separate data repository (default `./database-repo`), whose history is
/// the record of which migrations ran.
#[derive(Debug, Parser)]
#[command(name = "nes", version, after_long_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// The data repository.
    #[arg(
        long,
        global = true,
        env = "NES_DB_REPO",
        default_value = "database-repo",
        value_name = "DIR"
    )]
    pub db_repo: PathBuf,
    /// Where migration folders (and their source files) are.
    #[arg(
        long,
        global = true,
        env = "NES_MIGRATIONS_DIR",
        default_value = "migrations",
        value_name = "DIR"
    )]
    pub migrations_dir: PathBuf,
    /// Print only errors and the final result.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (e.g. the time of each phase of a run and every file it changed).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// When to use colours (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl GlobalArgs {
    /// Whether to colour stderr.
    pub fn color_stderr(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, preview, run and repair migrations.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Create and check the data repository.
    #[command(subcommand)]
    Db(DbCommand),
    /// Show what changed inside each document between two data commits (or in a migration).
    Diff(diff::Args),
    /// Show the version chain of one entity or relationship.
    Log(log::Args),
    /// Show the NES model compiled in: the prefix registry and what each kind holds.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Print a shell completion script (bash, zsh, fish, ...).
    Completions(completions::Args),
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// List every migration with its status.
    List(list::Args),
    /// List the migrations that have not run yet.
    Pending(pending::Args),
    /// Show what history records for each migration: commits, run, date, author.
    Status(status::Args),
    /// Run one migration, or every pending one with --all.
    Run(run::Args),
    /// Dry-run migrations and report what they would change (for pull requests).
    Preview(preview::Args),
    /// Scaffold a new migration folder with the next free prefix.
    Create(create::Args),
    /// Resolve a run that was interrupted (crash, kill, failed commit).
    Repair(repair::Args),
    /// Push the data repository's unpushed commits.
    Push(push::Args),
    /// Record a migration as applied without running it (history lost or rewritten).
    MarkApplied(mark_applied::Args),
    /// Undo every batch of an applied migration in one new commit; it is pending again.
    Revert(revert::Args),
    /// Check applied migrations for drift (edited after they ran).
    Validate(validate::Args),
    /// Show dependencies between migrations and warn about conflicts.
    Deps(deps::Args),
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// The prefix registry, or one kind's fields (`nes model show organization/hospital`).
    Show(model::Args),
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the data repository (branch `main`, a first commit, recommended settings).
    Init(db_init::Args),
    /// Check the data repository's integrity (parse, IDs, schemas, references, versions).
    Verify(db_verify::Args),
    Audit(db_audit::Args),
    PurgeHistory(purge_history::Args),
    RemapPointer(remap_pointer::Args),
}

/// Runs the command line with the migrations compiled into the binary; returns the exit code.
pub fn main(builtin: Vec<Migration>) -> std::process::ExitCode {
    let cli = Cli::parse();
    let color = cli.global.color_stderr();
    let code = match dispatch(cli, builtin) {
        Ok(code) => code,
        Err(err) => {
            output::print_error(&err, color);
            error::exit_code(&err)
        }
    };
    std::process::ExitCode::from(code as u8)
}

fn dispatch(cli: Cli, builtin: Vec<Migration>) -> anyhow::Result<ExitCode> {
    let registry = Registry::new(builtin)?;
    let g = &cli.global;
    match cli.command {
        Command::Migrate(cmd) => match cmd {
            MigrateCommand::List(args) => list::exec(g, &registry, args),
            MigrateCommand::Pending(args) => pending::exec(g, &registry, args),
            MigrateCommand::Status(args) => status::exec(g, &registry, args),
            MigrateCommand::Run(args) => run::exec(g, &registry, args),
            MigrateCommand::Preview(args) => preview::exec(g, &registry, args),
            MigrateCommand::Create(args) => create::exec(g, &registry, args),
            MigrateCommand::Repair(args) => repair::exec(g, args),
            MigrateCommand::Push(args) => push::exec(g, args),
            MigrateCommand::MarkApplied(args) => mark_applied::exec(g, &registry, args),
            MigrateCommand::Revert(args) => revert::exec(g, &registry, args),
            MigrateCommand::Validate(args) => validate::exec(g, &registry, args),
            MigrateCommand::Deps(args) => deps::exec(g, &registry, args),
        },
        Command::Db(DbCommand::Init(args)) => db_init::exec(g, args),
        Command::Db(DbCommand::Verify(args)) => db_verify::exec(g, args),
        Command::Db(DbCommand::Audit(args)) => db_audit::exec(g, args),
        Command::Db(DbCommand::PurgeHistory(args)) => purge_history::exec(g, args),
        Command::Db(DbCommand::RemapPointer(args)) => remap_pointer::exec(g, args),
        Command::Diff(args) => diff::exec(g, args),
        Command::Log(args) => log::exec(g, args),
        Command::Model(ModelCommand::Show(args)) => model::exec(g, args),
        Command::Completions(args) => completions::exec(args),
    }
}

/// Opens the data repository, explaining how to create it when missing.
fn open_repo(path: &Path) -> anyhow::Result<DataRepo> {
    if !path.exists() {
        return Err(
            NesError::usage(format!("no data repository at {}", path.display()))
                .hint(format!(
                    "create one with `nes db init --db-repo {}` (or `nes migrate run`, which creates it), \
                 or point --db-repo / NES_DB_REPO at an existing one",
                    path.display()
                ))
                .into(),
        );
    }
    DataRepo::open(path)
}

/// The data repository a read-only command looks at: the one at `--db-repo`, or, when
/// there is none yet, an empty stand-in (what `nes db init` makes) in a temporary directory,
/// said in one line on stderr. A fresh clone can then list, preview and dry-run before
/// anything exists, and nothing is created at `--db-repo`.
pub(crate) struct ReadRepo {
    repo: DataRepo,
    // Dropped (deleted) after the repository, when the command ends.
    _stand_in: Option<tempfile::TempDir>,
}

impl ReadRepo {
    /// A repository that exists at its path.
    fn new(repo: DataRepo) -> Self {
        Self {
            repo,
            _stand_in: None,
        }
    }
}

impl std::ops::Deref for ReadRepo {
    type Target = DataRepo;
    fn deref(&self) -> &DataRepo {
        &self.repo
    }
}

fn read_repo(g: &GlobalArgs) -> anyhow::Result<ReadRepo> {
    if g.db_repo.exists() {
        return Ok(ReadRepo::new(DataRepo::open(&g.db_repo)?));
    }
    if !g.quiet {
        output::note(
            &format!(
                "no data repository at {} yet: reading it as empty (`nes db init` or `nes migrate run` creates it)",
                g.db_repo.display()
            ),
            g.color_stderr(),
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("nes-empty-")
        .tempdir()
        .map_err(|e| anyhow::anyhow!("cannot create a temporary empty data repository: {e}"))?;
    Ok(ReadRepo {
        repo: DataRepo::init(dir.path(), None)?,
        _stand_in: Some(dir),
    })
}

/// A runner for the global options, printing the "not compiled" warning.
fn runner<'a>(g: &GlobalArgs, registry: &'a Registry) -> anyhow::Result<Runner<'a>> {
    let runner = Runner::new(registry, &g.migrations_dir);
    for warning in runner.warnings()? {
        output::warn(&warning, g.color_stderr());
    }
    Ok(runner)
}
