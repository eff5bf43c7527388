//! Where the publication finds objects: their file paths, listing directories, and the
//! kind key they are counted under.

use anyhow::{bail, Context as _, Result};
use serde_json::Value;

use crate::store::id::{EntityId, ObjectId};
use crate::store::layout::repo_path;
use crate::store::model;

/// Source, target and type of a relationship document; `None` when it is not one.
pub(super) fn relationship_endpoints(doc: &Value) -> Result<Option<(EntityId, EntityId, &str)>> {
    let (Some(src), Some(tgt), Some(ty)) = (
        doc["source_entity_id"].as_str(),
        doc["target_entity_id"].as_str(),
        doc["type"].as_str(),
    ) else {
        return Ok(None);
    };
    Ok(Some((EntityId::parse(src)?, EntityId::parse(tgt)?, ty)))
}

pub(super) fn entity_path(id: &EntityId) -> String {
    repo_path(&id.rel_path())
}

pub(super) fn kind_key(id: &ObjectId) -> String {
    match id {
        ObjectId::Entity(e) => e.prefix.clone(),
        ObjectId::Relationship(r) => format!("relationship/{}", r.rel_type),
    }
}

/// The prefix a `(type, subtype)` pair names: `type` or `type/subtype`. A "type" may
/// itself be a longer prefix (`organization/government`).
pub(super) fn prefix_of(entity_type: &str, sub_type: Option<&str>) -> String {
    match sub_type {
        Some(sub) => format!("{entity_type}/{sub}"),
        None => entity_type.to_string(),
    }
}

/// The directory listing the entities whose prefix starts with `prefix` (whole segments:
/// `organization/government` takes in `organization/government/commission/district`).
/// Refuses a prefix no registered prefix starts with.
pub(super) fn listing_dir(prefix: &str) -> Result<String> {
    let registered = &model::model().prefixes;
    let covers = |p: &str| p == prefix || p.starts_with(&format!("{prefix}/"));
    if !registered.keys().any(|p| covers(p)) {
        let root = prefix.split('/').next().unwrap_or_default();
        let under: Vec<&str> = registered
            .keys()
            .filter(|p| p.split('/').next() == Some(root))
            .map(String::as_str)
            .collect();
        if under.is_empty() {
            bail!(
                "unknown entity type `{root}`; known types: {}",
                model::entity_types().join(", ")
            );
        }
        bail!(
            "no registered prefix starts with `{prefix}`; registered under `{root}`: {} ({})",
            under.join(", "),
            model::SOURCE_PATH
        );
    }
    Ok(format!("v2/entity/{prefix}"))
}

/// The entity ID of a listed path; `None` for a file under a prefix the registry does not
/// know (the service refuses to read those too; `nes db verify` reports them).
pub(super) fn listed_entity_id(path: &str) -> Option<EntityId> {
    entity_id_from_path(path).ok()
}

/// The entity ID of a file path `v2/entity/<prefix>/<slug>.json`.
pub(super) fn entity_id_from_path(path: &str) -> Result<EntityId> {
    let inner = path
        .strip_prefix("v2/entity/")
        .and_then(|p| p.strip_suffix(".json"))
        .with_context(|| format!("{path} is not an entity path"))?;
    Ok(EntityId::parse(&format!("entity:{inner}"))?)
}
