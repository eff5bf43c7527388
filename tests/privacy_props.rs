//! Properties of the privacy policy on arbitrary documents: the byte scan that lets audit
//! and purge skip files without parsing them never misses a value, in nes's canonical bytes
//! or any other JSON layout, and redaction clears exactly the policy's values, once.

use nes::store::json as canonical;
use nes::store::privacy::{policy, Place};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A value at a personal path: absent, null, a string, a LangText-like object, a list.
fn personal() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        "[a-zA-Z \\u{0900}-\\u{097F}\"\\\\]{0,12}".prop_map(|s| Some(json!(s))),
        "[a-z]{1,8}".prop_map(|s| Some(json!({"en": {"provenance": "imported", "value": s}, "ne": null}))),
        Just(Some(json!([1, null]))),
    ]
}

/// A person, hospital or location document, or a version file holding one; other keys hold
/// the policy's key names as string values, to tempt the scan.
fn document() -> impl Strategy<Value = Value> {
    (0..3usize, personal(), personal(), personal(), any::<bool>(), "[a-z_]{0,12}").prop_map(
        |(kind, a, b, c, versioned, noise)| {
            let put = |map: &mut serde_json::Map<String, Value>, key: &str, v: Option<Value>| {
                if let Some(v) = v {
                    map.insert(key.to_string(), v);
                }
            };
            let mut inner = serde_json::Map::new();
            let doc = match kind {
                0 => {
                    put(&mut inner, "father_name", a);
                    put(&mut inner, "mother_name", b);
                    put(&mut inner, "spouse_name", c);
                    inner.insert("note".into(), json!("father_name"));
                    json!({"type": "person", "slug": "ram-bahadur", "entity_prefix": null,
                           "names": [{"kind": "PRIMARY", "en": {"full": noise}}],
                           "personal_details": Value::Object(inner)})
                }
                1 => {
                    put(&mut inner, "contact_person", a);
                    put(&mut inner, "contact_mobile", b);
                    put(&mut inner, noise.as_str(), c);
                    json!({"type": "organization", "sub_type": "hospital", "slug": "bir-hospital",
                           "entity_prefix": "organization/hospital", "attributes": Value::Object(inner)})
                }
                _ => {
                    put(&mut inner, "father_name", a);
                    json!({"type": "location", "slug": "kathmandu", "attributes": Value::Object(inner)})
                }
            };
            if versioned {
                json!({"type": "ENTITY", "version_number": 2, "snapshot": doc, "change_description": "father_name"})
            } else {
                doc
            }
        },
    )
}

/// Values the policy covers in `doc`, found by walking it here.
fn held(doc: &Value) -> usize {
    let policy = policy();
    let all = policy.all();
    match policy.subject(&all, doc) {
        Some((_, fields, rules)) => rules
            .iter()
            .map(|&r| policy.rules[r].path.held(fields).len())
            .sum(),
        None => 0,
    }
}

proptest! {
    #[test]
    fn the_scan_never_misses_a_value_and_redaction_clears_exactly_them(doc in document()) {
        let policy = policy();
        let all = policy.all();
        let layouts = [
            canonical::to_vec(&doc),
            serde_json::to_vec(&doc).unwrap(),
            serde_json::to_vec_pretty(&doc).unwrap(),
        ];
        let count = held(&doc);
        for bytes in &layouts {
            if count > 0 {
                prop_assert!(policy.may_hold(&all, bytes), "missed in {}", String::from_utf8_lossy(bytes));
            }
            let found: usize = policy.findings(&all, bytes, false).unwrap().iter().map(|f| f.count).sum();
            prop_assert_eq!(found, count);
            match policy.redact_bytes(&all, bytes).unwrap() {
                None => prop_assert_eq!(count, 0),
                Some(redacted) => {
                    let place = if doc.get("snapshot").is_some() { Place::Snapshot } else { Place::Document };
                    prop_assert_eq!(redacted.place, place);
                    prop_assert_eq!(redacted.cleared.iter().map(|(_, n)| n).sum::<usize>(), count);
                    let after: Value = serde_json::from_slice(&redacted.bytes).unwrap();
                    prop_assert_eq!(held(&after), 0);
                    prop_assert_eq!(&canonical::to_vec(&after), &redacted.bytes);
                    prop_assert!(policy.redact_bytes(&all, &redacted.bytes).unwrap().is_none());
                    // Only the policy's values changed: null them here and compare.
                    let mut expected = doc.clone();
                    let fields = if place == Place::Snapshot { &mut expected["snapshot"] } else { &mut expected };
                    for rule in &policy.rules {
                        rule.path.clear(fields);
                    }
                    prop_assert_eq!(after, expected);
                }
            }
        }
    }
}
