//! The runner: applies migrations to the data repository, or dry-runs them, and reports.
//!
//! A real run writes through the working tree, then commits in batches; a failure or panic
//! restores every touched path from HEAD, so nothing is recorded unless it all succeeded.
//! A dry run writes into one in-memory overlay shared by the migrations it runs in order.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::checksum::folder_checksum;
use super::context::Context;
use super::deps::{record_path, RunRecord};
use super::discover;
use super::fault;
use super::python_log::{self, PythonLog};
use super::registry::{Migration, MigrationFn, Registry};
use super::status::{self, MigrationStatus, Status};
use crate::error::NesError;
use crate::git::commit::{consolidate_packs, plan_batches, prepare_batches, FileChange};
use crate::git::index::{sync_index, BlobIds};
use crate::git::ledger::read_ledger;
use crate::git::message::CommitMeta;
use crate::git::plumbing::blob_spill::BlobSpill;
use crate::git::push::{push, PushOutcome};
use crate::git::repo::DataRepo;
use crate::git::{lock, recovery};
use crate::stats::Stats;
use crate::store::backend::{Backend, Overlay, WorkTree};
use crate::store::clock::{Clock, ReproducibleClock, SystemClock};
use crate::store::journal::ChangeKind;
use crate::store::publication::{Access, AuthorRef, KindCounts, Publication};
use crate::store::slug;

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

/// How one migration's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Completed,
    Failed,
    Skipped,
}

/// A file a run added, changed or deleted.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub change: ChangeKind,
}

/// The result of one migration.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    pub name: String,
    pub status: Outcome,
    pub duration_seconds: f64,
    #[serde(flatten)]
    pub stats: Stats,
    /// Counts by `type/subtype`, with sample names of created objects.
    pub by_kind: BTreeMap<String, KindCounts>,
    pub logs: Vec<String>,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The error and its causes, outermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Commits made (hex), oldest first.
    pub commits: Vec<String>,
    /// Files added, changed or deleted (sorted by path).
    pub files: Vec<FileReport>,
    /// IDs read, listed and written, for dependency analysis.
    #[serde(skip)]
    pub access: Access,
    /// Where the time went, phase by phase (`migrate`, `verify`, `commit`...).
    pub phases: Vec<Phase>,
    /// What a dry run changed inside each document (previews only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<crate::diff::Diff>,
}

/// The duration of one phase of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub phase: &'static str,
    pub seconds: f64,
}

impl MigrationReport {
    /// Records that `phase` took the time since `start`, and restarts `start`.
    fn phase(&mut self, phase: &'static str, start: &mut Instant) {
        self.phases.push(Phase {
            phase,
            seconds: start.elapsed().as_secs_f64(),
        });
        *start = Instant::now();
    }

    fn new(name: &str, status: Outcome) -> Self {
        Self {
            name: name.to_string(),
            status,
            duration_seconds: 0.0,
            stats: Stats::default(),
            by_kind: BTreeMap::new(),
            logs: Vec::new(),
            reason: None,
            error: Vec::new(),
            run_id: None,
            commits: Vec::new(),
            files: Vec::new(),
            access: Access::default(),
            phases: Vec::new(),
            diff: None,
        }
    }
}

/// The result of `nes migrate run` (and of previews).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub dry_run: bool,
    pub migrations: Vec<MigrationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushOutcome>,
    /// The parent repository's commit of the new submodule pointer (`--update-submodule`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submodule_commit: Option<String>,
    pub warnings: Vec<String>,
}

impl RunReport {
    /// Whether any migration failed.
    pub fn failed(&self) -> bool {
        self.migrations.iter().any(|m| m.status == Outcome::Failed)
    }
}

/// What a run will commit, planned once the migration has run.
struct Plan {
    /// The files it changed, for the report.
    files: Vec<FileReport>,
    batches: Vec<Vec<FileChange>>,
    meta: CommitMeta,
}

/// Batches built between two returns of freed memory to the system.
const RELEASE_EVERY: usize = 4;

