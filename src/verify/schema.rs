//! JSON Schemas of NES documents: the ones shipped in `schemas/` (embedded at build
//! time), overridden or extended by a data repository's `.nes/schema/<name>.json`.
//!
//! `defs.json` holds shared `$defs`; they are merged into every other schema (its own
//! `$defs` win), so schemas refer to them locally as `#/$defs/Name`. An entity is checked
//! against the most specific of `entity-<type>-<subtype>`, `entity-<type>` and `entity`.
//! ID and slug grammars are not in the schemas: the grammar rule checks them with the
//! subtype tables, and reports them once.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use jsonschema::{Draft, Validator};
use serde_json::Value;

use crate::error::NesError;
use crate::store::layout::NES_DIR;

/// Where a data repository keeps its own schemas, relative to its root.
pub const SCHEMA_DIR: &str = ".nes/schema";

/// The shipped schemas, by name (file `schemas/<name>.json`).
const EMBEDDED: &[(&str, &str)] = &[
    ("defs", include_str!("../../schemas/defs.json")),
    ("entity", include_str!("../../schemas/entity.json")),
    ("entity-person", include_str!("../../schemas/entity-person.json")),
    (
        "entity-location",
        include_str!("../../schemas/entity-location.json"),
    ),
    (
        "entity-organization",
        include_str!("../../schemas/entity-organization.json"),
    ),
    (
        "entity-organization-political_party",
        include_str!("../../schemas/entity-organization-political_party.json"),
    ),
    (
        "entity-organization-government_body",
        include_str!("../../schemas/entity-organization-government_body.json"),
    ),
    (
        "entity-organization-hospital",
        include_str!("../../schemas/entity-organization-hospital.json"),
    ),
    (
        "entity-project",
        include_str!("../../schemas/entity-project.json"),
    ),
    ("relationship", include_str!("../../schemas/relationship.json")),
    ("version", include_str!("../../schemas/version.json")),
    ("author", include_str!("../../schemas/author.json")),
];

/// Names of the shipped schemas; a file `.nes/schema/<name>.json` replaces one.
pub const SCHEMA_NAMES: &[&str] = &[
    "defs",
    "entity",
    "entity-person",
    "entity-location",
    "entity-organization",
    "entity-organization-political_party",
    "entity-organization-government_body",
    "entity-organization-hospital",
    "entity-project",
    "relationship",
    "version",
    "author",
];

/// How many schema errors one violation lists.
const MAX_ERRORS: usize = 5;

/// Compiled validators by schema name.
pub struct Schemas {
    validators: HashMap<String, Validator>,
}

impl Schemas {
    /// The shipped schemas with the repository's overrides and additions applied.
    pub fn load(root: &Path) -> anyhow::Result<Self> {
        let mut sources: HashMap<String, (String, Value)> = HashMap::new();
        for (name, text) in EMBEDDED {
            let value =
                serde_json::from_str(text).with_context(|| format!("shipped schema `{name}` is not JSON"))?;
            sources.insert(name.to_string(), (format!("schemas/{name}.json"), value));
        }
        let dir = root.join(SCHEMA_DIR);
        debug_assert!(SCHEMA_DIR.starts_with(NES_DIR));
        if dir.is_dir() {
            for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
                let path = entry?.path();
                let (Some(name), Some("json")) = (
                    path.file_stem().and_then(|s| s.to_str()),
                    path.extension().and_then(|s| s.to_str()),
                ) else {
                    continue;
                };
                let shown = format!("{SCHEMA_DIR}/{name}.json");
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {shown}"))?;
                let value = serde_json::from_str(&text)
                    .map_err(|e| NesError::usage(format!("{shown} is not JSON: {e}")))?;
                sources.insert(name.to_string(), (shown, value));
            }
        }
        let defs = sources
            .remove("defs")
            .and_then(|(_, d)| d.get("$defs").cloned())
            .unwrap_or_else(|| Value::Object(Default::default()));
        let mut validators = HashMap::new();
        for (name, (shown, mut schema)) in sources {
            merge_defs(&mut schema, &defs);
            let validator = jsonschema::options()
                .with_draft(Draft::Draft202012)
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|e| NesError::usage(format!("{shown} is not a valid JSON Schema: {e}")))?;
            validators.insert(name, validator);
        }
        Ok(Self { validators })
    }

    /// Validates `doc` against the first of `names` that exists; a message listing the
    /// errors, or `None` when valid (or when no schema applies).
    pub fn check(&self, names: &[String], doc: &Value) -> Option<String> {
        let (name, validator) = names
            .iter()
            .find_map(|n| self.validators.get(n).map(|v| (n, v)))?;
        if validator.is_valid(doc) {
            return None;
        }
        let errors: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| {
                let at = e.instance_path().as_str();
                format!("{}: {e}", if at.is_empty() { "/" } else { at })
            })
            .collect();
        let mut message = format!(
            "schema `{name}`: {}",
            errors
                .iter()
                .take(MAX_ERRORS)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        );
        if errors.len() > MAX_ERRORS {
            message.push_str(&format!("; and {} more", errors.len() - MAX_ERRORS));
        }
        Some(message)
    }
}

/// Adds the shared definitions to a schema's `$defs`, keeping its own.
fn merge_defs(schema: &mut Value, defs: &Value) {
    let (Some(obj), Some(shared)) = (schema.as_object_mut(), defs.as_object()) else {
        return;
    };
    let own = obj
        .entry("$defs")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(own) = own.as_object_mut() {
        for (k, v) in shared {
            own.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}
