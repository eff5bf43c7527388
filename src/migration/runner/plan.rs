//! The plan phase: once a migration has run, what it will commit (files, batches, the
//! commit message's metadata).

use std::time::Duration;

use anyhow::Result;

use super::{changed_files, write_python_log, write_run_record, FileReport, RunOptions, Runner};
use crate::git::commit::{plan_batches, FileChange};
use crate::git::message::CommitMeta;
use crate::git::repo::DataRepo;
use crate::migration::registry::Migration;
use crate::store::publication::Publication;

/// What a run will commit, planned once the migration has run.
pub(super) struct Plan {
    /// The files it changed, for the report.
    pub(super) files: Vec<FileReport>,
    pub(super) batches: Vec<Vec<FileChange>>,
    pub(super) meta: CommitMeta,
}

impl<'a> Runner<'a> {
    /// Writes the run's records and plans the batches; with the changed files for the report.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn plan(
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
}
