//! The runner: applies migrations to the data repository, or dry-runs them, and reports.
//!
//! A real run writes through the working tree, then commits in batches; a failure or panic
//! restores every touched path from HEAD, so nothing is recorded unless it all succeeded.
//! A dry run writes into one in-memory overlay shared by the migrations it runs in order.
//!
//! Here: selecting what to run and the run loop (lock, ledger, push). One file per phase
//! of a migration's run: `execute` (its code), `plan` (what it will commit), `guard` (the
//! pre-commit verification), `apply` (commit, index sync, or restore on failure), then
//! `records` (run record, Python log) and `report`. It drives `git` and `store`; nothing
//! below it knows of runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};

use super::discover;
use super::registry::{Migration, Registry};
use super::status::{self, MigrationStatus, Status};
use crate::error::NesError;
use crate::fault;
use crate::git::ledger::read_ledger;
use crate::git::push::{push, PushOutcome};
use crate::git::repo::DataRepo;
use crate::git::{lock, preflight, recovery};
use crate::store::backend::{Backend, Overlay};

mod apply;
mod execute;
mod guard;
mod land;
mod plan;
mod records;
mod report;

use execute::progress_bar;
use guard::guard;
pub use land::{Landing, DEFAULT_PUSH_RETRIES};
pub use records::{default_author, new_run_id};
use records::{write_python_log, write_run_record};
use report::{changed_files, submodule_message};
pub use report::{FileReport, MigrationReport, Outcome, Phase, RunReport};

/// Version of the JSON documents `nes` prints; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Default number of files per batch commit.
pub const DEFAULT_BATCH_SIZE: usize = 1000;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run the code but change nothing in the data repository.
    pub dry_run: bool,
    /// Re-run migrations that are already applied.
    pub force: bool,
    /// Go on with the next migration after a failure.
    pub continue_on_failure: bool,
    /// Run pending migrations numbered below an applied one.
    pub allow_out_of_order: bool,
    /// Timestamps from the migration's DATE and a counter, for byte-identical replays.
    pub reproducible: bool,
    pub batch_size: usize,
    /// `"Name <email>"` for the commits.
    pub git_author: Option<String>,
    /// Push after committing.
    pub push: bool,
    pub remote: Option<String>,
    pub push_timeout: Duration,
    /// When a push is rejected because the remote moved: how many times to run the
    /// migrations again on its new head and push again.
    pub push_retries: u32,
    pub break_lock: bool,
    /// Commit the data repository's new HEAD in the parent repository it is a submodule of.
    pub update_submodule: bool,
    /// Skip verifying the touched files before committing (reported as a warning).
    pub no_verify: bool,
    /// Draw progress bars (they also hide themselves when stderr is not a terminal).
    pub progress: bool,
    /// Stream migration logs to stderr as they happen.
    pub stream_logs: bool,
    /// Also write the original Python tool's `v2/migration-logs/<name>/metadata.json`,
    /// committed with the last batch (for data repositories that tool still reads).
    pub write_migration_logs: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            force: false,
            continue_on_failure: false,
            allow_out_of_order: false,
            reproducible: false,
            batch_size: DEFAULT_BATCH_SIZE,
            git_author: None,
            push: true,
            remote: None,
            push_timeout: Duration::from_secs(300),
            push_retries: DEFAULT_PUSH_RETRIES,
            break_lock: false,
            update_submodule: false,
            no_verify: false,
            progress: true,
            stream_logs: true,
            write_migration_logs: false,
        }
    }
}

/// Which migrations to run.
#[derive(Debug, Clone)]
pub enum Target {
    /// Every pending migration, in prefix order.
    AllPending,
    /// These, by name or prefix, in prefix order.
    Named(Vec<String>),
}

/// Receives migration log lines as they happen: `(migration, line)`.
pub type LogSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Applies migrations from a registry whose source folders live in `migrations_dir`.
pub struct Runner<'a> {
    pub registry: &'a Registry,
    pub migrations_dir: PathBuf,
    pub on_log: LogSink,
}