/// Verifies every file the run touched, and every reference into them, before anything
/// is committed; a violation fails the migration.
///
/// It runs on a thread pool of its own: the batch commits are built beside it on rayon's
/// global pool, and sharing that pool made the build wait for the whole check (a 10k run
/// spent 0.25 s of its build phase idle).
fn guard(root: &std::path::Path, present: Vec<String>, deleted: Vec<String>) -> Result<()> {
    let verify = || crate::verify::verify_changes(root, present, deleted);
    let checked = match rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("nes-guard-{i}"))
        .build()
    {
        Ok(pool) => pool.install(verify)?,
        Err(_) => verify()?,
    };
    if checked.is_clean() {
        return Ok(());
    }
    const SHOWN: usize = 20;
    let mut lines: Vec<String> = checked
        .violations
        .iter()
        .take(SHOWN)
        .map(|v| format!("  {}: {} ({:?})", v.path, v.message, v.rule))
        .collect();
    if checked.violations.len() > SHOWN {
        lines.push(format!("  ... and {} more", checked.violations.len() - SHOWN));
    }
    Err(anyhow::anyhow!(
        "{} violation(s) in the files this run wrote; nothing was committed:\n{}",
        checked.violations.len(),
        lines.join("\n")
    ))
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
        let _lock = if options.dry_run {
            None
        } else {
            Some(lock::acquire(repo, options.break_lock)?)
        };
        if !options.dry_run {
            if let Some(run) = recovery::interrupted(repo)? {
                return Err(NesError::failed(format!(
                    "run {} of {} was interrupted ({} of {} batches committed)",
                    run.run_id, run.migration, run.committed_batches, run.planned_batches
                ))
                .hint(format!(
                    "resolve it first with `nes migrate repair {}`",
                    run.migration
                ))
                .into());
            }
        }
        // Read under the lock: another run may have just finished.
        let statuses = self.statuses(repo)?;
        let mut report = RunReport {
            schema_version: SCHEMA_VERSION,
            dry_run: options.dry_run,
            migrations: Vec::new(),
            push: None,
            submodule_commit: None,
            warnings: self.warnings()?,
        };
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
        for drifted in super::drift::find(&statuses, &self.migrations_dir)? {
            report.warnings.push(super::drift::warning(&drifted));
        }
        let selected = self.select(&statuses, target, options, &mut report)?;
        if !options.dry_run && !selected.is_empty() {
            repo.ensure_clean()?;
        }
        let (signature, identity_warning) = repo.signature(options.git_author.as_deref())?;
        report.warnings.extend(identity_warning);

        let mut overlay: Option<Box<dyn Backend>> = None;
        let mut committed = false;
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
        if committed && options.push {
            fault::point("before-push");
            report.push = Some(push(repo, options.remote.as_deref(), options.push_timeout)?);
        }
        if committed && options.update_submodule {
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
                        Status::Applied | Status::Unpushed if !options.force => {
                            let mut skipped = MigrationReport::new(m.name, Outcome::Skipped);
                            skipped.reason = Some("already applied; use --force to run it again".into());
                            report.migrations.push(skipped);
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
                selected.sort_by_key(|m| m.prefix);
                selected.dedup_by_key(|m| m.prefix);
            }
        }
        Ok(selected)
    }

    /// Runs one migration for real: write, then commit in batches, or restore on failure.
    fn apply_one(
        &self,
        repo: &DataRepo,
        m: &Migration,
        signature: &git2::Signature<'_>,
        options: &RunOptions,
    ) -> Result<MigrationReport> {
        let run_id = new_run_id();
        let dir = self.migrations_dir.join(m.name);
        let checksum =
            folder_checksum(&dir).with_context(|| format!("computing the checksum of {}", dir.display()))?;
        recovery::record_pre_run(repo, &run_id, m.name)?;
        // The spill only saves the commit work; without one it reads the files back.
        let spill = BlobSpill::create(repo.git_dir()).ok();
        let backend = Box::new(WorkTree::with_spill(repo.root(), spill.clone()));
        let (outcome, publication, logs, elapsed) = self.execute(m, dir, backend, options);
        let mut report = self.report(m, &publication, logs, elapsed);
        report.run_id = Some(run_id.clone());
        report.phases.push(Phase {
            phase: "migrate",
            seconds: elapsed.as_secs_f64(),
        });
        let mut clock = Instant::now();
        let journal = publication.journal();
        if let Err(err) = outcome {
            recovery::restore_paths(repo, &journal.touched()).context("restoring the working tree")?;
            recovery::finish_run(repo)?;
            report.status = Outcome::Failed;
            report.error = err.chain().map(|e| e.to_string()).collect();
            return Ok(report);
        }
        if options.no_verify {
            report
                .logs
                .push("WARNING: --no-verify: the touched files were NOT verified before committing".into());
        }
        let (present, deleted) = journal.present_and_deleted();
        let plan = self.plan(repo, m, &publication, &run_id, checksum, elapsed, options)?;
        report.files = plan.files;
        // From here on the plan is the record of the run: the publication's journal, access
        // record and document cache (each path held again) are not needed to commit or repair.
        drop(publication);
        // The guard reads and checks the files on threads of its own while this one builds
        // the batch commits and writes their packs: building leaves cores idle (it waits on
        // the disk), and nothing is recorded before the guard has passed.
        let root = repo.root();
        let bar = progress_bar(
            options.progress,
            plan.batches.len() as u64,
            "building batch commits",
        );
        let (verdict, prepared) = std::thread::scope(|scope| {
            let guard = (!options.no_verify).then(|| {
                scope.spawn(move || {
                    let start = Instant::now();
                    let verdict = guard(root, present, deleted);
                    crate::memory::release();
                    (verdict, start.elapsed())
                })
            });
            let mut blob_ids = BlobIds::new();
            let prepared = prepare_batches(
                repo,
                &plan.batches,
                1,
                plan.batches.len(),
                &plan.meta,
                signature,
                &mut blob_ids,
                spill.as_deref(),
                &mut |done, _| {
                    bar.set_position(done as u64);
                    // Each batch frees the last version of every big directory tree (up to
                    // 11 MB each), while the guard beside it holds its findings: returned
                    // only after mimalloc's delay, they made a 100k-entity run's peak vary
                    // over 296-331 MB (250-258 MB with no delay, which costs small runs CPU).
                    if done % RELEASE_EVERY == 0 {
                        crate::memory::release();
                    }
                },
            )
            .map(|prepared| (prepared, blob_ids));
            let waited = Instant::now();
            let verdict = guard.map(|handle| {
                let (verdict, took) = handle.join().unwrap_or_else(|_| {
                    (
                        Err(anyhow::anyhow!("verifying the files panicked")),
                        Duration::ZERO,
                    )
                });
                (verdict, took, waited.elapsed())
            });
            (verdict, prepared)
        });
        bar.finish_and_clear();
        // Its entries are all in the packs now.
        drop(spill);
        crate::memory::release();
        let prepared = prepared.map_err(|e| {
            e.context(
                NesError::failed(format!("committing {} failed", m.name)).hint(format!(
                    "nothing was committed; run `nes migrate repair {}` to restore the working tree",
                    m.name
                )),
            )
        });
        // `verify` ran beside `build`; `wait` is how long the build then waited for it.
        let (took, waited) = verdict
            .as_ref()
            .map_or((Duration::ZERO, Duration::ZERO), |v| (v.1, v.2));
        let build = clock.elapsed().saturating_sub(waited);
        for (phase, time) in [("verify", took), ("build", build), ("wait", waited)] {
            report.phases.push(Phase {
                phase,
                seconds: time.as_secs_f64(),
            });
        }
        clock = Instant::now();
        if let Some((Err(err), _, _)) = verdict {
            // Every path the run left written or deleted is in a batch, its records too.
            let touched: Vec<String> = plan
                .batches
                .iter()
                .flatten()
                .map(|c| c.path().to_string())
                .collect();
            if let Ok((prepared, _)) = prepared {
                prepared.discard();
            }
            recovery::restore_paths(repo, &touched).context("restoring the working tree")?;
            recovery::finish_run(repo)?;
            report.status = Outcome::Failed;
            report.error = err.chain().map(|e| e.to_string()).collect();
            return Ok(report);
        }
        let (prepared, blob_ids) = prepared?;
        fault::point("before-commit");
        // The plan is saved only now: `repair` may commit it from the working tree, which
        // is verified from here on.
        recovery::save_plan(repo, &plan.meta, &plan.batches)?;
        let committed = prepared
            .publish(repo, &mut |done, total| {
                if done == 1 && total > 1 {
                    fault::point("between-batches");
                }
            })
            .map_err(|e| {
                e.context(NesError::failed(format!("committing {} failed part-way", m.name)).hint(format!(
                    "history may hold some of its batches; run `nes migrate status`, then `nes migrate repair {}`",
                    m.name
                )))
            })?;
        crate::memory::release();
        report.phase("commit", &mut clock);
        sync_index(repo, plan.batches.iter().flatten(), &blob_ids).map_err(|e| {
            e.context(
                NesError::failed(format!(
                    "{} is committed, but the git index was not updated",
                    m.name
                ))
                .hint(format!("run `nes migrate repair {}`", m.name)),
            )
        })?;
        report.phase("index", &mut clock);
        consolidate_packs(repo);
        report.phase("pack", &mut clock);
        recovery::finish_run(repo)?;
        report.commits = committed.iter().map(|c| c.to_string()).collect();
        Ok(report)
    }

    /// Writes the run's records and plans the batches; with the changed files for the report.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        repo: &DataRepo,
        m: &Migration,
        publication: &Publication,
        run_id: &str,
        checksum: String,
        elapsed: Duration,
        options: &RunOptions,
    ) -> Result<Plan> {
        let mut head = repo.head_lookup()?;
        let files = changed_files(publication, |p, bytes| {
            let id = crate::git::plumbing::object_id::blob_id(bytes);
            head.entry(p).ok().flatten().map(|(id, _)| id) != Some(id)
        });
        drop(head);
        let mut units = publication.journal().units();
        // The run's own records form one unit, so they land together in the last batch.
        // A reproducible replay must give identical files, so its record names no run.
        let record_run_id = if options.reproducible { "" } else { run_id };
        let mut records = vec![write_run_record(
            repo,
            m.name,
            record_run_id,
            publication.access(),
        )?];
        if options.write_migration_logs {
            records.push(write_python_log(
                repo,
                m,
                publication.stats(),
                elapsed,
                options.reproducible,
            )?);
        }
        units.push(records);
        let mut batches = plan_batches(&units, options.batch_size);
        drop(units);
        if batches.is_empty() {
            // Nothing changed, but history must still record that the migration ran.
            batches.push(Vec::new());
        }
        let meta = CommitMeta {
            migration: m.name.to_string(),
            description: m.description.to_string(),
            author: m.author.to_string(),
            date: m.date.to_string(),
            stats: publication.stats(),
            duration: elapsed,
            run_id: run_id.to_string(),
            checksum,
        };
        Ok(Plan { files, batches, meta })
    }

    /// Runs one migration into an overlay; nothing reaches the repository.
    fn dry_run_one(
        &self,
        repo: &DataRepo,
        m: &Migration,
        backend: Box<dyn Backend>,
        options: &RunOptions,
    ) -> (MigrationReport, Box<dyn Backend>) {
        let dir = self.migrations_dir.join(m.name);
        let before = crate::store::backend::BeforeImages::default();
        let backend = Box::new(crate::store::backend::Recording::new(backend, before.clone()));
        let (outcome, publication, logs, elapsed) = self.execute(m, dir, backend, options);
        let mut report = self.report(m, &publication, logs, elapsed);
        match outcome {
            Ok(()) => {
                report.files = changed_files(&publication, |p, bytes| {
                    std::fs::read(repo.root().join(p)).ok().as_deref() != Some(bytes)
                });
                let before = std::mem::take(&mut *before.lock().expect("before images poisoned"));
                match super::preview::dry_run_diff(&report.files, before, publication.backend()) {
                    Ok(diff) => report.diff = Some(diff),
                    Err(e) => report
                        .logs
                        .push(format!("nes: could not diff the dry run: {e:#}")),
                }
            }
            Err(err) => {
                report.status = Outcome::Failed;
                report.error = err.chain().map(|e| e.to_string()).collect();
            }
        }
        (report, publication.into_backend())
    }

    /// Runs `check`, `migrate` and `verify`, turning panics into errors.
    fn execute(
        &self,
        m: &Migration,
        dir: PathBuf,
        backend: Box<dyn Backend>,
        options: &RunOptions,
    ) -> (Result<()>, Publication, Vec<String>, Duration) {
        let start = Instant::now();
        let clock: Box<dyn Clock> = if options.reproducible {
            Box::new(ReproducibleClock::new(m.date))
        } else {
            Box::new(SystemClock)
        };
        let mut publication = Publication::new(backend, clock, default_author(m));
        publication.allow_deletes(m.deletes);
        let bar = progress_bar(options.progress, 0, &format!("{}: objects written", m.name));
        publication.set_progress(bar.clone());
        let mut ctx = Context::new(m.name, dir, publication);
        if options.stream_logs {
            let (sink, name, bar) = (self.on_log.clone(), m.name.to_string(), bar.clone());
            ctx.on_log(move |line| bar.suspend(|| sink(&name, line)));
        }
        let mut outcome = run_step(m, "check", m.check, &mut ctx)
            .and_then(|()| run_step(m, "migrate", Some(m.migrate), &mut ctx))
            .and_then(|()| {
                // The files are on disk before anything can stop the run here.
                ctx.flush()?;
                fault::point("during-migration");
                run_step(m, "verify", m.verify, &mut ctx)
            });
        if outcome.is_ok() && !ctx.migration_dir().is_dir() {
            outcome = Err(anyhow::anyhow!(
                "migration folder {} is missing",
                ctx.migration_dir().display()
            ));
        }
        bar.finish_and_clear();
        let (mut publication, logs) = ctx.into_publication();
        // Before anything reads, commits or restores the files, all of them are on disk.
        if let Err(e) = publication.flush() {
            outcome = outcome.and(Err(e));
        }
        (outcome, publication, logs, start.elapsed())
    }

    fn report(
        &self,
        m: &Migration,
        publication: &Publication,
        logs: Vec<String>,
        elapsed: Duration,
    ) -> MigrationReport {
        let mut report = MigrationReport::new(m.name, Outcome::Completed);
        report.duration_seconds = elapsed.as_secs_f64();
        report.stats = publication.stats();
        report.access = publication.access().clone();
        report.by_kind = publication.counts_by_kind().clone();
        report.logs = logs;
        report
    }
}

