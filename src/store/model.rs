//! The NES document model of FORMAT.md §3-§6: known types, declared fields, validation,
//! computed snapshot fields and the references a document makes.
//!
//! Documents stay `serde_json::Value`s so that files written by older models (FORMAT.md §9)
//! round-trip byte for byte; this module knows their shape without forcing it.

use serde_json::Value;

/// Entity types, in FORMAT.md order.
pub const ENTITY_TYPES: &[&str] = &["person", "organization", "location", "project"];

/// Relationship types (both app commits' plus HEAD's).
pub const RELATIONSHIP_TYPES: &[&str] = &[
    "AFFILIATED_WITH",
    "EMPLOYED_BY",
    "MEMBER_OF",
    "PARENT_OF",
    "CHILD_OF",
    "SUPERVISES",
    "LOCATED_IN",
    "FUNDED_BY",
    "IMPLEMENTED_BY",
    "EXECUTED_BY",
    "OVERSEEN_BY",
];

/// Subtypes allowed for an entity type; `None` for an unknown type.
pub fn subtypes(entity_type: &str) -> Option<&'static [&'static str]> {
    match entity_type {
        "person" => Some(&[]),
        "organization" => Some(&[
            "political_party",
            "government_body",
            "hospital",
            "ngo",
            "international_org",
        ]),
        "location" => Some(&[
            "province",
            "district",
            "metropolitan_city",
            "sub_metropolitan_city",
            "municipality",
            "rural_municipality",
            "ward",
            "constituency",
        ]),
        "project" => Some(&["development_project"]),
        _ => None,
    }
}

/// Which model a document belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model<'a> {
    Entity {
        entity_type: &'a str,
        sub_type: Option<&'a str>,
    },
    Relationship,
}

/// One broken rule inside a document: a JSON path (`names[0].kind`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Completes a new document the way the original model dump does: every declared field
/// (nested models included) present, unset ones as `null`; URL fields normalised.
/// `doc` holds the object's own fields; `slug`, `type`, `sub_type`, `created_at` and
/// `version_summary` are set by the caller.
pub fn complete(model: Model<'_>, doc: &mut Value) {
    todo!("{model:?}{doc}")
}

/// Removes from `new` every `null` whose key is absent at the same place in `old`, so that
/// a file written by an older model keeps its shape until a change really sets the key.
pub fn keep_absent(new: &mut Value, old: &Value) {
    todo!("{new}{old}")
}

/// Checks a stored entity or relationship document (without computed fields):
/// required fields, enums, at least one PRIMARY name, dates, grammar of embedded IDs.
pub fn validate(model: Model<'_>, doc: &Value) -> Result<(), Vec<Violation>> {
    todo!("{model:?}{doc}")
}

/// Computed fields that appear only in snapshots (besides `id` and `version_summary.id`):
/// for locations `location_type` and `administrative_level`.
pub fn computed_fields(model: Model<'_>) -> Vec<(&'static str, Value)> {
    todo!("{model:?}")
}

/// Entity IDs a document refers to, with the JSON path of each reference:
/// `parent`, address `location_id`s, candidacy `constituency_id`/`party_id`,
/// relationship `source_entity_id`/`target_entity_id`.
pub fn references(doc: &Value) -> Vec<(String, String)> {
    todo!("{doc}")
}
