//! The policy applied to a file's raw bytes, as audit and purge meet them in their
//! hundreds of thousands: a byte scan that proves most files hold nothing (no policy key
//! followed by anything but `null`) before any JSON is parsed, then the findings or the
//! redacted file in nes's canonical bytes.

use memchr::memmem;
use serde_json::Value;

use super::{Place, Policy};
use crate::store::json as canonical;

/// What one file holds at one rule's path.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: usize,
    pub place: Place,
    /// Non-null values at the path (lists on the way make it more than one).
    pub count: usize,
    /// The values, when asked for.
    pub values: Vec<Value>,
}

/// A file with the values of some rules cleared.
#[derive(Debug, Clone, PartialEq)]
pub struct Redacted {
    /// The whole file again, in canonical JSON.
    pub bytes: Vec<u8>,
    pub place: Place,
    /// `(rule, values cleared)`, for rules that cleared any.
    pub cleared: Vec<(usize, usize)>,
}

impl Policy {
    /// Whether `bytes` may hold a value at a path of `selection`. `false` is certain: no
    /// leaf key of those paths is followed by a value other than `null` (a file with `\u`
    /// escapes, where a key could be spelled differently, is always `true`).
    pub fn may_hold(&self, selection: &[usize], bytes: &[u8]) -> bool {
        if memmem::find(bytes, b"\\u").is_some() {
            return true;
        }
        let mut seen: Vec<&str> = Vec::new();
        for &i in selection {
            let leaf = self.rules[i].path.leaf();
            if seen.contains(&leaf) {
                continue;
            }
            seen.push(leaf);
            let needle = format!("\"{leaf}\"");
            for at in memmem::find_iter(bytes, needle.as_bytes()) {
                if followed_by_value(&bytes[at + needle.len()..]) {
                    return true;
                }
            }
        }
        false
    }

    /// What `bytes` (an entity or version file) holds at the paths of `selection`;
    /// nothing for other files. Fails only when a file that may hold a value is not JSON.
    pub fn findings(
        &self,
        selection: &[usize],
        bytes: &[u8],
        with_values: bool,
    ) -> Result<Vec<Finding>, serde_json::Error> {
        if !self.may_hold(selection, bytes) {
            return Ok(Vec::new());
        }
        let doc = canonical::from_slice(bytes)?;
        let Some((place, fields, rules)) = self.subject(selection, &doc) else {
            return Ok(Vec::new());
        };
        Ok(rules
            .into_iter()
            .filter_map(|rule| {
                let held = self.rules[rule].path.held(fields);
                (!held.is_empty()).then(|| Finding {
                    rule,
                    place,
                    count: held.len(),
                    values: if with_values {
                        held.into_iter().cloned().collect()
                    } else {
                        Vec::new()
                    },
                })
            })
            .collect())
    }

    /// `bytes` with every value at the paths of `selection` set to null, in canonical
    /// JSON; `None` when the file holds none (it is then left byte for byte as it is).
    pub fn redact_bytes(
        &self,
        selection: &[usize],
        bytes: &[u8],
    ) -> Result<Option<Redacted>, serde_json::Error> {
        if !self.may_hold(selection, bytes) {
            return Ok(None);
        }
        let mut doc = canonical::from_slice(bytes)?;
        let Some((place, _, rules)) = self.subject(selection, &doc) else {
            return Ok(None);
        };
        let fields = match place {
            Place::Document => &mut doc,
            Place::Snapshot => &mut doc["snapshot"],
        };
        let cleared: Vec<(usize, usize)> = rules
            .into_iter()
            .map(|rule| (rule, self.rules[rule].path.clear(fields)))
            .filter(|&(_, n)| n > 0)
            .collect();
        Ok((!cleared.is_empty()).then(|| Redacted {
            bytes: canonical::to_vec(&doc),
            place,
            cleared,
        }))
    }
}

/// Whether the bytes after a quoted key are `: <something other than null>`.
fn followed_by_value(rest: &[u8]) -> bool {
    let rest = skip_space(rest);
    let Some(rest) = rest.strip_prefix(b":") else {
        return false; // the text was a string value, not a key
    };
    !skip_space(rest).starts_with(b"null")
}

fn skip_space(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::super::policy;
    use super::*;
    use serde_json::json;

    fn person(father: Value) -> Vec<u8> {
        canonical::to_vec(&json!({
            "type": "person", "slug": "ram-bahadur", "entity_prefix": null,
            "names": [{"kind": "PRIMARY", "en": {"full": "father_name"}}],
            "personal_details": {"father_name": father, "mother_name": null, "spouse_name": null},
        }))
    }

    #[test]
    fn the_byte_scan_skips_nulls_and_string_values() {
        let policy = policy();
        let all = policy.select(&[]).unwrap();
        assert!(!policy.may_hold(&all, &person(Value::Null)));
        assert!(policy.may_hold(&all, &person(json!({"en": {"value": "Hari"}}))));
        assert!(
            policy.may_hold(&all, br#"{"father_name":"x"}"#),
            "compact JSON is read too"
        );
        assert!(!policy.may_hold(&all, br#"{"a": "father_name", "b": 1}"#));
        assert!(
            policy.may_hold(&all, br#"{"a": "\u0001"}"#),
            "escapes are parsed, not scanned"
        );
    }

    #[test]
    fn redacts_a_person_and_its_version_snapshot() {
        let policy = policy();
        let all = policy.select(&[]).unwrap();
        let held = person(json!({"en": {"provenance": "imported", "value": "Hari"}}));
        let redacted = policy.redact_bytes(&all, &held).unwrap().unwrap();
        assert_eq!(redacted.bytes, person(Value::Null));
        assert_eq!(
            (redacted.place, redacted.cleared),
            (Place::Document, vec![(0, 1)])
        );
        assert_eq!(
            policy.redact_bytes(&all, &redacted.bytes).unwrap(),
            None,
            "a second pass is a no-op"
        );

        let snapshot: Value = serde_json::from_slice(&held).unwrap();
        let version =
            canonical::to_vec(&json!({"type": "ENTITY", "version_number": 1, "snapshot": snapshot}));
        let findings = policy.findings(&all, &version, true).unwrap();
        assert_eq!(findings.len(), 1);
        assert_eq!(
            (findings[0].rule, findings[0].place, findings[0].count),
            (0, Place::Snapshot, 1)
        );
        assert_eq!(findings[0].values[0]["en"]["value"], "Hari");
        let redacted = policy.redact_bytes(&all, &version).unwrap().unwrap();
        assert!(policy.findings(&all, &redacted.bytes, false).unwrap().is_empty());
        assert_eq!(
            policy.redact_bytes(&[1, 2], &version).unwrap(),
            None,
            "only the selection is cleared"
        );
    }

    #[test]
    fn broken_json_that_may_hold_a_value_is_an_error() {
        let all = policy().select(&[]).unwrap();
        assert!(policy().findings(&all, br#"{"father_name": "x""#, false).is_err());
        assert!(policy()
            .findings(&all, b"not json at all", false)
            .unwrap()
            .is_empty());
    }
}
