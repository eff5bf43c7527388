//! Order-independent 64-bit digests of JSON values, so that version chains can compare an
//! object with its latest version without keeping either document in memory.

use std::hash::{DefaultHasher, Hasher};

use serde_json::{Map, Value};

/// Digest of `value`; keys listed in `skip` are left out at the top level, and when
/// `skip_summary_id` is set, `version_summary.id` is left out too (a snapshot's computed
/// fields, FORMAT.md §4).
pub fn digest(value: &Value, skip: &[&str], skip_summary_id: bool) -> u64 {
    let mut h = DefaultHasher::new();
    match value {
        Value::Object(map) => write_object(&mut h, map, &|key| {
            if skip.contains(&key) {
                Skip::Drop
            } else if skip_summary_id && key == "version_summary" {
                Skip::Inner("id")
            } else {
                Skip::Keep
            }
        }),
        other => write_value(&mut h, other),
    }
    h.finish()
}

enum Skip {
    Keep,
    Drop,
    /// Keep the key, but drop this key of its (object) value.
    Inner(&'static str),
}

fn write_value(h: &mut DefaultHasher, value: &Value) {
    match value {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => {
            h.write_u8(1);
            h.write_u8(u8::from(*b));
        }
        Value::Number(n) => {
            h.write_u8(2);
            // Integers and floats stay apart, as they do on disk (`1` vs `1.0`).
            if let Some(u) = n.as_u64() {
                h.write_u8(0);
                h.write_u64(u);
            } else if let Some(i) = n.as_i64() {
                h.write_u8(1);
                h.write_i64(i);
            } else {
                h.write_u8(2);
                h.write_u64(n.as_f64().unwrap_or(f64::NAN).to_bits());
            }
        }
        Value::String(s) => write_str(h, 3, s),
        Value::Array(items) => {
            h.write_u8(4);
            h.write_usize(items.len());
            for item in items {
                write_value(h, item);
            }
        }
        Value::Object(map) => write_object(h, map, &|_| Skip::Keep),
    }
}

fn write_str(h: &mut DefaultHasher, tag: u8, s: &str) {
    h.write_u8(tag);
    h.write_usize(s.len());
    h.write(s.as_bytes());
}

fn write_object(h: &mut DefaultHasher, map: &Map<String, Value>, skip: &dyn Fn(&str) -> Skip) {
    h.write_u8(5);
    // serde_json's map is sorted unless some crate turns on `preserve_order`; sort then.
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    if !entries.is_sorted_by(|a, b| a.0 <= b.0) {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    for (key, value) in entries {
        match skip(key) {
            Skip::Drop => {}
            Skip::Keep => {
                write_str(h, 6, key);
                write_value(h, value);
            }
            Skip::Inner(inner) => {
                write_str(h, 6, key);
                match value {
                    Value::Object(m) => {
                        write_object(h, m, &|k| if k == inner { Skip::Drop } else { Skip::Keep })
                    }
                    other => write_value(h, other),
                }
            }
        }
    }
    h.write_u8(7);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn skips_computed_fields_only() {
        let object = json!({"a": 1, "version_summary": {"n": 2}});
        let snapshot = json!({"a": 1, "id": "x", "version_summary": {"n": 2, "id": "v"}});
        assert_eq!(digest(&object, &[], false), digest(&snapshot, &["id"], true));
        assert_ne!(digest(&object, &[], false), digest(&snapshot, &[], true));
        assert_ne!(
            digest(&json!({"a": 1}), &[], false),
            digest(&json!({"a": 1.0}), &[], false)
        );
    }
}
