//! Order-independent 64-bit digests of JSON values, so that version chains can compare an
//! object with its latest version without keeping either document in memory.

use std::cell::RefCell;
use std::hash::{DefaultHasher, Hasher};

use serde_json::{Map, Value};

thread_local! {
    /// The encoding of the value being digested: hashing it in one piece is several times
    /// cheaper than feeding SipHash byte by byte, and the buffer is reused across files.
    static ENCODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Digest of `value`; keys listed in `skip` are left out at the top level, and when
/// `skip_summary_id` is set, `version_summary.id` is left out too (a snapshot's computed
/// fields, FORMAT.md §4).
pub fn digest(value: &Value, skip: &[&str], skip_summary_id: bool) -> u64 {
    ENCODED.with_borrow_mut(|buf| {
        buf.clear();
        let mut e = Enc(buf);
        match value {
            Value::Object(map) => write_object(&mut e, map, &|key| {
                if skip.contains(&key) {
                    Skip::Drop
                } else if skip_summary_id && key == "version_summary" {
                    Skip::Inner("id")
                } else {
                    Skip::Keep
                }
            }),
            other => write_value(&mut e, other),
        }
        let mut h = DefaultHasher::new();
        h.write(e.0);
        h.finish()
    })
}

/// A tagged, length-prefixed (so unambiguous) encoding of a value.
struct Enc<'b>(&'b mut Vec<u8>);

impl Enc<'_> {
    fn u8(&mut self, b: u8) {
        self.0.push(b);
    }

    fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn str(&mut self, tag: u8, s: &str) {
        self.u8(tag);
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
}

enum Skip {
    Keep,
    Drop,
    /// Keep the key, but drop this key of its (object) value.
    Inner(&'static str),
}

fn write_value(e: &mut Enc, value: &Value) {
    match value {
        Value::Null => e.u8(0),
        Value::Bool(b) => {
            e.u8(1);
            e.u8(u8::from(*b));
        }
        Value::Number(n) => {
            e.u8(2);
            // Integers and floats stay apart, as they do on disk (`1` vs `1.0`).
            if let Some(u) = n.as_u64() {
                e.u8(0);
                e.u64(u);
            } else if let Some(i) = n.as_i64() {
                e.u8(1);
                e.u64(i as u64);
            } else {
                e.u8(2);
                e.u64(n.as_f64().unwrap_or(f64::NAN).to_bits());
            }
        }
        Value::String(s) => e.str(3, s),
        Value::Array(items) => {
            e.u8(4);
            e.u64(items.len() as u64);
            for item in items {
                write_value(e, item);
            }
        }
        Value::Object(map) => write_object(e, map, &|_| Skip::Keep),
    }
}

fn write_object(e: &mut Enc, map: &Map<String, Value>, skip: &dyn Fn(&str) -> Skip) {
    e.u8(5);
    // serde_json's map is sorted unless some crate turns on `preserve_order`; sort then.
    if map.keys().is_sorted() {
        write_entries(e, map.iter(), skip);
    } else {
        let mut entries: Vec<(&String, &Value)> = map.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        write_entries(e, entries.into_iter(), skip);
    }
    e.u8(7);
}

fn write_entries<'v>(
    e: &mut Enc,
    entries: impl Iterator<Item = (&'v String, &'v Value)>,
    skip: &dyn Fn(&str) -> Skip,
) {
    for (key, value) in entries {
        match skip(key) {
            Skip::Drop => {}
            Skip::Keep => {
                e.str(6, key);
                write_value(e, value);
            }
            Skip::Inner(inner) => {
                e.str(6, key);
                match value {
                    Value::Object(m) => {
                        write_object(e, m, &|k| if k == inner { Skip::Drop } else { Skip::Keep })
                    }
                    other => write_value(e, other),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The one-piece encoding keeps structure apart: the same strings and numbers in other
    /// shapes digest differently.
    #[test]
    fn structure_is_part_of_the_digest() {
        let d = |v: Value| digest(&v, &[], false);
        assert_ne!(d(json!(["ab"])), d(json!(["a", "b"])));
        assert_ne!(d(json!({"a": "b"})), d(json!({"ab": ""})));
        assert_ne!(d(json!([[1], 2])), d(json!([1, [2]])));
        assert_ne!(d(json!({"a": {"b": 1}})), d(json!({"a": {}, "b": 1})));
        assert_ne!(d(json!(-1)), d(json!(u64::MAX)));
        assert_ne!(d(json!(null)), d(json!(false)));
        assert_eq!(
            d(json!({"b": [1, "x"], "a": null})),
            d(json!({"a": null, "b": [1, "x"]}))
        );
    }

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
