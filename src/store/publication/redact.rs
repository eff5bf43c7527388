//! Redaction: taking personal data (a path of the privacy policy) out of entities and out
//! of every version snapshot of them, as a reviewed migration does it. Each entity that held
//! a value, now or in a snapshot, gets one new version whose change description names the
//! paths and the reason, never the values; its earlier version files are rewritten in the
//! same commit unit. A path that holds nothing is left alone, so a rerun writes nothing.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};
use serde::Serialize;

use super::paths::{entity_id_from_path, listing_dir};
use super::{entity_path, Publication};
use crate::store::id::{EntityId, ObjectId};
use crate::store::privacy::{self, Place, Policy};

/// What a redaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedactOutcome {
    /// Entities that got a new version recording the redaction.
    pub entities: u64,
    /// Earlier version files rewritten (entities' and orphans', whose entity is gone).
    pub snapshots: u64,
    /// Per policy rule (`person: personal_details.father_name`): the values cleared in
    /// entity files and in version snapshots.
    pub by_path: BTreeMap<String, PathCounts>,
}

/// Values cleared at one policy path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PathCounts {
    pub documents: u64,
    pub snapshots: u64,
}

/// One entity's files: its object file and its version files, in number order.
#[derive(Default)]
struct Files {
    versions: Vec<(u64, String)>,
}

impl Publication {
    /// Removes the values at `paths` (paths of the privacy policy, `model/privacy.toml`)
    /// from the entities `selector` names (an entity ID, or a prefix such as `"person"`
    /// taking in every entity below it) and from every version snapshot of them, setting
    /// them to null. Each entity that held a value gets a new version whose change
    /// description names the paths and `reason`; version files of deleted or moved
    /// entities below the prefix are cleaned too. Values are never logged or returned.
    ///
    /// Refuses a path the policy does not list for the selector (the policy is the
    /// reviewed list of personal data: add the field there first, with its reason).
    pub fn redact(&mut self, selector: &str, paths: &[&str], reason: &str) -> Result<RedactOutcome> {
        let reason = reason.trim();
        if reason.is_empty() || reason.contains('\n') {
            bail!("redact: give the reason in one line (it goes into every version's change description)");
        }
        let (prefix, single) = match selector.strip_prefix("entity:") {
            Some(_) => {
                let id = EntityId::parse(selector)?;
                (id.prefix.clone(), Some(id))
            }
            None => {
                listing_dir(selector)?;
                (selector.to_string(), None)
            }
        };
        let policy = privacy::policy();
        let selection = select(policy, &prefix, paths)?;
        let entities = self.redaction_scope(&prefix, single.as_ref())?;
        let mut outcome = RedactOutcome::default();
        for (path, files) in entities {
            self.redact_entity(policy, &selection, &path, files, reason, &mut outcome)
                .with_context(|| format!("redacting {path}"))?;
        }
        Ok(outcome)
    }

    /// Entity paths (existing or not: orphaned version files count) and their version files.
    fn redaction_scope(
        &mut self,
        prefix: &str,
        single: Option<&EntityId>,
    ) -> Result<BTreeMap<String, Files>> {
        let mut scope: BTreeMap<String, Files> = BTreeMap::new();
        let (entity_dir, version_dir) = match single {
            Some(id) => {
                let path = entity_path(id);
                self.access.reads.insert(id.to_string());
                scope.entry(path).or_default();
                (
                    None,
                    format!("v2/version/{}", id.rel_path().trim_end_matches(".json")),
                )
            }
            None => {
                self.access.listings.insert(format!("entity:{prefix}"));
                (
                    Some(format!("v2/entity/{prefix}")),
                    format!("v2/version/entity/{prefix}"),
                )
            }
        };
        if let Some(dir) = entity_dir {
            for path in self.backend.list_json(&dir)? {
                scope.entry(path).or_default();
            }
        }
        for path in self.backend.list_json(&version_dir)? {
            let Some((dir, file)) = path.rsplit_once('/') else {
                continue;
            };
            let Some(number) = file.strip_suffix(".json").and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            // `v2/version/entity/<prefix>/<slug>/<N>.json` belongs to `v2/entity/<prefix>/<slug>.json`;
            // one entity's directory may also hold a deeper prefix's directories.
            if single.is_some() && dir != version_dir {
                continue;
            }
            let owner = format!("v2/{}.json", dir.trim_start_matches("v2/version/"));
            scope.entry(owner).or_default().versions.push((number, path));
        }
        for files in scope.values_mut() {
            files.versions.sort();
        }
        Ok(scope)
    }

