//! Drift: applied migrations whose folder was edited after they ran, found by comparing the
//! checksum in their commit trailers with the folder as it is now.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::checksum::{checksum_like, folder_checksum};
use super::status::MigrationStatus;

/// An applied migration whose folder no longer matches what ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub name: String,
    /// The checksum recorded when it ran.
    pub recorded: String,
    /// The checksum of the folder now.
    pub current: String,
    /// The commit that applied it (its last batch).
    pub commit: String,
}

/// Checks every applied migration with a recorded checksum and a folder on disk. For a `v2`
/// checksum (runs since issue 34) an edit of the top-level README.md is no drift; for a
/// `v1` one it still is, since v1 covered the README.
/// Migrations recorded by the original tool or by `mark-applied` have no checksum to compare.
pub fn find(statuses: &[MigrationStatus], migrations_dir: &Path) -> Result<Vec<Drift>> {
    let mut out = Vec::new();
    for row in statuses {
        let Some(entry) = &row.ledger else { continue };
        let Some(recorded) = &entry.checksum else { continue };
        let dir = migrations_dir.join(&row.name);
        if entry.baseline || !dir.is_dir() {
            continue;
        }
        // A recorded value is compared with the folder's checksum in the same format; one
        // in a format nes does not know cannot match, and shows as the current v2.
        let current = match checksum_like(recorded, &dir)? {
            Some(current) => current,
            None => folder_checksum(&dir)?,
        };
        if &current != recorded {
            out.push(Drift {
                name: row.name.clone(),
                recorded: recorded.clone(),
                current,
                commit: entry.commits.last().cloned().unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// The warning `run` prints for one drifted migration.
pub fn warning(d: &Drift) -> String {
    format!(
        "{} was edited after it ran (applied in {}): the folder no longer matches its recorded checksum; \
         see `nes migrate validate`",
        d.name,
        &d.commit[..12.min(d.commit.len())]
    )
}
