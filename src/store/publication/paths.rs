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
        ObjectId::Entity(e) => match &e.sub_type {
            Some(sub) => format!("{}/{sub}", e.entity_type),
            None => e.entity_type.clone(),
        },
        ObjectId::Relationship(r) => format!("relationship/{}", r.rel_type),
    }
}

/// The directory listing an entity type (and subtype) reads.
pub(super) fn listing_dir(entity_type: &str, sub_type: Option<&str>) -> Result<String> {
    let Some(allowed) = model::subtypes(entity_type) else {
        bail!(
            "unknown entity type `{entity_type}`; known types: {}",
            model::ENTITY_TYPES.join(", ")
        );
    };
    Ok(match sub_type {
        Some(sub) if allowed.contains(&sub) => format!("v2/entity/{entity_type}/{sub}"),
        Some(sub) => bail!(
            "`{sub}` is not a subtype of {entity_type}; allowed: {}",
            allowed.join(", ")
        ),
        None => format!("v2/entity/{entity_type}"),
    })
}

/// The entity ID of a file path `v2/entity/<type>[/<subtype>]/<slug>.json`.
pub(super) fn entity_id_from_path(path: &str) -> Result<EntityId> {
    let inner = path
        .strip_prefix("v2/entity/")
        .and_then(|p| p.strip_suffix(".json"))
        .with_context(|| format!("{path} is not an entity path"))?;
    Ok(EntityId::parse(&format!("entity:{inner}"))?)
}
