//! The entity IDs a document refers to: every field the model types as an entity ID,
//! found by key wherever it occurs.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use super::{join, model, Type};

/// Field name → the entity type its IDs must have (`None`: any), for every field the
/// model declares as `entity_id`; a name used with two different types keeps `None`.
static REFERENCE_FIELDS: LazyLock<HashMap<String, Option<String>>> = LazyLock::new(|| {
    let mut out: HashMap<String, Option<String>> = HashMap::new();
    for kind in &model().kinds {
        for field in &kind.fields {
            let mut ty = &field.ty;
            while let Type::List(inner) = ty {
                ty = inner;
            }
            if let Type::EntityRef(wanted) = ty {
                out.entry(field.name.clone())
                    .and_modify(|w| {
                        if w != wanted {
                            *w = None;
                        }
                    })
                    .or_insert_with(|| wanted.clone());
            }
        }
    }
    out
});

/// The entity type a reference under this key must point at (`parent` → `location`).
pub fn reference_target_type(key: &str) -> Option<&'static str> {
    REFERENCE_FIELDS.get(key).and_then(|w| w.as_deref())
}

/// Entity IDs a document refers to, with the JSON path of each reference: `parent`,
/// address `location_id`s, candidacy `constituency_id`/`party_id`, relationship
/// `source_entity_id`/`target_entity_id`, and whatever the model adds.
pub fn references(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_references(doc, "", &mut out);
    out
}

fn collect_references(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(obj) => {
            for (key, child) in obj {
                // Free-form and bookkeeping parts may hold look-alike keys that are not references.
                if matches!(key.as_str(), "attributes" | "version_summary" | "raw_payload") {
                    continue;
                }
                // Paths are built only where a reference can be: most keys hold scalars.
                match child {
                    Value::String(id) if REFERENCE_FIELDS.contains_key(key.as_str()) => {
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
