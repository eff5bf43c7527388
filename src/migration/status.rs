//! Status of every migration: the registry and the folders on disk, against the ledger
//! read from the data repository's history.

use serde::Serialize;

use super::discover::Folder;
use super::registry::Registry;
use crate::git::ledger::{Ledger, LedgerEntry, Recorded};

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every batch of a run is in history, and on the remote (or there is none).
    Applied,
    /// Applied locally, but some commits are not on the remote yet: `nes migrate push`.
    Unpushed,
    /// Not in history.
    Pending,
    /// Not in history, numbered below an applied migration (merged late).
    OutOfOrder,
    /// Some but not all batches of a run are in history: `nes migrate repair`.
    Partial,
    /// A folder on disk that this binary does not contain: rebuild.
    NotCompiled,
    /// An example migration not applied, on a repository whose history holds other
    /// migrations: never offered there.
    Example,
}

impl Status {
    /// The kebab-case word used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Unpushed => "unpushed",
            Status::Pending => "pending",
            Status::OutOfOrder => "out-of-order",
            Status::Partial => "partial",
            Status::NotCompiled => "not-compiled",
            Status::Example => "example",
        }
    }

    /// Whether the migration still has to run.
    pub fn is_pending(self) -> bool {
        matches!(self, Status::Pending | Status::OutOfOrder)
    }
}

/// One row of `list`, `pending` and `status`.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationStatus {
    pub name: String,
    pub prefix: Option<u16>,
    pub author: Option<String>,
    pub date: Option<String>,
    pub description: Option<String>,
    pub status: Status,
    /// Compiled into this binary.
    pub compiled: bool,
    /// What history records, when it records anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerEntry>,
}

/// Status of every migration known to the registry, the folders on disk or the ledger,
/// sorted by name (prefix first).
pub fn statuses(registry: &Registry, folders: &[Folder], ledger: &Ledger) -> Vec<MigrationStatus> {
    let highest_applied = ledger
        .entries
        .values()
        .filter(|e| e.recorded == Recorded::Applied)
        .filter_map(|e| e.name.get(..3)?.parse::<u16>().ok())
        .max();
    // Examples are kept out of a repository that holds real history.
    let is_example = |name: &str| registry.all().iter().any(|m| m.example && m.name == name);
    let real_history = ledger.entries.keys().any(|name| !is_example(name));
    let mut rows: Vec<MigrationStatus> = registry
        .all()
        .iter()
        .map(|m| {
            let entry = ledger.entries.get(m.name).cloned();
            let status = match &entry {
                Some(e) => recorded_status(e),
                None if m.example && real_history => Status::Example,
                None if highest_applied.is_some_and(|h| h > m.prefix) => Status::OutOfOrder,
                None => Status::Pending,
            };
            MigrationStatus {
                name: m.name.to_string(),
                prefix: Some(m.prefix),
                author: Some(m.author.to_string()),
                date: Some(m.date.to_string()),
                description: Some(m.description.to_string()),
                status,
                compiled: true,
                ledger: entry,
            }
        })
        .collect();
    for folder in folders {
        if rows.iter().any(|r| r.name == folder.name) {
            continue;
        }
        let entry = ledger.entries.get(&folder.name).cloned();
        rows.push(MigrationStatus {
            name: folder.name.clone(),
            prefix: folder.prefix,
            author: entry.as_ref().and_then(|e| e.author.clone()),
            date: None,
            description: None,
            status: entry.as_ref().map_or(Status::NotCompiled, recorded_status),
            compiled: false,
            ledger: entry,
        });
    }
    for (name, entry) in &ledger.entries {
        if rows.iter().any(|r| &r.name == name) {
            continue;
        }
        rows.push(MigrationStatus {
            name: name.clone(),
            prefix: name.get(..3).and_then(|p| p.parse().ok()),
            author: entry.author.clone(),
            date: None,
            description: None,
            status: recorded_status(entry),
            compiled: false,
            ledger: Some(entry.clone()),
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

fn recorded_status(entry: &LedgerEntry) -> Status {
    match entry.recorded {
        Recorded::Partial => Status::Partial,
        Recorded::Applied if entry.unpushed => Status::Unpushed,
        Recorded::Applied => Status::Applied,
    }
}

/// Refuses a prefix shared by migrations of which one is not applied. History decides:
/// the service itself applied two 007s, and a repository adopting nes keeps them; a new
/// migration must take a free prefix, so that every run has one order.
pub fn refuse_shared_prefixes(statuses: &[MigrationStatus]) -> anyhow::Result<()> {
    let mut by_prefix: std::collections::BTreeMap<u16, Vec<&MigrationStatus>> = Default::default();
    for s in statuses {
        if let Some(prefix) = s.prefix {
            by_prefix.entry(prefix).or_default().push(s);
        }
    }
    for (prefix, sharing) in by_prefix.into_iter().filter(|(_, v)| v.len() > 1) {
        // Folders this binary lacks are warned about as such; examples are not offered.
        let sharing: Vec<&MigrationStatus> = sharing
            .into_iter()
            .filter(|s| !matches!(s.status, Status::Example | Status::NotCompiled))
            .collect();
        if sharing.len() < 2 {
            continue;
        }
        let waiting: Vec<&str> = sharing
            .iter()
            .filter(|s| !matches!(s.status, Status::Applied | Status::Unpushed))
            .map(|s| s.name.as_str())
            .collect();
        if !waiting.is_empty() {
            let names: Vec<&str> = sharing.iter().map(|s| s.name.as_str()).collect();
            return Err(crate::error::NesError::usage(format!(
                "migrations {} share the prefix {prefix:03}, and {} not applied",
                names.join(", "),
                if waiting.len() == 1 {
                    format!("{} is", waiting[0])
                } else {
                    format!("{} are", waiting.join(", "))
                }
            ))
            .hint(format!(
                "renumber {} with the next free prefix (`nes migrate create` picks one); a prefix \
                 may be shared only by migrations history shows applied",
                waiting.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}