impl<'a> Runner<'a> {
    /// A runner that prints logs to stderr.
    pub fn new(registry: &'a Registry, migrations_dir: impl Into<PathBuf>) -> Self {
        Self {
            registry,
            migrations_dir: migrations_dir.into(),
            on_log: Arc::new(|name, line| eprintln!("[{name}] {line}")),
        }
    }

    /// Status of every migration, from the data repository's history.
    pub fn statuses(&self, repo: &DataRepo) -> Result<Vec<MigrationStatus>> {
        let ledger = read_ledger(repo)?;
        let folders = discover::folders(&self.migrations_dir)
            .with_context(|| format!("reading {}", self.migrations_dir.display()))?;
        Ok(status::statuses(self.registry, &folders, &ledger))
    }

    /// Warnings every command prints: folders on disk that are not compiled in.
    pub fn warnings(&self) -> Result<Vec<String>> {
        let missing = discover::not_compiled(&self.migrations_dir, self.registry)?;
        Ok(discover::not_compiled_warning(&missing).into_iter().collect())
    }

    /// Runs (or dry-runs) the target migrations.
    pub fn run(&self, repo: &DataRepo, target: &Target, options: &RunOptions) -> Result<RunReport> {
        // Before the lock, which writes its file: a refusal leaves the repository as it was.
        if !options.dry_run {
            preflight::check(repo, 0)?;
        }
        let _lock = if options.dry_run {
            None
        } else {
            Some(lock::acquire(repo, options.break_lock)?)
        };
        if !options.dry_run {
            // Under the lock no nes runs: what a stopped one left of its own is removed.
            for removed in recovery::clear_leftovers(repo)? {
                eprintln!("note: {removed}");
            }
            if let Some(run) = recovery::interrupted(repo)? {
                return Err(NesError::failed(format!(
                    "run {} of {} was interrupted ({} of {} batches committed)",
                    run.run_id,
                    run.name(),
                    run.committed_batches,
                    run.planned_batches
                ))
                .hint(format!("resolve it first with `{}`", run.repair_command()))
                .into());
            }
        }
        let mut report = RunReport {
            schema_version: SCHEMA_VERSION,
            dry_run: options.dry_run,
            migrations: Vec::new(),
            push: None,
            landing: None,
            submodule_commit: None,
            warnings: self.warnings()?,
        };
        let (signature, identity_warning) = repo.signature(options.git_author.as_deref())?;
        report.warnings.extend(identity_warning);
        // A run that pushes starts from the remote's head, so what is pending is what is
        // pending there, and the push lands on top of other writers' commits.
        let upstream = if options.push && !options.dry_run {
            self.start_from_remote(repo, &signature, options, &mut report)?
        } else {
            None
        };
        // Read under the lock: another run may have just finished.
        let statuses = self.statuses(repo)?;
        if let Some(partial) = statuses.iter().find(|s| s.status == Status::Partial) {
            return Err(NesError::failed(format!(
                "migration {} is partially applied: some of its batch commits are missing from history",
                partial.name
            ))
            .hint(format!(
                "run `nes migrate repair {}` before running migrations",
                partial.name
            ))
            .into());
        }
        status::refuse_shared_prefixes(&statuses)?;
        for drifted in super::drift::find(&statuses, &self.migrations_dir)? {
            report.warnings.push(super::drift::warning(&drifted));
        }
        let selected = self.select(&statuses, target, options, &mut report)?;
        if !options.dry_run && !selected.is_empty() {
            repo.ensure_clean()?;
        }

        let mut overlay: Option<Box<dyn Backend>> = None;
        // Replays of nes's unpushed commits when the run started count as committed.
        let mut committed = report.migrations.iter().any(|m| !m.commits.is_empty());
        for migration in selected {
            let result = if options.dry_run {
                let backend = overlay
                    .take()
                    .unwrap_or_else(|| Box::new(Overlay::new(repo.root())));
                let (result, backend) = self.dry_run_one(repo, migration, backend, options);
                overlay = Some(backend);
                result
            } else {
                self.apply_one(repo, migration, &signature, options)?
            };
            committed |= !result.commits.is_empty();
            let failed = result.status == Outcome::Failed;
            report.migrations.push(result);
            if failed && !options.continue_on_failure {
                break;
            }
        }
        // nes's commits the remote lacks from an earlier run (killed before its push, or
        // `--no-push`) land with this one, or alone.
        let ahead = report.landing.as_ref().is_some_and(|l| l.start == "ahead");
        if (committed || ahead) && options.push {
            match &upstream {
                Some(up) => self.land(repo, up, &signature, options, &mut report)?,
                None => {
                    fault::point("before-push");
                    report.push = Some(push(repo, options.remote.as_deref(), options.push_timeout)?);
                }
            }
        }
        // The parent records the data commit the remote has: not one a rejected push left
        // behind, and none when other runs applied everything first.
        let rejected = matches!(report.push, Some(PushOutcome::Rejected { .. }));
        let landed = report.migrations.iter().any(|m| !m.commits.is_empty())
            || (ahead && matches!(report.push, Some(PushOutcome::Pushed { .. })));
        if landed && !rejected && options.update_submodule {
            let message = submodule_message(&report);
            report.submodule_commit =
                crate::git::submodule::commit_pointer(repo.root(), &message, &signature)?
                    .map(|c| c.to_string());
        }
        Ok(report)
    }

