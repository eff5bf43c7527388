//! Completing a new document as the original model dump does (every declared field
//! present), and keeping an older file's shape when it is rewritten.

use serde_json::{Map, Value};

use super::fields::*;
use super::Model;

/// Completes a new document the way the original model dump does: every declared field
/// (nested models included) present, unset ones as `null`; URL fields normalised.
/// `doc` holds the object's own fields; `slug`, `type`, `sub_type`, `created_at` and
/// `version_summary` are set by the caller.
pub fn complete(model: Model<'_>, doc: &mut Value) {
    if let Value::Object(obj) = doc {
        complete_fields(model_fields(model).into_iter(), obj);
    }
}

pub(super) fn complete_fields<'f>(fields: impl Iterator<Item = &'f Field>, obj: &mut Map<String, Value>) {
    for field in fields {
        match obj.get_mut(field.name) {
            Some(value) => complete_value(field.kind, value),
            None => {
                let fill = field
                    .default
                    .map_or(Value::Null, |d| Value::String(d.to_string()));
                obj.insert(field.name.to_string(), fill);
            }
        }
    }
}

pub(super) fn complete_value(kind: Kind, value: &mut Value) {
    match (kind, value) {
        (Kind::Nested(spec), Value::Object(obj)) => complete_fields(spec.fields.iter(), obj),
        (Kind::List(spec), Value::Array(items)) => {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                complete_fields(spec.fields.iter(), item);
            }
        }
        (Kind::Url, Value::String(s)) => {
            if let Some(normal) = normalize_url(s) {
                *s = normal;
            }
        }
        _ => {}
    }
}

/// pydantic's `AnyUrl` serialisation (same `url` crate): lowercase scheme and host,
/// `/` after a bare host, percent-encoding. `None` if the text is not a URL.
pub fn normalize_url(text: &str) -> Option<String> {
    url::Url::parse(text).ok().map(String::from)
}

/// Removes from `new` every `null` whose key is absent at the same place in `old`, so that
/// a file written by an older model keeps its shape until a change really sets the key.
pub fn keep_absent(new: &mut Value, old: &Value) {
    match (new, old) {
        (Value::Object(new), Value::Object(old)) => {
            new.retain(|key, value| !value.is_null() || old.contains_key(key));
            for (key, value) in new.iter_mut() {
                if let Some(old_value) = old.get(key) {
                    keep_absent(value, old_value);
                }
            }
        }
        (Value::Array(new), Value::Array(old)) => {
            for (new_item, old_item) in new.iter_mut().zip(old) {
                keep_absent(new_item, old_item);
            }
        }
        _ => {}
    }
}
