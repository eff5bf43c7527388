//! Fields computed into snapshots only, never stored in object files.

use serde_json::Value;

use super::Model;

/// Computed fields that appear only in snapshots (besides `id` and `version_summary.id`):
/// for locations `location_type` and `administrative_level`.
pub fn computed_fields(model: Model<'_>) -> Vec<(&'static str, Value)> {
    match model {
        Model::Entity {
            entity_type: "location",
            sub_type,
        } => {
            let level = sub_type
                .and_then(administrative_level)
                .map_or(Value::Null, Value::from);
            vec![
                ("location_type", sub_type.map_or(Value::Null, Value::from)),
                ("administrative_level", level),
            ]
        }
        _ => Vec::new(),
    }
}

/// Administrative level of a location subtype; `None` for constituencies.
pub fn administrative_level(sub_type: &str) -> Option<u64> {
    match sub_type {
        "province" => Some(1),
        "district" => Some(2),
        "metropolitan_city" | "sub_metropolitan_city" | "municipality" | "rural_municipality" => Some(3),
        "ward" => Some(4),
        _ => None,
    }
}
