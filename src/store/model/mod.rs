//! The NES document model, read from `model/nes.toml` (compiled in; `build.rs` refuses a
//! broken description): the prefix registry, each kind's fields, relationship types and
//! the ID rules; completing a new document, validation, computed snapshot fields and the
//! references a document makes.
//!
//! Documents stay `serde_json::Value`s so that files written by older models (FORMAT.md §9)
//! are read as they are; this module knows their shape without forcing it. It knows
//! nothing of files, IDs on disk or git: callers hand it values.

mod complete;
mod computed;
pub mod describe;
pub mod load;
mod references;
pub mod schema_export;
#[cfg(test)]
mod tests;
mod validate;

use std::sync::OnceLock;

use serde_json::Value;

pub use complete::{complete, normalize_url};
pub use computed::computed_fields;
pub use load::{Check, Computed, Description, EnumDef, Field, KindDef, LoadError, Presence, Type};
pub use references::{reference_target_type, references};
pub use validate::{prefix_problem, validate};

/// Where the description lives in the tool repository (for messages).
pub const SOURCE_PATH: &str = "model/nes.toml";

/// The description compiled into this binary.
pub const SOURCE: &str = include_str!("../../../model/nes.toml");

static MODEL: OnceLock<Description> = OnceLock::new();

/// The NES model this binary was built with (or the one [`install`]ed).
pub fn model() -> &'static Description {
    MODEL.get_or_init(|| match load::load(SOURCE) {
        Ok(model) => model,
        // build.rs loads the same text with the same code and stops the build on an error.
        Err(errors) => panic!("{SOURCE_PATH} is invalid: {}", errors[0]),
    })
}

/// Uses this description instead of the compiled-in one for the rest of the process; only
/// before anything has read the model. For tests of a model edit, which then run every
/// layer (IDs, publication, verify) on the edited model without a rebuild.
pub fn install(text: &str) -> Result<(), String> {
    let description = load::load(text).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    MODEL
        .set(description)
        .map_err(|_| "the model was already read; install it first".to_string())
}

/// The kind registered for an entity prefix (`organization/hospital`).
pub fn kind_for_prefix(prefix: &str) -> Option<&'static KindDef> {
    let model = model();
    model.prefixes.get(prefix).map(|&k| &model.kinds[k])
}

/// The kind of relationship documents.
pub fn relationship_kind() -> &'static KindDef {
    let model = model();
    &model.kinds[model.relationship_kind]
}

/// The kind of author files.
pub fn author_kind() -> &'static KindDef {
    let model = model();
    &model.kinds[model.author_kind]
}

/// The relationship types (`MEMBER_OF`, ...).
pub fn relationship_types() -> &'static [String] {
    let model = model();
    &model.enums[model.relationship_types].values
}

/// The entity types (`person`, `organization`, ...): the first segment of every prefix.
pub fn entity_types() -> &'static [String] {
    model().enum_values("EntityType").unwrap_or(&[])
}

/// The prefix an entity document claims: its `entity_prefix`, or `type[/sub_type]` for a
/// document written before prefixes existed. `None` without a string `type`.
pub fn document_prefix(doc: &Value) -> Option<String> {
    prefix_of_fields(doc.as_object()?)
}

pub(super) fn prefix_of_fields(obj: &serde_json::Map<String, Value>) -> Option<String> {
    if let Some(prefix) = obj.get("entity_prefix").and_then(Value::as_str) {
        return Some(prefix.to_string());
    }
    let ty = obj.get("type").and_then(Value::as_str)?;
    Some(match obj.get("sub_type").and_then(Value::as_str) {
        Some(sub) => format!("{ty}/{sub}"),
        None => ty.to_string(),
    })
}

/// The kind an entity document uses by its own prefix, if that prefix is registered.
pub fn entity_kind_of(doc: &Value) -> Option<&'static KindDef> {
    kind_for_prefix(&document_prefix(doc)?)
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