/// The parent repository's commit message for a new submodule pointer.
fn submodule_message(report: &RunReport) -> String {
    let applied: Vec<&MigrationReport> = report
        .migrations
        .iter()
        .filter(|m| m.status == Outcome::Completed && !m.commits.is_empty())
        .collect();
    let names: Vec<&str> = applied.iter().map(|m| m.name.as_str()).collect();
    let mut message = format!("Update data repository: {}\n\n", names.join(", "));
    for m in applied {
        let s = &m.stats;
        message.push_str(&format!(
            "{}: {} entities created, {} updated, {} deleted; {} relationships created; {} versions\n",
            m.name,
            s.entities_created,
            s.entities_updated,
            s.entities_deleted,
            s.relationships_created,
            s.versions_created
        ));
    }
    message
}

/// Calls one entry point; an error or panic becomes an error naming the migration and step.
fn run_step(m: &Migration, step: &str, f: Option<MigrationFn>, ctx: &mut Context) -> Result<()> {
    let Some(f) = f else { return Ok(()) };
    match catch_unwind(AssertUnwindSafe(|| f(ctx))) {
        Ok(result) => result.with_context(|| format!("migration {} failed in `{step}`", m.name)),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(anyhow::anyhow!("panicked: {message}"))
                .with_context(|| format!("migration {} failed in `{step}`", m.name))
        }
    }
}

