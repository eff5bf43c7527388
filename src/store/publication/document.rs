//! Pure functions on documents that the publication applies: a migration's fields checked
//! and stripped of managed keys, content equality, merge patches, name lookups.

use anyhow::{bail, Result};
use serde_json::{Map, Value};

use serde_json::json;

use super::{MANAGED_KEYS, SNAPSHOT_ONLY_KEYS};
use crate::store::id::EntityId;
use crate::store::model::{self, KindDef};

/// The object's own fields as a map, refusing keys that only snapshots may hold.
pub(super) fn own_fields(fields: Value, id: &str) -> Result<Map<String, Value>> {
    let Value::Object(mut map) = fields else {
        bail!("{id}: fields must be a JSON object, got {fields}");
    };
    if let Some(key) = SNAPSHOT_ONLY_KEYS.iter().find(|k| map.contains_key(**k)) {
        bail!("{id}: `{key}` is computed from the ID and appears only in version snapshots; remove it");
    }
    for key in MANAGED_KEYS {
        map.remove(*key);
    }
    Ok(map)
}

/// Equal apart from the keys every write sets anew, a key absent on one side counting as
/// `null`: a file written by an older model (FORMAT.md §9) lacks keys that the completed
/// new document holds as `null`, and that is no change.
pub(super) fn same_content(new: &Value, old: &Value) -> bool {
    match (new.as_object(), old.as_object()) {
        (Some(new), Some(old)) => {
            let managed = |k: &String| MANAGED_KEYS.contains(&k.as_str());
            same_objects(new, old, &managed)
        }
        _ => new == old,
    }
}

fn same_objects(a: &Map<String, Value>, b: &Map<String, Value>, skip: &dyn Fn(&String) -> bool) -> bool {
    let one_way = |x: &Map<String, Value>, y: &Map<String, Value>| {
        x.iter()
            .filter(|(k, _)| !skip(k))
            .all(|(k, v)| same_value(v, y.get(k).unwrap_or(&Value::Null)))
    };
    one_way(a, b) && one_way(b, a)
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => same_objects(a, b, &|_| false),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(x, y))
        }
        _ => a == b,
    }
}

/// RFC 7386 JSON merge patch.
pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

pub(super) fn lookup<'a>(doc: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(doc, |v, key| match v {
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => v.get(key),
    })
}

/// Every full name and name part of `names` and `misspelled_names`.
pub(super) fn name_strings(doc: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    for list in ["names", "misspelled_names"] {
        for name in doc[list].as_array().into_iter().flatten() {
            for lang in ["en", "ne"] {
                if let Some(parts) = name[lang].as_object() {
                    out.extend(parts.values().filter_map(Value::as_str));
                }
            }
        }
    }
    out
}

/// Lowercase, without whitespace and ASCII punctuation, so `"Kathmandu-10 "` matches `"kathmandu 10"`.
pub(super) fn normalise_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation() && !matches!(c, '–' | '—' | '।'))
        .collect()
}

/// The `sub_type` the ID decides, if it decides one: the kind's fixed value; for an update
/// the stored value; for a new entity under a two-segment prefix whose second segment is a
/// subtype (`location/ward`), that segment; else the kind's default (`None`: the caller's
/// value, validated by the model, or `null`).
pub(super) fn decided_sub_type(id: &EntityId, kind: &KindDef, old: Option<&Value>) -> Option<Value> {
    let field = kind.field("sub_type");
    if let Some(f) = field.filter(|f| f.fixed) {
        return f.default.clone().map(Value::String);
    }
    if let Some(old) = old {
        return Some(old.get("sub_type").cloned().unwrap_or(Value::Null));
    }
    let subtypes = model::model().enum_values("EntitySubType").unwrap_or(&[]);
    match id.prefix.split('/').collect::<Vec<_>>()[..] {
        [_, sub] if subtypes.iter().any(|s| s == sub) => Some(json!(sub)),
        [_] => Some(
            field
                .and_then(|f| f.default.clone())
                .map_or(Value::Null, Value::String),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}}));
        merge_patch(&mut doc, &json!({"x": [1]}));
        assert_eq!(doc["x"], json!([1]));
    }

    #[test]
    fn names_normalise_across_case_spacing_and_punctuation() {
        assert_eq!(normalise_name("Kathmandu - 10"), normalise_name("kathmandu10"));
        assert_eq!(normalise_name("CPN (UML)"), "cpnuml");
        assert_eq!(normalise_name("काठमाडौं"), "काठमाडौं");
    }

    #[test]
    fn lookup_walks_objects_and_arrays() {
        let doc = json!({"names": [{"en": {"full": "A"}}]});
        assert_eq!(lookup(&doc, "names.0.en.full"), Some(&json!("A")));
        assert_eq!(lookup(&doc, "names.1"), None);
    }
}
