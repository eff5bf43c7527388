//! The NES document model of FORMAT.md §3-§6: known types, declared fields, validation,
//! computed snapshot fields and the references a document makes.
//!
//! Documents stay `serde_json::Value`s so that files written by older models (FORMAT.md §9)
//! round-trip byte for byte; this module knows their shape without forcing it. It knows
//! nothing of files, IDs on disk or git: callers hand it values.

mod complete;
mod computed;
mod fields;
mod references;
#[cfg(test)]
mod tests;
mod validate;

pub use complete::{complete, keep_absent, normalize_url};
pub use computed::{administrative_level, computed_fields};
pub use references::references;
pub use validate::validate;

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

/// `path.key`, or `key` at the top.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
