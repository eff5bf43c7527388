//! Dependencies between migrations, derived from what each run read and wrote.
//!
//! Every real run commits a record `.nes/runs/<migration>.json` with its last batch; pending
//! migrations are dry-run to get theirs. Migration B depends on A when B reads (or lists)
//! something A writes.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::error::NesError;
use crate::git::repo::DataRepo;
use crate::store::layout::NES_DIR;
use crate::store::publication::Access;

/// The record of one run's reads and writes, as committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub migration: String,
    /// Empty (and omitted) under `--reproducible`, whose replays must give identical files;
    /// the commit trailers carry the run id either way.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_id: String,
    #[serde(flatten)]
    pub access: Access,
}

/// Repository-relative path of a migration's run record.
pub fn record_path(migration: &str) -> String {
    format!("{NES_DIR}/runs/{migration}.json")
}

/// Records committed at HEAD, by migration name.
pub fn recorded(repo: &DataRepo) -> Result<BTreeMap<String, Access>> {
    let mut out = BTreeMap::new();
    let Some(commit) = repo.head_commit()? else {
        return Ok(out);
    };
    let tree = commit.tree()?;
    let Ok(entry) = tree.get_path(std::path::Path::new(&format!("{NES_DIR}/runs"))) else {
        return Ok(out);
    };
    let runs = entry.to_object(repo.git())?.peel_to_tree()?;
    for item in runs.iter() {
        let name = item.name().unwrap_or_default().to_string();
        let blob = item.to_object(repo.git())?.peel_to_blob()?;
        let record: RunRecord = serde_json::from_slice(blob.content())
            .with_context(|| format!("{NES_DIR}/runs/{name} is not a run record"))?;
        out.insert(record.migration, record.access);
    }
    Ok(out)
}

/// One migration as the analysis sees it.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub prefix: u16,
    pub pending: bool,
    pub access: Access,
}

/// `B` depends on `A` because it reads `what`, which `A` writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// A few of the IDs or listings behind the edge.
    pub because: Vec<String>,
}

/// The dependency graph and what is wrong with it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DepsReport {
    pub schema_version: u32,
    /// `to` depends on `from`.
    pub edges: Vec<Edge>,
    pub warnings: Vec<String>,
    /// Cycles, each as the migrations in it.
    pub cycles: Vec<Vec<String>>,
}

/// Whether a read (an ID) or a listing (`entity:<type>[/<subtype>]`, `relationship:<id>`)
/// covers a written ID.
fn covers(read: &str, listing: bool, written: &str) -> bool {
    if !listing {
        return read == written;
    }
    match read.strip_prefix("relationship:") {
        // Relationships of an entity: any relationship ID naming it.
        Some(entity) => {
            let short = entity.trim_start_matches("entity:");
            written.starts_with("relationship:") && written.split(':').any(|part| part == short)
        }
        None => written.starts_with(&format!("{read}/")),
    }
}

/// What `node` reads that `writer` writes (at most a few examples).
///
/// A later writer of something `node` writes itself does not count: `node` read it to
/// create or update it (get-or-create), so what a later migration does to it afterwards is
/// not an input of `node`.
fn overlap(node: &Node, writer: &Node) -> Vec<String> {
    let later = writer.prefix > node.prefix;
    let input =
        |id: &String| writer.access.writes.contains(id) && !(later && node.access.writes.contains(id));
    let mut found = Vec::new();
    for read in &node.access.reads {
        if input(read) {
            found.push(read.clone());
        }
    }
    for listing in &node.access.listings {
        if writer
            .access
            .writes
            .iter()
            .any(|w| covers(listing, true, w) && input(w))
        {
            found.push(format!("listing {listing}"));
        }
    }
    found.truncate(5);
    found
}

