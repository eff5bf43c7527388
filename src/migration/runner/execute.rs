//! Running a migration's code: its steps under a panic guard, with a progress bar, for a
//! real run or a dry run into the shared overlay.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use indicatif::ProgressBar;

use super::{changed_files, default_author, MigrationReport, Outcome, RunOptions, Runner};
use crate::fault;
use crate::git::repo::DataRepo;
use crate::migration::context::Context;
use crate::migration::registry::{Migration, MigrationFn};
use crate::store::backend::Backend;
use crate::store::clock::{Clock, ReproducibleClock, SystemClock};
use crate::store::publication::Publication;

/// Calls one entry point; an error or panic becomes an error naming the migration and step.
pub(super) fn run_step(m: &Migration, step: &str, f: Option<MigrationFn>, ctx: &mut Context) -> Result<()> {
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

pub(super) fn progress_bar(enabled: bool, len: u64, message: &str) -> ProgressBar {
    crate::progress::bar(enabled, len, message)
}

impl<'a> Runner<'a> {
    /// Runs one migration into an overlay; nothing reaches the repository.
    pub(super) fn dry_run_one(
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
                match super::super::preview::dry_run_diff(&report.files, before, publication.backend()) {
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
    pub(super) fn execute(
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
}
