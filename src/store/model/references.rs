//! The entity IDs a document refers to, found by key wherever they occur.

use serde_json::Value;

use super::join;

/// Keys whose string values are entity IDs, wherever they occur in a document.
pub(super) const REFERENCE_KEYS: &[&str] = &[
    "parent",
    "location_id",
    "constituency_id",
    "party_id",
    "source_entity_id",
    "target_entity_id",
];

/// Entity IDs a document refers to, with the JSON path of each reference:
/// `parent`, address `location_id`s, candidacy `constituency_id`/`party_id`,
/// relationship `source_entity_id`/`target_entity_id`.
pub fn references(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_references(doc, "", &mut out);
    out
}

pub(super) fn collect_references(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(obj) => {
            for (key, child) in obj {
                // Free-form and bookkeeping parts may hold look-alike keys that are not references.
                if matches!(key.as_str(), "attributes" | "version_summary" | "raw_payload") {
                    continue;
                }
                // Paths are built only where a reference can be: most keys hold scalars.
                match child {
                    Value::String(id) if REFERENCE_KEYS.contains(&key.as_str()) => {
                        out.push((join(path, key), id.clone()))
                    }
                    Value::Object(_) | Value::Array(_) => collect_references(child, &join(path, key), out),
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if matches!(item, Value::Object(_) | Value::Array(_)) {
                    collect_references(item, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}