/// Writes `.nes/runs/<migration>.json`, committed with the last batch.
fn write_run_record(repo: &DataRepo, name: &str, run_id: &str, access: &Access) -> Result<FileChange> {
    let record = RunRecord {
        schema_version: 1,
        migration: name.to_string(),
        run_id: run_id.to_string(),
        access: access.clone(),
    };
    let path = record_path(name);
    let full = repo.root().join(&path);
    std::fs::create_dir_all(full.parent().expect("record path has a parent"))?;
    std::fs::write(&full, serde_json::to_vec(&record)?).with_context(|| format!("writing {path}"))?;
    Ok(FileChange::Write(path))
}

/// Writes `v2/migration-logs/<migration>/metadata.json` as the Python tool would. Under
/// `--reproducible` it says the run happened at the migration's DATE and took no time.
fn write_python_log(
    repo: &DataRepo,
    m: &Migration,
    stats: Stats,
    elapsed: Duration,
    reproducible: bool,
) -> Result<FileChange> {
    let (executed_at, duration_seconds) = match chrono::NaiveDate::parse_from_str(m.date, "%Y-%m-%d") {
        Ok(date) if reproducible => (date.and_time(chrono::NaiveTime::MIN), 0.0),
        _ => (chrono::Local::now().naive_local(), elapsed.as_secs_f64()),
    };
    let log = PythonLog {
        migration: m.name,
        author: m.author,
        date: m.date,
        description: m.description,
        executed_at,
        duration_seconds,
        stats,
        has_diff: false,
    };
    let path = python_log::metadata_path(m.name);
    let full = repo.root().join(&path);
    std::fs::create_dir_all(full.parent().expect("log path has a parent"))?;
    std::fs::write(&full, python_log::metadata_json(&log)?).with_context(|| format!("writing {path}"))?;
    Ok(FileChange::Write(path))
}

