//! Personal data in a diff: values at the privacy policy's paths are never shown (field
//! changes carry `"[redacted]"` instead, in text, markdown and JSON alike), and what a change
//! does to them is counted per path, so a reviewer sees the privacy impact without the data.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::fields::{Change, FieldChange};
use crate::store::privacy::{self, Place};

/// What a diff shows in place of a personal value.
pub const REDACTED: &str = "[redacted]";

/// What a change did to one policy path, in documents (entity files) and in version
/// snapshots rewritten after the fact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PersonalCounts {
    /// Documents that gained a value where they held none (created ones included).
    pub written: usize,
    /// Documents whose value changed.
    pub changed: usize,
    /// Documents that held a value and hold none now (deleted ones included).
    pub removed: usize,
    /// Earlier version files whose snapshot held a value and holds none now.
    pub snapshots_redacted: usize,
}

/// Hides personal values in the field changes of a document (`doc`: either side of it).
pub fn hide(doc: &Value, changes: &mut [FieldChange]) {
    let policy = privacy::policy();
    let all = policy.all();
    let Some((Place::Document, _, rules)) = policy.subject(&all, doc) else {
        return;
    };
    let marker = Value::String(REDACTED.to_string());
    for change in changes {
        for &rule in &rules {
            let path = &policy.rules[rule].path;
            let values: Vec<&mut Value> = match &mut change.change {
                Change::Added { new } => vec![new],
                Change::Removed { old } => vec![old],
                Change::Changed { old, new } => vec![old, new],
            };
            for value in values {
                path.hide_in(&change.path, value, &marker);
            }
        }
    }
}

/// Counts what a document's change did to personal data: `old`/`new` are its two sides
/// (`None`: absent), entity files or version files.
pub fn count(counts: &mut BTreeMap<String, PersonalCounts>, old: Option<&Value>, new: Option<&Value>) {
    let policy = privacy::policy();
    let all = policy.all();
    let before = old.and_then(|d| policy.subject(&all, d));
    let after = new.and_then(|d| policy.subject(&all, d));
    let place = match (&before, &after) {
        (Some((place, ..)), _) | (None, Some((place, ..))) => *place,
        (None, None) => return,
    };
    let mut rules: Vec<usize> = before
        .iter()
        .chain(after.iter())
        .flat_map(|(_, _, r)| r.clone())
        .collect();
    rules.sort_unstable();
    rules.dedup();
    let rewritten = old.is_some() && new.is_some();
    for rule in rules {
        let path = &policy.rules[rule].path;
        let a = before.as_ref().map(|(_, f, _)| path.held(f)).unwrap_or_default();
        let b = after.as_ref().map(|(_, f, _)| path.held(f)).unwrap_or_default();
        let field: Option<fn(&mut PersonalCounts) -> &mut usize> = match (place, a.is_empty(), b.is_empty()) {
            (Place::Snapshot, false, true) if rewritten => Some(|c| &mut c.snapshots_redacted),
            (Place::Snapshot, ..) => None,
            (Place::Document, true, false) => Some(|c| &mut c.written),
            (Place::Document, false, true) => Some(|c| &mut c.removed),
            (Place::Document, false, false) if a != b => Some(|c| &mut c.changed),
            (Place::Document, ..) => None,
        };
        if let Some(field) = field {
            *field(counts.entry(policy.rules[rule].label()).or_default()) += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person(father: Value) -> Value {
        json!({"type": "person", "slug": "ram", "personal_details": {"father_name": father, "gender": "male"}})
    }

    #[test]
    fn values_at_policy_paths_never_reach_a_field_change() {
        let (old, new) = (person(json!({"en": {"value": "Hari"}})), person(Value::Null));
        let mut changes = super::super::fields::diff(&old, &new);
        hide(&old, &mut changes);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "personal_details.father_name");
        assert_eq!(
            changes[0].change,
            Change::Changed {
                old: json!(REDACTED),
                new: Value::Null
            }
        );
        let mut added = super::super::fields::diff(&json!({"type": "person", "slug": "ram"}), &old);
        hide(&old, &mut added);
        let text = serde_json::to_string(&added).unwrap();
        assert!(!text.contains("Hari") && text.contains("male"), "{text}");
    }

    #[test]
    fn counts_writes_changes_removals_and_redacted_snapshots() {
        let mut counts = BTreeMap::new();
        let (hari, gopal) = (
            person(json!({"en": {"value": "Hari"}})),
            person(json!({"en": {"value": "Gopal"}})),
        );
        count(&mut counts, None, Some(&hari));
        count(&mut counts, Some(&hari), Some(&gopal));
        count(&mut counts, Some(&gopal), Some(&person(Value::Null)));
        count(&mut counts, Some(&hari), Some(&hari));
        let version = |snapshot: Value| json!({"type": "ENTITY", "version_number": 1, "snapshot": snapshot});
        count(
            &mut counts,
            Some(&version(hari.clone())),
            Some(&version(person(Value::Null))),
        );
        count(&mut counts, None, Some(&version(hari.clone())));
        let c = counts["person: personal_details.father_name"];
        assert_eq!(
            (c.written, c.changed, c.removed, c.snapshots_redacted),
            (1, 1, 1, 1)
        );
        assert_eq!(counts.len(), 1);
    }
}