    fn select(
        &self,
        statuses: &[MigrationStatus],
        target: &Target,
        options: &RunOptions,
        report: &mut RunReport,
    ) -> Result<Vec<&'a Migration>> {
        let status_of = |name: &str| {
            statuses
                .iter()
                .find(|s| s.name == name)
                .map_or(Status::Pending, |s| s.status)
        };
        let mut selected = Vec::new();
        match target {
            Target::AllPending => {
                for m in self.registry.all() {
                    match status_of(m.name) {
                        Status::Pending => selected.push(m),
                        Status::OutOfOrder if options.allow_out_of_order => selected.push(m),
                        Status::OutOfOrder => report.warnings.push(format!(
                            "{} is numbered below an applied migration and was not run; \
                             run it with --allow-out-of-order after checking it does not conflict",
                            m.name
                        )),
                        _ => {}
                    }
                }
            }
            Target::Named(names) => {
                for name in names {
                    let m = self.registry.find(name).ok_or_else(|| {
                        NesError::usage(format!(
                            "no migration named `{name}` is compiled into this binary"
                        ))
                        .hint("see `nes migrate list`; a folder added after the build needs `cargo build`")
                    })?;
                    match status_of(m.name) {
                        // Replayed as the run started (nes's unpushed batches under a moved remote).
                        _ if report.migrations.iter().any(|r| r.name == m.name) => {}
                        Status::Applied | Status::Unpushed if !options.force => {
                            let mut skipped = MigrationReport::new(m.name, Outcome::Skipped);
                            skipped.reason = Some("already applied; use --force to run it again".into());
                            report.migrations.push(skipped);
                        }
                        Status::Example => {
                            return Err(NesError::usage(format!(
                                "{} is an example migration, and this repository's history holds real migrations",
                                m.name
                            ))
                            .hint("examples run only on a repository of examples (e.g. a fresh `database-repo/`)")
                            .into())
                        }
                        Status::OutOfOrder if !options.allow_out_of_order => {
                            return Err(NesError::usage(format!(
                                "{} is numbered below an applied migration (out of order)",
                                m.name
                            ))
                            .hint("check it does not conflict with later migrations, then pass --allow-out-of-order")
                            .into())
                        }
                        _ => selected.push(m),
                    }
                }
                selected.sort_by(|a, b| (a.prefix, a.name).cmp(&(b.prefix, b.name)));
                selected.dedup_by_key(|m| m.name);
            }
        }
        Ok(selected)
    }
}