/// The migration's AUTHOR as an author object (`migration-<name>` when it slugs to nothing).
pub fn default_author(m: &Migration) -> AuthorRef {
    let slug = slug::text_to_slug(m.author);
    let slug = if slug::validate_slug(&slug).is_ok() {
        slug
    } else {
        format!("migration-{}", m.name)
    };
    AuthorRef {
        slug,
        name: Some(m.author.to_string()),
    }
}

/// The files a run changed; `differs(path, bytes)` tells whether a rewritten pre-existing
/// file's new `bytes` differ from its content before the run.
fn changed_files(publication: &Publication, mut differs: impl FnMut(&str, &[u8]) -> bool) -> Vec<FileReport> {
    let backend = publication.backend();
    publication
        .journal()
        .changes(|p| match backend.read(p) {
            Ok(Some(bytes)) => differs(p, &bytes),
            _ => true,
        })
        .into_iter()
        .map(|(path, change)| FileReport { path, change })
        .collect()
}

/// A unique run ID: UTC time and a short hash of time and process.
pub fn new_run_id() -> String {
    use sha2::{Digest, Sha256};
    let now = chrono::Utc::now();
    let seed = format!(
        "{}-{}-{}",
        now.timestamp_nanos_opt().unwrap_or_default(),
        std::process::id(),
        gethostname::gethostname().to_string_lossy()
    );
    let hash = Sha256::digest(seed.as_bytes());
    let short: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{short}", now.format("%Y%m%dT%H%M%SZ"))
}

fn progress_bar(enabled: bool, len: u64, message: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = if len == 0 {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::new(len)
    };
    let template = if len == 0 {
        "{spinner} {msg}: {pos} ({per_sec})"
    } else {
        "{msg} [{bar:30}] {pos}/{len}"
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}
