//! Field-level differences between two JSON values, as JSON paths (`names[0].en.full`).
//!
//! Objects are compared key by key. Lists of objects are matched item by item: by the
//! identity field the NES model gives that list (see [`identity_keys`]) when every item on
//! both sides has one and no two items share it, otherwise by position. Lists of scalars
//! (`tags`) are one value: a change shows the whole old and new list.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// One changed place in a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// JSON path from the document root: `names[0].en.full`, `tags`, `attributes["a-b"]`.
    pub path: String,
    #[serde(flatten)]
    pub change: Change,
}

/// What happened at a path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum Change {
    /// The key (or list item) is new.
    Added { new: Value },
    /// The key (or list item) is gone.
    Removed { old: Value },
    /// The value at the path differs.
    Changed { old: Value, new: Value },
}

impl FieldChange {
    /// The top-level field the path starts with (`names` for `names[0].en.full`).
    pub fn top_field(&self) -> &str {
        let end = self.path.find(['.', '[']).unwrap_or(self.path.len());
        &self.path[..end]
    }
}

/// The fields that identify an item of the list held under `field`, in the NES model.
/// An item's identity is the tuple of these values.
pub fn identity_keys(field: &str) -> &'static [&'static str] {
    match field {
        "names" | "misspelled_names" => &["kind"],
        "identifiers" => &["scheme"],
        "contacts" => &["type"],
        "candidacies" => &["candidate_id"],
        "pictures" => &["url"],
        _ => &["id"],
    }
}

/// Every difference between `old` and `new`, in document order (keys sorted).
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_at(&mut String::new(), "", old, new, &mut out);
    out
}

/// Differences below `path`; `field` is the last object key on the way (for list identity).
fn diff_at(path: &mut String, field: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => diff_objects(path, a, b, out),
        (Value::Array(a), Value::Array(b)) if all_objects(a) && all_objects(b) => {
            diff_lists(path, field, a, b, out)
        }
        _ => out.push(FieldChange {
            path: path.clone(),
            change: Change::Changed {
                old: old.clone(),
                new: new.clone(),
            },
        }),
    }
}

fn diff_objects(
    path: &mut String,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    out: &mut Vec<FieldChange>,
) {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let len = path.len();
        push_key(path, key);
        match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) => diff_at(path, key, x, y, out),
            (Some(x), None) => out.push(FieldChange {
                path: path.clone(),
                change: Change::Removed { old: x.clone() },
            }),
            (None, Some(y)) => out.push(FieldChange {
                path: path.clone(),
                change: Change::Added { new: y.clone() },
            }),
            (None, None) => unreachable!("key taken from one of the maps"),
        }
        path.truncate(len);
    }
}

fn diff_lists(path: &mut String, field: &str, a: &[Value], b: &[Value], out: &mut Vec<FieldChange>) {
    let keys = identity_keys(field);
    match (identities(a, keys), identities(b, keys)) {
        (Some(ia), Some(ib)) => {
            let in_new: HashMap<&String, usize> = ib.iter().enumerate().map(|(j, k)| (k, j)).collect();
            let in_old: HashMap<&String, usize> = ia.iter().enumerate().map(|(i, k)| (k, i)).collect();
            for (i, key) in ia.iter().enumerate() {
                if !in_new.contains_key(key) {
                    item_change(path, i, Change::Removed { old: a[i].clone() }, out);
                }
            }
            for (j, key) in ib.iter().enumerate() {
                match in_old.get(key) {
                    Some(&i) => {
                        let len = path.len();
                        push_index(path, j);
                        diff_at(path, field, &a[i], &b[j], out);
                        path.truncate(len);
                    }
                    None => item_change(path, j, Change::Added { new: b[j].clone() }, out),
                }
            }
            // Same items in another order: no item changed, but the list did.
            let same_items = ia.len() == ib.len() && ia.iter().all(|k| in_new.contains_key(k));
            if same_items && ia != ib && a.iter().all(|x| b.contains(x)) {
                out.push(FieldChange {
                    path: path.clone(),
                    change: Change::Changed {
                        old: Value::Array(a.to_vec()),
                        new: Value::Array(b.to_vec()),
                    },
                });
            }
        }
        _ => {
            for i in 0..a.len().max(b.len()) {
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => {
                        let len = path.len();
                        push_index(path, i);
                        diff_at(path, field, x, y, out);
                        path.truncate(len);
                    }
                    (Some(x), None) => item_change(path, i, Change::Removed { old: x.clone() }, out),
                    (None, Some(y)) => item_change(path, i, Change::Added { new: y.clone() }, out),
                    (None, None) => unreachable!("index below the longer length"),
                }
            }
        }
    }
}

