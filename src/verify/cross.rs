//! Cross-file rules: uniqueness of IDs and version chains, over what the per-file pass
//! kept ([`Acc`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::check::{ChainFact, Claim, ObjectFacts, Outcome, VersionFacts};
use super::{Rule, Violation};
use crate::store::layout::DATA_DIR;

/// What survives the per-file pass; built per rayon worker and merged.
#[derive(Debug, Default)]
pub struct Acc {
    pub files: u64,
    pub violations: Vec<Violation>,
    claims: Vec<Claim>,
    chains: HashMap<String, Chain>,
}

/// One object's chain: its file, if any, and its versions.
#[derive(Debug, Default)]
struct Chain {
    /// Repository path and digests of the object file, when it exists.
    object: Option<(String, Option<ObjectFacts>)>,
    numbers: Vec<u64>,
    /// The highest-numbered version seen so far.
    latest: Option<(u64, Option<VersionFacts>)>,
}

impl Chain {
    fn add_version(&mut self, number: u64, facts: Option<VersionFacts>) {
        self.numbers.push(number);
        if self.latest.is_none_or(|(n, _)| number > n) {
            self.latest = Some((number, facts));
        }
    }

    fn merge(&mut self, other: Chain) {
        if other.object.is_some() {
            self.object = other.object;
        }
        self.numbers.extend(&other.numbers);
        if let Some((n, facts)) = other.latest {
            if self.latest.is_none_or(|(m, _)| n > m) {
                self.latest = Some((n, facts));
            }
        }
    }
}

impl Acc {
    /// Takes in one file's outcome.
    pub fn add(mut self, outcome: Outcome) -> Self {
        self.files += 1;
        self.violations.extend(outcome.violations);
        self.claims.extend(outcome.claim);
        match outcome.chain {
            Some(ChainFact::Object { key, path, facts }) => {
                self.chains.entry(key).or_default().object = Some((path, facts));
            }
            Some(ChainFact::Version { key, number, facts }) => {
                self.chains.entry(key).or_default().add_version(number, facts);
            }
            None => {}
        }
        self
    }

    /// Merges two workers' accumulators.
    pub fn merge(mut self, mut other: Acc) -> Self {
        // The walk merges many small accumulators (a directory's) with large ones: moving
        // the smaller map's entries keeps merging linear overall.
        if other.chains.len() > self.chains.len() {
            std::mem::swap(&mut self, &mut other);
        }
        self.files += other.files;
        self.violations.extend(other.violations);
        self.claims.extend(other.claims);
        for (key, chain) in other.chains {
            match self.chains.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(chain),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(chain);
                }
            }
        }
        self
    }
}

/// Applies the cross-file rules and returns every violation found.
pub fn conclude(root: &Path, acc: Acc) -> Vec<Violation> {
    let mut out = acc.violations;
    uniqueness(root, acc.claims, &mut out);
    for (key, chain) in acc.chains {
        version_chain(&key, chain, &mut out);
    }
    out
}

/// A claimed ID collides with the document at the ID's own path (which, being there,
/// is taken to hold it) or with another misplaced claim of the same ID.
fn uniqueness(root: &Path, claims: Vec<Claim>, out: &mut Vec<Violation>) {
    let mut by_id: BTreeMap<String, Vec<Claim>> = BTreeMap::new();
    for claim in claims {
        by_id.entry(claim.id.clone()).or_default().push(claim);
    }
    for (id, mut claims) in by_id {
        // Claims arrive in no particular order from the parallel pass; list them stably.
        claims.sort_by(|a, b| a.path.cmp(&b.path));
        let owner = &claims[0].owner;
        let owner_exists = root.join(owner).is_file();
        for claim in &claims {
            let mut others: Vec<&str> = claims
                .iter()
                .filter(|c| c.path != claim.path)
                .map(|c| c.path.as_str())
                .collect();
            if owner_exists {
                others.insert(0, owner);
            }
            if !others.is_empty() {
                out.push(Violation {
                    rule: Rule::Unique,
                    path: claim.path.clone(),
                    message: format!("claims `{id}`, as does {}", others.join(", ")),
                });
            }
        }
    }
}

/// Versions 1..N without gaps; the object agrees with version N (FORMAT.md §4). An
/// object without a file but with versions was deleted: that is allowed.
fn version_chain(key: &str, mut chain: Chain, out: &mut Vec<Violation>) {
    let version_path = |n: u64| format!("{DATA_DIR}/version/{key}/{n}.json");
    let mut push = |path: String, message: String| {
        out.push(Violation {
            rule: Rule::VersionChain,
            path,
            message,
        })
    };
    let Some((latest, latest_facts)) = chain.latest else {
        if let Some((path, _)) = chain.object {
            push(path, format!("has no versions; expected {}", version_path(1)));
        }
        return;
    };
    chain.numbers.sort_unstable();
    chain.numbers.dedup();
    let have = chain.numbers.len() as u64;
    if have != latest {
        let missing: Vec<u64> = (1..=latest)
            .filter(|n| chain.numbers.binary_search(n).is_err())
            .take(10)
            .collect();
        let more = if latest - have > missing.len() as u64 {
            ", …"
        } else {
            ""
        };
        let list: Vec<String> = missing.iter().map(u64::to_string).collect();
        let message = format!(
            "versions are not contiguous: {} missing of 1..{latest}{more}",
            list.join(", ")
        );
        push(version_path(missing[0]), message);
    }
    let Some((path, Some(object))) = chain.object else {
        return;
    };
    let Some(version) = latest_facts else {
        return; // the latest version could not be read; reported on its own
    };
    match object.summary_number {
        Some(n) if n != latest => {
            push(
                path,
                format!("`version_summary.version_number` is {n}, but the latest version is {latest}"),
            );
            return;
        }
        None => return, // no usable summary; the schema rule reports it
        Some(_) => {}
    }
    if object.summary != Some(version.header) {
        push(
            path.clone(),
            format!(
                "`version_summary` differs from the header of {}",
                version_path(latest)
            ),
        );
    }
    match version.snapshot {
        None => push(
            path,
            format!("{} has no snapshot to compare with", version_path(latest)),
        ),
        Some(snapshot) if snapshot != object.body => push(
            path,
            format!(
                "differs from the snapshot of {} (computed fields removed)",
                version_path(latest)
            ),
        ),
        Some(_) => {}
    }
}
