//! The privacy policy (`model/privacy.toml`): which fields of which entities hold personal
//! data, and what audit, diff, redaction and purge share about them: which rules apply to a
//! document or a version snapshot, the values it holds, clearing them, and telling from a
//! file's raw bytes that it holds none without parsing it.
//!
//! It knows the model (to check the policy's paths and to classify documents) but nothing of
//! Git, runs or the command line: callers hand it values and bytes.

mod bytes;
mod load;
mod path;

use std::sync::OnceLock;

use serde_json::Value;

pub use bytes::{Finding, Redacted};
pub use load::load;
pub use path::FieldPath;

use super::model;

/// Where the policy lives in the tool repository (for messages).
pub const SOURCE_PATH: &str = "model/privacy.toml";

/// The policy compiled into this binary.
pub const SOURCE: &str = include_str!("../../../model/privacy.toml");

/// One field of personal data: a path in the entities below a prefix, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Entities whose prefix is this or lies below it.
    pub prefix: String,
    pub path: FieldPath,
    pub reason: String,
}

impl Rule {
    /// Whether the rule covers entities of `prefix`.
    pub fn applies_to(&self, prefix: &str) -> bool {
        prefix == self.prefix
            || prefix
                .strip_prefix(self.prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// `person: personal_details.father_name`.
    pub fn label(&self) -> String {
        format!("{}: {}", self.prefix, self.path)
    }
}

/// The whole policy, rules in file order.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

/// Whether a document is an object file or a version file (whose snapshot is checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Document,
    Snapshot,
}

static POLICY: OnceLock<Policy> = OnceLock::new();

/// The policy this binary was built with.
pub fn policy() -> &'static Policy {
    POLICY.get_or_init(|| match load(SOURCE) {
        Ok(policy) => policy,
        // A unit test loads the same text against the same model on every CI run.
        Err(problems) => panic!("{SOURCE_PATH} is invalid: {}", problems.join("; ")),
    })
}

impl Policy {
    /// Indices of every rule: the selection of audits, diffs and a purge without `--path`.
    pub fn all(&self) -> Vec<usize> {
        (0..self.rules.len()).collect()
    }

    /// Indices of the rules covering entities of `prefix`.
    pub fn rules_for(&self, prefix: &str) -> Vec<usize> {
        (0..self.rules.len())
            .filter(|&i| self.rules[i].applies_to(prefix))
            .collect()
    }

    /// Indices of the rules a user's words name: a path (`personal_details.father_name`,
    /// every prefix with it) or a label (`person: personal_details.father_name`, or without
    /// the space). An empty list of words names every rule.
    pub fn select(&self, words: &[String]) -> Result<Vec<usize>, String> {
        if words.is_empty() {
            return Ok(self.all());
        }
        let mut chosen = Vec::new();
        for word in words {
            let (prefix, path) = match word.split_once(':') {
                Some((prefix, path)) => (Some(prefix.trim()), path.trim()),
                None => (None, word.trim()),
            };
            let found: Vec<usize> = (0..self.rules.len())
                .filter(|&i| {
                    let rule = &self.rules[i];
                    rule.path.as_str() == path && prefix.is_none_or(|p| p == rule.prefix)
                })
                .collect();
            if found.is_empty() {
                let known: Vec<String> = self.rules.iter().map(Rule::label).collect();
                return Err(format!(
                    "`{word}` is not a path of the privacy policy ({SOURCE_PATH}); it lists: {}",
                    known.join(", ")
                ));
            }
            chosen.extend(found);
        }
        chosen.sort_unstable();
        chosen.dedup();
        Ok(chosen)
    }

    /// The rules of `selection` that cover `doc`, a parsed entity or version file, and
    /// where its fields are (the document itself, or the version's snapshot). `None` for
    /// anything else (relationships, authors, logs) and for documents no rule covers.
    pub fn subject<'a>(&self, selection: &[usize], doc: &'a Value) -> Option<(Place, &'a Value, Vec<usize>)> {
        let (place, fields) = classify(doc)?;
        let prefix = model::document_prefix(fields)?;
        let rules: Vec<usize> = selection
            .iter()
            .copied()
            .filter(|&i| self.rules[i].applies_to(&prefix))
            .collect();
        (!rules.is_empty()).then_some((place, fields, rules))
    }
}

/// An entity file is its own subject; a version file's is its snapshot (entity versions
/// only). Judged by content, so files outside `v2/` are covered too.
fn classify(doc: &Value) -> Option<(Place, &Value)> {
    let obj = doc.as_object()?;
    if let Some(snapshot) = obj.get("snapshot") {
        let entity_version = obj.get("type").and_then(Value::as_str) == Some("ENTITY");
        return (entity_version && snapshot.is_object()).then_some((Place::Snapshot, snapshot));
    }
    let ty = obj.get("type").and_then(Value::as_str)?;
    let entity = obj.contains_key("slug") && model::entity_types().iter().any(|t| t == ty);
    entity.then_some((Place::Document, doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_shipped_policy_loads_against_the_model() {
        let policy = policy();
        let labels: Vec<String> = policy.rules.iter().map(Rule::label).collect();
        assert_eq!(
            labels,
            [
                "person: personal_details.father_name",
                "person: personal_details.mother_name",
                "person: personal_details.spouse_name",
                "organization/hospital: attributes.contact_person",
                "organization/hospital: attributes.contact_mobile",
            ]
        );
        assert!(policy.rules.iter().all(|r| !r.reason.is_empty()));
    }

    #[test]
    fn prefixes_cover_their_descendants_only() {
        let rule = &policy().rules[3];
        assert!(rule.applies_to("organization/hospital"));
        assert!(!rule.applies_to("organization/hospitals"));
        assert!(!rule.applies_to("organization"));
    }

    #[test]
    fn selects_by_path_or_label() {
        let policy = policy();
        assert_eq!(policy.select(&[]).unwrap().len(), 5);
        assert_eq!(
            policy.select(&["personal_details.mother_name".into()]).unwrap(),
            [1]
        );
        assert_eq!(
            policy
                .select(&[
                    "organization/hospital:attributes.contact_mobile".into(),
                    "personal_details.father_name".into()
                ])
                .unwrap(),
            [0, 4]
        );
        let error = policy
            .select(&["personal_details.fathers_name".into()])
            .unwrap_err();
        assert!(error.contains("not a path of the privacy policy"), "{error}");
    }

    #[test]
    fn classifies_entities_and_entity_versions_by_content() {
        let policy = policy();
        let all = policy.select(&[]).unwrap();
        let person = json!({"type": "person", "slug": "a-b", "personal_details": null});
        let (place, _, rules) = policy.subject(&all, &person).unwrap();
        assert_eq!((place, rules), (Place::Document, vec![0, 1, 2]));
        let version = json!({"type": "ENTITY", "version_number": 1, "snapshot": {
            "type": "organization", "sub_type": "hospital", "slug": "x-y", "entity_prefix": null}});
        let (place, _, rules) = policy.subject(&all, &version).unwrap();
        assert_eq!((place, rules), (Place::Snapshot, vec![3, 4]));
        let relationship = json!({"type": "MEMBER_OF", "source_entity_id": "entity:person/a-b"});
        assert!(policy.subject(&all, &relationship).is_none());
        let location = json!({"type": "location", "slug": "kathmandu"});
        assert!(
            policy.subject(&all, &location).is_none(),
            "no rule covers locations"
        );
        assert!(policy.subject(&all, &json!({"name": "A", "slug": "a"})).is_none());
    }
}