fn item_change(path: &mut String, index: usize, change: Change, out: &mut Vec<FieldChange>) {
    let len = path.len();
    push_index(path, index);
    out.push(FieldChange {
        path: path.clone(),
        change,
    });
    path.truncate(len);
}

/// Each item's identity, when every item has one and they are distinct.
fn identities(items: &[Value], keys: &[&str]) -> Option<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let object = item.as_object()?;
        let mut identity = String::new();
        for key in keys {
            match object.get(*key) {
                None | Some(Value::Null) => return None,
                Some(v) => {
                    identity.push_str(&v.to_string());
                    identity.push('\u{1f}');
                }
            }
        }
        if !seen.insert(identity.clone()) {
            return None;
        }
        out.push(identity);
    }
    Some(out)
}

fn all_objects(items: &[Value]) -> bool {
    items.iter().all(Value::is_object)
}

/// Appends `key` to a JSON path: `.key` for plain names, `["key"]` otherwise.
fn push_key(path: &mut String, key: &str) {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_string()).to_string());
        path.push(']');
    }
}

fn push_index(path: &mut String, index: usize) {
    path.push('[');
    path.push_str(&index.to_string());
    path.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(old: Value, new: Value) -> Vec<String> {
        diff(&old, &new).into_iter().map(|c| c.path).collect()
    }

    #[test]
    fn nested_keys_and_odd_names() {
        let old = json!({"a": {"b": 1, "c-d": 2}, "keep": true});
        let new = json!({"a": {"b": 2, "c-d": 2, "e": null}, "keep": true});
        assert_eq!(paths(old, new), vec!["a.b", "a.e"]);
        let changes = diff(&json!({"x-y": 1}), &json!({}));
        assert_eq!(changes[0].path, r#"["x-y"]"#);
        assert_eq!(changes[0].change, Change::Removed { old: json!(1) });
    }

    #[test]
    fn names_matched_by_kind_not_position() {
        let old = json!({"names": [{"kind": "PRIMARY", "en": "A"}, {"kind": "ALIAS", "en": "B"}]});
        let new = json!({"names": [{"kind": "ALIAS", "en": "B"}, {"kind": "PRIMARY", "en": "A2"}]});
        let changes = diff(&old, &new);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].path, "names[1].en");
        assert_eq!(
            changes[0].change,
            Change::Changed {
                old: json!("A"),
                new: json!("A2")
            }
        );
    }

    #[test]
    fn duplicate_identities_fall_back_to_position() {
        let old = json!({"names": [{"kind": "ALIAS", "en": "A"}, {"kind": "ALIAS", "en": "B"}]});
        let new = json!({"names": [{"kind": "ALIAS", "en": "A"}, {"kind": "ALIAS", "en": "C"}, {"kind": "ALIAS", "en": "D"}]});
        assert_eq!(paths(old, new), vec!["names[1].en", "names[2]"]);
    }

    #[test]
    fn reordered_items_and_scalar_lists() {
        let old = json!({"contacts": [{"type": "EMAIL", "value": "a"}, {"type": "URL", "value": "b"}]});
        let new = json!({"contacts": [{"type": "URL", "value": "b"}, {"type": "EMAIL", "value": "a"}]});
        assert_eq!(paths(old, new), vec!["contacts"]);
        assert_eq!(
            paths(json!({"tags": ["a", "b"]}), json!({"tags": ["b", "a", "c"]})),
            vec!["tags"]
        );
    }

    #[test]
    fn top_field_of_paths() {
        let c = |p: &str| FieldChange {
            path: p.into(),
            change: Change::Added { new: Value::Null },
        };
        assert_eq!(c("names[0].en").top_field(), "names");
        assert_eq!(c("version_summary.author").top_field(), "version_summary");
        assert_eq!(c("tags").top_field(), "tags");
    }
}
