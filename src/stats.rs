//! Counts of what a run changed, shared by summaries, JSON output and commit messages.

use serde::{Deserialize, Serialize};

/// What one migration run changed, counted from publication API calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub entities_created: u64,
    pub entities_updated: u64,
    pub entities_deleted: u64,
    pub relationships_created: u64,
    pub relationships_updated: u64,
    pub relationships_deleted: u64,
    pub versions_created: u64,
    /// Earlier version files rewritten by a redaction (their snapshots lost personal data).
    #[serde(default)]
    pub snapshots_redacted: u64,
}

impl Stats {
    /// The counts with their human labels, in the order summaries and commit messages print them.
    pub fn labelled(&self) -> [(&'static str, u64); 7] {
        [
            ("Entities created", self.entities_created),
            ("Entities updated", self.entities_updated),
            ("Entities deleted", self.entities_deleted),
            ("Relationships created", self.relationships_created),
            ("Relationships updated", self.relationships_updated),
            ("Relationships deleted", self.relationships_deleted),
            ("Versions created", self.versions_created),
        ]
    }
}
