//! A data repository's own JSON Schemas (`.nes/schema/<name>.json`): rules stricter than
//! the model (`model/nes.toml`), which every document is held to first. `nes model show
//! --json-schema` prints the model's own schemas, a starting point for one.
//!
//! `defs.json` holds shared `$defs`; they are merged into every other schema (its own
//! `$defs` win), so schemas refer to them locally as `#/$defs/Name`. An entity is checked
//! against the most specific of `entity-<prefix segments joined by ->` (e.g.
//! `entity-organization-government-commission-district`), … `entity-<type>` and `entity`;
//! other documents against `relationship`, `version` or `author`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use jsonschema::{Draft, Validator};
use serde_json::Value;

use crate::error::NesError;
use crate::store::layout::NES_DIR;

/// Where a data repository keeps its own schemas, relative to its root.
pub const SCHEMA_DIR: &str = ".nes/schema";

/// How many schema errors one violation lists.
const MAX_ERRORS: usize = 5;

/// Compiled validators by schema name.
pub struct Schemas {
    validators: HashMap<String, Validator>,
}

impl Schemas {
    /// The repository's schemas (none when it has no `.nes/schema/`).
    pub fn load(root: &Path) -> anyhow::Result<Self> {
        let mut sources: HashMap<String, (String, Value)> = HashMap::new();
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

    /// Whether the repository has no schemas of its own (the usual case).
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
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
