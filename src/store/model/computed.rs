//! Fields computed into snapshots only, never stored in object files (a kind's
//! `computed` table: for locations `location_type` and `administrative_level`).

use serde_json::Value;

use super::KindDef;

/// The computed fields of a document of this kind, with their values for `doc` (besides
/// `id` and `version_summary.id`, which every snapshot has).
pub fn computed_fields(kind: &KindDef, doc: &Value) -> Vec<(String, Value)> {
    kind.computed
        .iter()
        .map(|c| {
            let from = doc.get(&c.from).and_then(Value::as_str);
            let value = match (&c.map, from) {
                (_, None) => Value::Null,
                (None, Some(s)) => Value::from(s),
                (Some(map), Some(s)) => map.get(s).map_or(Value::Null, |&n| Value::from(n)),
            };
            (c.name.clone(), value)
        })
        .collect()
}
