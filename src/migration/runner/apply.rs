//! A real run of one migration: write through the working tree, guard, commit in batches
//! and sync the index; restore every touched path from HEAD when anything fails.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::{guard, new_run_id, progress_bar, MigrationReport, Outcome, Phase, RunOptions, Runner};
use crate::error::NesError;
use crate::fault;
use crate::git::commit::{consolidate_packs, prepare_batches};
use crate::git::index::{sync_index, BlobIds};
use crate::git::plumbing::blob_spill::BlobSpill;
use crate::git::repo::DataRepo;
use crate::git::{preflight, recovery};
use crate::migration::checksum::folder_checksum;
use crate::migration::registry::Migration;
use crate::store::backend::WorkTree;

/// Batches built between two returns of freed memory to the system.
const RELEASE_EVERY: usize = 4;

impl<'a> Runner<'a> {
    /// Runs one migration for real: write, then commit in batches, or restore on failure.
    pub(super) fn apply_one(
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
        // Again before anything is built: a git process may have started while the migration
        // ran, and only now is the size of what it wrote known.
        if let Err(err) = preflight::check(repo, preflight::written_bytes(repo.root(), &present)) {
            recovery::restore_paths(repo, &journal.touched()).context("restoring the working tree")?;
            recovery::finish_run(repo)?;
            return Err(err);
        }
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
}