    fn redact_entity(
        &mut self,
        policy: &Policy,
        selection: &[usize],
        path: &str,
        files: Files,
        reason: &str,
        outcome: &mut RedactOutcome,
    ) -> Result<()> {
        let mut cleared: BTreeMap<usize, PathCounts> = BTreeMap::new();
        let mut rewritten = Vec::new();
        for (_, version_path) in files.versions {
            let bytes = self
                .backend
                .read(&version_path)?
                .with_context(|| format!("{version_path} was listed but is gone"))?;
            let redacted = policy
                .redact_bytes(selection, &bytes)
                .with_context(|| format!("{version_path} is not valid JSON"))?;
            if let Some(redacted) = redacted {
                debug_assert_eq!(redacted.place, Place::Snapshot);
                for (rule, n) in redacted.cleared {
                    cleared.entry(rule).or_default().snapshots += n as u64;
                }
                rewritten.push((version_path, Some(redacted.bytes)));
            }
        }
        let current = self.read_doc(path)?;
        let mut new_doc = None;
        if let Some(doc) = &current {
            let mut doc = doc.clone();
            if let Some((_, _, rules)) = policy.subject(selection, &doc) {
                for rule in rules {
                    let n = policy.rules[rule].path.clear(&mut doc);
                    if n > 0 {
                        cleared.entry(rule).or_default().documents += n as u64;
                    }
                }
            }
            new_doc = Some(doc);
        }
        if cleared.is_empty() {
            return Ok(());
        }
        let named: Vec<&str> = cleared.keys().map(|&r| policy.rules[r].path.as_str()).collect();
        for (rule, counts) in &cleared {
            let total = outcome.by_path.entry(policy.rules[*rule].label()).or_default();
            total.documents += counts.documents;
            total.snapshots += counts.snapshots;
        }
        let snapshots = rewritten.len() as u64;
        outcome.snapshots += snapshots;
        self.stats.snapshots_redacted += snapshots;
        match (current, new_doc) {
            (Some(old), Some(doc)) => {
                let id = entity_id_from_path(path)?;
                let change = format!("Redacted {}: {reason}", named.join(", "));
                let doc = self.prepare_entity(&id, doc, Some(&old))?;
                self.write_object_with(ObjectId::Entity(id), doc, Some(old), &change, rewritten)?;
                outcome.entities += 1;
            }
            // An orphan's versions: no entity to give a new version to.
            _ => self.write_unit(rewritten)?,
        }
        Ok(())
    }
}

/// The policy rules `paths` name for entities of `prefix` (a rule of a deeper prefix counts:
/// `organization` takes in `organization/hospital`'s rules).
fn select(policy: &Policy, prefix: &str, paths: &[&str]) -> Result<Vec<usize>> {
    if paths.is_empty() {
        bail!(
            "redact: name at least one path of the privacy policy ({})",
            privacy::SOURCE_PATH
        );
    }
    let mut selection = Vec::new();
    for path in paths {
        let found: Vec<usize> = (0..policy.rules.len())
            .filter(|&i| {
                let rule = &policy.rules[i];
                rule.path.as_str() == *path
                    && (rule.applies_to(prefix) || rule.prefix.starts_with(&format!("{prefix}/")))
            })
            .collect();
        if found.is_empty() {
            bail!(
                "redact: `{path}` is not personal data of `{prefix}` in the privacy policy; add it to {} \
                 with its reason first (a reviewed change), or check the spelling (`nes db audit` lists the paths)",
                privacy::SOURCE_PATH
            );
        }
        selection.extend(found);
    }
    selection.sort_unstable();
    selection.dedup();
    Ok(selection)
}
