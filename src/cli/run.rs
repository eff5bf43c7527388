//! `nes migrate run`.

use std::time::Duration;

use super::{output, read_repo, runner, GlobalArgs, ReadRepo};
use crate::error::ExitCode;
use crate::git::repo::DataRepo;
use crate::migration::registry::Registry;
use crate::migration::runner::{RunOptions, RunReport, Target, DEFAULT_BATCH_SIZE, DEFAULT_PUSH_RETRIES};

/// Run migrations and commit their changes to the data repository.
///
/// Creates the data repository when it does not exist yet. Without --dry-run, each
/// migration's changes are committed in batches and the branch is pushed to its remote.
/// A run that pushes first fetches the remote branch and starts from its head; when the
/// push is rejected because another writer pushed meanwhile, the migrations are run again
/// on the new head and pushed again (never a rebase of data commits, never a force push).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The migration to run: full name (`004-foo`) or prefix (`004`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<String>,
    /// Run every pending migration in prefix order (applied ones are skipped).
    #[arg(long)]
    pub all: bool,
    /// Run the migration code but change nothing in the data repository.
    #[arg(long)]
    pub dry_run: bool,
    /// Run an already applied migration again.
    #[arg(long)]
    pub force: bool,
    /// With --all, go on after a failed migration.
    #[arg(long)]
    pub continue_on_failure: bool,
    /// Run pending migrations numbered below an applied one.
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Derive timestamps from each migration's DATE, so replays give identical files.
    #[arg(long)]
    pub reproducible: bool,
    /// Files per commit.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Commit identity, "Name <email>" (else the data repository's git config).
    #[arg(long, env = "NES_GIT_AUTHOR", value_name = "IDENTITY")]
    pub git_author: Option<String>,
    /// Do not push after committing.
    #[arg(long)]
    pub no_push: bool,
    /// Remote to push to (default: the branch's upstream, else origin).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
    /// Seconds to wait for each fetch and push.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub push_timeout: u64,
    /// When the push is rejected because another writer pushed first: how many times to
    /// fetch, run the migrations again on the remote's new head (or drop one another run
    /// applied there first) and push again. 0 keeps the commits and stops at the first
    /// rejection.
    #[arg(long, default_value_t = DEFAULT_PUSH_RETRIES, value_name = "N")]
    pub push_retries: u32,
    /// Remove a lock left behind by a run that died.
    #[arg(long)]
    pub break_lock: bool,
    /// After committing, commit the new pointer in the parent repository when the data
    /// repository is its submodule.
    #[arg(long)]
    pub update_submodule: bool,
    /// Also write `v2/migration-logs/NNN-name/metadata.json` as the original Python tool
    /// does (for data repositories it still reads), committed with the last batch.
    #[arg(long)]
    pub write_migration_logs: bool,
    /// Also append the result, as markdown, to this file (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    pub summary: Option<std::path::PathBuf>,
    /// Do not verify the touched files before committing (not recommended).
    #[arg(long)]
    pub no_verify: bool,
    /// Print the result as one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    let color = g.color_stderr();
    let runner = runner(g, registry)?;
    // A dry run writes nothing, so on a fresh clone it runs against an empty stand-in.
    let repo = if g.db_repo.exists() || args.dry_run {
        read_repo(g)?
    } else {
        if !g.quiet {
            eprintln!("creating data repository at {}", g.db_repo.display());
        }
        ReadRepo::new(DataRepo::init(&g.db_repo, None)?)
    };
    let target = match args.name {
        Some(name) => Target::Named(vec![name]),
        None => Target::AllPending,
    };
    let options = RunOptions {
        dry_run: args.dry_run,
        force: args.force,
        continue_on_failure: args.continue_on_failure,
        allow_out_of_order: args.allow_out_of_order,
        reproducible: args.reproducible,
        batch_size: args.batch_size as usize,
        git_author: args.git_author,
        push: !args.no_push,
        remote: args.remote,
        push_timeout: Duration::from_secs(args.push_timeout),
        push_retries: args.push_retries,
        break_lock: args.break_lock,
        update_submodule: args.update_submodule,
        no_verify: args.no_verify,
        progress: !g.quiet && !args.json,
        stream_logs: !g.quiet,
        write_migration_logs: args.write_migration_logs,
    };
    if args.no_verify {
        output::warn(
            "--no-verify: files written by migrations will be committed WITHOUT integrity checks",
            color,
        );
    }
    let report = runner.run(&repo, &target, &options)?;
    if let Some(path) = &args.summary {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(crate::migration::preview::render_markdown(&report, &[]).as_bytes())?;
    }
    if args.json {
        output::json(&report)?;
    } else {
        output::run_summary(&report, color, g.verbose);
    }
    let rejected = matches!(report.push, Some(crate::git::push::PushOutcome::Rejected { .. }));
    if rejected {
        output::warn(&rejection(&report), color);
    }
    Ok(if report.failed() || rejected {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
}

/// The final word on a push the remote kept rejecting: what the remote has, what was not
/// pushed, and what to do.
fn rejection(report: &RunReport) -> String {
    let Some(landing) = &report.landing else {
        return "the push was rejected: the remote has commits this repository does not; your commits are kept. \
                Integrate the remote's commits, then run `nes migrate push`"
            .into();
    };
    let remote = format!("{}/{}", landing.remote, landing.branch);
    let head = landing
        .remote_head
        .as_deref()
        .map_or("no such branch".to_string(), |h| {
            format!("at {}", &h[..12.min(h.len())])
        });
    let not_pushed = if landing.not_pushed.is_empty() {
        "nothing".to_string()
    } else {
        landing.not_pushed.join(", ")
    };
    format!(
        "the push to {remote} was rejected {} time(s): another writer pushed first each time. {remote} is {head}; \
         not pushed: {not_pushed} (its commits are kept here). Run `nes migrate run` again \
         (it runs them again on the remote's head), or raise --push-retries",
        landing.push_attempts
    )
}
