//! What a run reports: per migration its outcome, counts, files, phases and errors, and
//! the run's whole report, as printed and as JSON.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Runner;
use crate::git::push::PushOutcome;
use crate::migration::registry::Migration;
use crate::stats::Stats;
use crate::store::journal::ChangeKind;
use crate::store::publication::{Access, KindCounts, Publication};

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
    /// How many times it was run again on the remote's new head after a rejected push.
    #[serde(skip_serializing_if = "is_zero")]
    pub replays: u32,
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
    pub(super) fn phase(&mut self, phase: &'static str, start: &mut Instant) {
        self.phases.push(Phase {
            phase,
            seconds: start.elapsed().as_secs_f64(),
        });
        *start = Instant::now();
    }

    pub(super) fn new(name: &str, status: Outcome) -> Self {
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
            replays: 0,
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
    /// How the run met its remote: where it started, pushes tried, what others applied first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landing: Option<super::Landing>,
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

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The parent repository's commit message for a new submodule pointer.
pub(super) fn submodule_message(report: &RunReport) -> String {
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

/// The files a run changed; `differs(path, bytes)` tells whether a rewritten pre-existing
/// file's new `bytes` differ from its content before the run.
pub(super) fn changed_files(
    publication: &Publication,
    mut differs: impl FnMut(&str, &[u8]) -> bool,
) -> Vec<FileReport> {
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

impl<'a> Runner<'a> {
    pub(super) fn report(
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
