//! Canonical JSON: byte-identical to Python's
//! `json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False)` (FORMAT.md §2).

use serde_json::Value;

/// Serialises `value` in the canonical form: sorted keys, 2-space indent, raw UTF-8,
/// Python float `repr`, no trailing newline.
pub fn to_vec(value: &Value) -> Vec<u8> {
    todo!("{value}")
}

/// [`to_vec`] as a `String`.
pub fn to_string(value: &Value) -> String {
    String::from_utf8(to_vec(value)).expect("canonical JSON is UTF-8")
}

/// Parses a document, keeping integers and floats apart so they round-trip.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(bytes)
}