/// Builds the graph over migrations in prefix order and reports conflicts and cycles.
pub fn analyze(mut nodes: Vec<Node>) -> Result<DepsReport> {
    nodes.sort_by_key(|n| n.prefix);
    let mut report = DepsReport {
        schema_version: 1,
        ..DepsReport::default()
    };
    for reader in &nodes {
        for writer in &nodes {
            if reader.name == writer.name {
                continue;
            }
            let because = overlap(reader, writer);
            if because.is_empty() {
                continue;
            }
            if reader.pending && writer.prefix > reader.prefix {
                let earlier = nodes.iter().filter(|n| n.prefix < reader.prefix);
                let only_later = because
                    .iter()
                    .all(|id| !earlier.clone().any(|e| e.access.writes.contains(id)));
                if only_later {
                    report.warnings.push(format!(
                        "{} reads {} written only by the later migration {}: run order may be wrong",
                        reader.name,
                        because.join(", "),
                        writer.name
                    ));
                }
            }
            report.edges.push(Edge {
                from: writer.name.clone(),
                to: reader.name.clone(),
                because,
            });
        }
    }
    let pending: Vec<&Node> = nodes.iter().filter(|n| n.pending).collect();
    for (i, a) in pending.iter().enumerate() {
        for b in &pending[i + 1..] {
            // A later migration that read what it rewrites (an update) is ordered after the
            // earlier one, not in conflict with it.
            if report.edges.iter().any(|e| e.from == a.name && e.to == b.name) {
                continue;
            }
            let shared: Vec<&String> = a.access.writes.intersection(&b.access.writes).take(5).collect();
            if !shared.is_empty() {
                let list: Vec<&str> = shared.iter().map(|s| s.as_str()).collect();
                report.warnings.push(format!(
                    "pending migrations {} and {} both write {}: they would conflict",
                    a.name,
                    b.name,
                    list.join(", ")
                ));
            }
        }
    }
    report.cycles = cycles(&nodes, &report.edges);
    Ok(report)
}

/// Strongly connected components with more than one migration (Tarjan-free: the graphs are
/// small, so reachability sets do).
fn cycles(nodes: &[Node], edges: &[Edge]) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in edges {
        next.entry(e.from.as_str()).or_default().insert(e.to.as_str());
    }
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for &m in next.get(n).into_iter().flatten() {
                if seen.insert(m) {
                    stack.push(m);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<&str>> =
        nodes.iter().map(|n| (n.name.as_str(), reach(&n.name))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for n in nodes {
        let component: Vec<String> = nodes
            .iter()
            .filter(|m| {
                reachable[n.name.as_str()].contains(m.name.as_str())
                    && reachable[m.name.as_str()].contains(n.name.as_str())
            })
            .map(|m| m.name.clone())
            .collect();
        if component.len() > 1 && !out.contains(&component) {
            out.push(component);
        }
    }
    out
}

/// The error for a report with cycles.
pub fn cycle_error(report: &DepsReport) -> Option<NesError> {
    let first = report.cycles.first()?;
    Some(
        NesError::failed(format!(
            "migrations depend on each other in a cycle: {}",
            first.join(" → ")
        ))
        .hint("split the migrations so that each only reads what earlier ones wrote"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, pending: bool, reads: &[&str], listings: &[&str], writes: &[&str]) -> Node {
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Node {
            name: name.into(),
            prefix: name[..3].parse().unwrap(),
            pending,
            access: Access {
                reads: set(reads),
                listings: set(listings),
                writes: set(writes),
            },
        }
    }

    #[test]
    fn a_read_of_a_later_write_is_warned() {
        let report = analyze(vec![
            node("001-a", true, &["entity:person/x"], &[], &[]),
            node("002-b", true, &[], &[], &["entity:person/x"]),
        ])
        .unwrap();
        assert_eq!(report.edges.len(), 1);
        assert!(
            report.warnings[0].contains("later migration 002-b"),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn listings_cover_their_type_and_conflicting_writers_are_warned() {
        let report = analyze(vec![
            node("001-a", false, &[], &[], &["entity:location/district/x"]),
            node(
                "002-b",
                true,
                &[],
                &["entity:location/district"],
                &["entity:person/y"],
            ),
            node("003-c", true, &[], &[], &["entity:person/y"]),
        ])
        .unwrap();
        assert!(report.edges.iter().any(|e| e.from == "001-a" && e.to == "002-b"));
        assert!(report
            .warnings
            .iter()
            .any(|w| w.contains("002-b and 003-c both write entity:person/y")));
    }

    #[test]
    fn a_cycle_is_an_error_naming_the_migrations() {
        let report = analyze(vec![
            node("001-a", true, &["entity:person/y"], &[], &["entity:person/x"]),
            node("002-b", true, &["entity:person/x"], &[], &["entity:person/y"]),
        ])
        .unwrap();
        assert_eq!(
            report.cycles,
            vec![vec!["001-a".to_string(), "002-b".to_string()]]
        );
        assert!(cycle_error(&report).unwrap().message.contains("001-a → 002-b"));
    }
}
