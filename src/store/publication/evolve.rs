//! Helpers for evolving existing data: bulk updates over entity types, and moving
//! entities to a new ID (slug and/or subtype) with every reference to them rewritten.
//!
//! Both stream: they list paths first and read one document at a time, so a pass over
//! the 13k-entity database holds at most the publication's bounded cache.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use serde_json::Value;

use super::paths::{listed_entity_id, listing_dir, prefix_of};
use super::{entity_path, relationship_endpoints, same_content, Entity, Publication};
use crate::store::id::{EntityId, ObjectId, RelationshipId};
use crate::store::layout::repo_path;
use crate::store::model;

/// What a bulk update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BulkOutcome {
    /// Entities passed to the callback.
    pub seen: u64,
    /// Entities that got a new version.
    pub updated: u64,
    /// Entities the callback left alone (`None`) or returned with identical content.
    pub unchanged: u64,
}

/// What a move did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MoveOutcome {
    /// `(old, new)` entity IDs, in the order the new entities were created.
    pub moved: Vec<(String, String)>,
    /// Entities that got a new version because they referred to a moved entity.
    pub referrers_updated: u64,
    /// `(old, new)` relationship IDs: relationships with a moved entity as an endpoint.
    pub relationships_moved: Vec<(String, String)>,
}

/// A key-value path as [`model::references`] reports it: `a.b[0].c`.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl Publication {
    /// Offers every entity of a type (and subtype; `None`: all subtypes) to `f`, one at a
    /// time. `f` returns `Some(fields)` to replace the entity's fields (as with
    /// [`Self::update_entity`]; returning a modified copy of `entity.doc` is fine, since
    /// `version_summary` and `created_at` are managed) or `None` to leave it alone.
    ///
    /// As with [`Self::put_entity`], fields identical to the stored ones write nothing,
    /// so re-running the same bulk update is a no-op. Updates count as
    /// `entities_updated`. An error from `f` stops the run and names the entity.
    pub fn update_each<V: Into<Value>>(
        &mut self,
        entity_type: &str,
        sub_type: Option<&str>,
        change: &str,
        f: impl FnMut(&Entity) -> Result<Option<V>>,
    ) -> Result<BulkOutcome> {
        self.update_each_of(&[(entity_type, sub_type)], change, f)
    }

    /// [`Self::update_each`] over several `(type, subtype)` kinds in one pass; an entity
    /// matched by two kinds (`location` and `location/ward`) is offered once.
    pub fn update_each_of<V: Into<Value>>(
        &mut self,
        kinds: &[(&str, Option<&str>)],
        change: &str,
        mut f: impl FnMut(&Entity) -> Result<Option<V>>,
    ) -> Result<BulkOutcome> {
        let mut paths = BTreeSet::new();
        for &(entity_type, sub_type) in kinds {
            let dir = listing_dir(&prefix_of(entity_type, sub_type))?;
            self.access
                .listings
                .insert(format!("entity:{}", dir.trim_start_matches("v2/entity/")));
            paths.extend(self.backend.list_json(&dir)?);
        }
        let mut outcome = BulkOutcome::default();
        for path in paths {
            let Some(id) = listed_entity_id(&path) else {
                continue;
            };
            self.access.reads.insert(id.to_string());
            let doc = match self.catalog.shared(&path) {
                Some(doc) => doc,
                None => self
                    .read_doc(&path)?
                    .with_context(|| format!("{path} was listed but is gone"))?
                    .into(),
            };
            outcome.seen += 1;
            let entity = Entity { id, doc };
            let fields = f(&entity).with_context(|| format!("bulk update of {}", entity.id))?;
            let updated = match fields {
                Some(fields) => self
                    .replace_if_changed(entity.id.clone(), fields.into(), entity.doc.into_value(), change)
                    .with_context(|| format!("bulk update of {}", entity.id))?,
                None => false,
            };
            if updated {
                outcome.updated += 1;
            } else {
                outcome.unchanged += 1;
            }
        }
        Ok(outcome)
    }

    /// Moves an entity to a new ID: a new slug and/or subtype, same type (the type decides
    /// the model, so changing it is a new entity, not a move). See [`Self::move_entities`].
    pub fn move_entity(&mut self, old: &str, new: &str, change: &str) -> Result<MoveOutcome> {
        self.move_entities(&[(old, new)], change)
    }

    /// Moves entities to new IDs, scanning entities and relationships once for all of them:
    ///
    /// - each new entity is created at version 1 with the old fields (only `slug`,
    ///   `sub_type`, `version_summary` and `created_at` differ, so Git sees a rename) and
    ///   the change `"<change> (moved from <old ID>)"`;
    /// - every entity referring to an old ID ([`model::references`]: `parent`,
    ///   `location_id`, `constituency_id`, `party_id`, ...) gets a new version pointing at
    ///   the new ID;
    /// - every relationship with an old ID as source or target is moved the same way,
    ///   since its ID contains its endpoints: new relationship at version 1, old file removed;
    /// - the old entity files are removed; their version files stay, as after a delete.
    ///
    /// Removing the old files loses no data, so unlike [`Self::delete_entity`] a move needs
    /// no `DELETES` declaration. Stats count each new object as created and each old one as
    /// deleted, and each referrer as updated. Refuses when an old ID is missing, a new ID
    /// (entity or relationship) exists, the type changes, or an ID appears twice; a
    /// refusal found midway fails the migration, and the runner undoes its writes.
    ///
    /// Moved entities may refer to each other (a district and its municipalities): they
    /// are created parents first, already pointing at each other's new IDs.
    pub fn move_entities(&mut self, moves: &[(&str, &str)], change: &str) -> Result<MoveOutcome> {
        let renames = self.plan_moves(moves)?;
        let deps = self.move_dependencies(&renames)?;
        let mut outcome = MoveOutcome::default();
        for (old, new) in creation_order(&renames, &deps)? {
            self.create_moved_entity(&old, &new, &renames, change)?;
            self.remove_object(&ObjectId::Entity(old.clone()))?;
            outcome.moved.push((old.to_string(), new.to_string()));
        }
        outcome.referrers_updated = self.update_referrers(&renames, change)?;
        outcome.relationships_moved = self.move_relationships(&renames, change)?;
        Ok(outcome)
    }

    // ---- internals -------------------------------------------------------------------

    /// Updates the entity when the prepared fields differ from `old`; whether it did.
    fn replace_if_changed(&mut self, id: EntityId, fields: Value, old: Value, change: &str) -> Result<bool> {
        let doc = self.prepare_entity(&id, fields, Some(&old))?;
        if same_content(&doc, &old) {
            return Ok(false);
        }
        self.write_object(ObjectId::Entity(id), doc, Some(old), change)?;
        Ok(true)
    }

    /// Validates the requested moves into an old → new map.
    fn plan_moves(&mut self, moves: &[(&str, &str)]) -> Result<BTreeMap<EntityId, EntityId>> {
        let mut renames = BTreeMap::new();
        let mut targets = BTreeSet::new();
        for &(old, new) in moves {
            let (old, new) = (EntityId::parse(old)?, EntityId::parse(new)?);
            if old.entity_type() != new.entity_type() {
                bail!(
                    "cannot move {old} to {new}: the type must stay `{}` (a new type is a new model; \
                     create the new entity and delete the old one instead)",
                    old.entity_type()
                );
            }
            if old == new {
                bail!("cannot move {old} to itself");
            }
            self.require_entity(&old, "move")?;
            self.access.reads.insert(new.to_string());
            if self.backend.exists(&entity_path(&new))? {
                bail!("cannot move {old} to {new}: {new} already exists");
            }
            if !targets.insert(new.clone()) {
                bail!("cannot move two entities to {new}");
            }
            if renames.insert(old.clone(), new).is_some() {
                bail!("{old} is moved twice");
            }
        }
        if let Some(chained) = renames.keys().find(|old| targets.contains(*old)) {
            bail!("{chained} is both moved and a move's destination; move it in a separate call");
        }
        Ok(renames)
    }

    /// For each moved entity, the other moved entities it refers to. A self-reference is
    /// left out: it would point at the new ID before it exists, and creation reports it.
    fn move_dependencies(
        &mut self,
        renames: &BTreeMap<EntityId, EntityId>,
    ) -> Result<BTreeMap<EntityId, BTreeSet<EntityId>>> {
        let mut deps = BTreeMap::new();
        for old in renames.keys() {
            let doc = self.require_entity(old, "move")?;
            let refers: BTreeSet<EntityId> = model::references(&doc)
                .into_iter()
                .filter_map(|(_, target)| EntityId::parse(&target).ok())
                .filter(|target| target != old && renames.contains_key(target))
                .collect();
            deps.insert(old.clone(), refers);
        }
        Ok(deps)
    }

    /// Writes the new entity: the old fields with the new slug/subtype and its own
    /// references to other moved entities already rewritten.
    fn create_moved_entity(
        &mut self,
        old: &EntityId,
        new: &EntityId,
        renames: &BTreeMap<EntityId, EntityId>,
        change: &str,
    ) -> Result<()> {
        let old_doc = self.require_entity(old, "move")?;
        let mut fields = old_doc.clone();
        if let Some(map) = fields.as_object_mut() {
            // The ID decides these; `prepare_entity` sets them from the new ID, as for any
            // new entity (the moved file is one: version 1, with `entity_prefix`).
            for key in ["slug", "type", "sub_type", "entity_prefix"] {
                map.remove(key);
            }
        }
        rewrite_references(&mut fields, renames);
        let doc = self
            .prepare_entity(new, fields, None)
            .with_context(|| format!("moving {old} to {new}"))?;
        let change = format!("{change} (moved from {old})");
        self.write_object(ObjectId::Entity(new.clone()), doc, None, &change)
    }

    /// Gives every entity referring to a moved one a new version; how many.
    fn update_referrers(&mut self, renames: &BTreeMap<EntityId, EntityId>, change: &str) -> Result<u64> {
        self.access.listings.insert("entity:*".into());
        let needles: HashSet<String> = renames.keys().map(ToString::to_string).collect();
        let mut updated = 0;
        for path in self.backend.list_json("v2/entity")? {
            let Some(old) = self.read_if_mentions(&path, &needles)? else {
                continue;
            };
            let mut fields = old.clone();
            let moved = rewrite_references(&mut fields, renames);
            if moved.is_empty() {
                continue;
            }
            let Some(id) = listed_entity_id(&path) else {
                continue;
            };
            self.access.reads.insert(id.to_string());
            let change = format!("{change} (references to {} moved)", moved.join(", "));
            if self
                .replace_if_changed(id.clone(), fields, old, &change)
                .with_context(|| format!("pointing {id} at moved entities"))?
            {
                updated += 1;
            }
        }
        Ok(updated)
    }

    /// Moves every relationship with a moved endpoint; the `(old, new)` relationship IDs.
    fn move_relationships(
        &mut self,
        renames: &BTreeMap<EntityId, EntityId>,
        change: &str,
    ) -> Result<Vec<(String, String)>> {
        self.access.listings.insert("relationship:*".into());
        let needles: HashSet<String> = renames.keys().map(ToString::to_string).collect();
        let mut out = Vec::new();
        for path in self.backend.list_json("v2/relationship")? {
            let Some(old_doc) = self.read_if_mentions(&path, &needles)? else {
                continue;
            };
            let Some((src, tgt, ty)) = relationship_endpoints(&old_doc)? else {
                continue;
            };
            let old = RelationshipId::new(src.clone(), tgt.clone(), ty)?;
            let renamed = |e: EntityId| renames.get(&e).cloned().unwrap_or(e);
            let new = RelationshipId::new(renamed(src), renamed(tgt), ty)?;
            if new == old {
                continue;
            }
            self.move_relationship(&old, &new, old_doc, change)?;
            out.push((old.to_string(), new.to_string()));
        }
        Ok(out)
    }

    fn move_relationship(
        &mut self,
        old: &RelationshipId,
        new: &RelationshipId,
        old_doc: Value,
        change: &str,
    ) -> Result<()> {
        self.access.reads.insert(old.to_string());
        self.access.reads.insert(new.to_string());
        if self.backend.exists(&repo_path(&new.rel_path()))? {
            bail!("cannot move {old} to {new}: {new} already exists");
        }
        let mut fields = old_doc.clone();
        if let Some(map) = fields.as_object_mut() {
            for key in ["source_entity_id", "target_entity_id", "type"] {
                map.remove(key);
            }
        }
        let doc = self
            .prepare_relationship(new, fields)
            .with_context(|| format!("moving {old} to {new}"))?;
        let change = format!("{change} (moved from {old})");
        self.write_object(ObjectId::Relationship(new.clone()), doc, None, &change)?;
        self.remove_object(&ObjectId::Relationship(old.clone()))
    }

    /// The document at `path` when its bytes mention one of `ids`: a cheap filter that
    /// spares parsing the thousands of files a move does not concern.
    fn read_if_mentions(&mut self, path: &str, ids: &HashSet<String>) -> Result<Option<Value>> {
        let Some(bytes) = self
            .backend
            .read(path)
            .with_context(|| format!("reading {path}"))?
        else {
            return Ok(None);
        };
        if !mentions_any(&bytes, ids) {
            return Ok(None);
        }
        self.read_doc(path)
    }
}

/// The moves in an order where each new entity's references to other moved entities
/// point at entities already created (a district before the municipalities under it),
/// since creation checks that references resolve. `deps` maps an old ID to the other
/// moved old IDs its document refers to.
fn creation_order(
    renames: &BTreeMap<EntityId, EntityId>,
    deps: &BTreeMap<EntityId, BTreeSet<EntityId>>,
) -> Result<Vec<(EntityId, EntityId)>> {
    let mut done = BTreeSet::new();
    let mut order = Vec::with_capacity(renames.len());
    while order.len() < renames.len() {
        let ready: Vec<&EntityId> = renames
            .keys()
            .filter(|old| !done.contains(*old))
            .filter(|old| deps.get(*old).is_none_or(|d| d.iter().all(|x| done.contains(x))))
            .collect();
        if ready.is_empty() {
            let stuck: Vec<String> = renames
                .keys()
                .filter(|o| !done.contains(*o))
                .map(|o| o.to_string())
                .collect();
            bail!(
                "cannot move {}: they refer to each other in a cycle",
                stuck.join(", ")
            );
        }
        for old in ready {
            done.insert(old.clone());
            order.push((old.clone(), renames[old].clone()));
        }
    }
    Ok(order)
}

/// Replaces references to moved entities; the old IDs replaced, deduplicated.
fn rewrite_references(doc: &mut Value, renames: &BTreeMap<EntityId, EntityId>) -> Vec<String> {
    let mut moved = BTreeSet::new();
    for (path, target) in model::references(doc) {
        let Ok(target) = EntityId::parse(&target) else {
            continue;
        };
        let Some(new) = renames.get(&target) else {
            continue;
        };
        if let Some(slot) = value_at_mut(doc, &path) {
            *slot = Value::String(new.to_string());
            moved.insert(target.to_string());
        }
    }
    moved.into_iter().collect()
}

/// The value at a [`model::references`] path (`a.b[0].c`).
fn value_at_mut<'a>(doc: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    steps(path).into_iter().try_fold(doc, |v, step| match step {
        Step::Key(key) => v.get_mut(key),
        Step::Index(i) => v.get_mut(i),
    })
}

fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, indices) = part.split_once('[').map_or((part, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        for index in indices.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Step::Index(i));
            }
        }
    }
    out
}

/// Whether the bytes hold one of `ids` as a whole JSON string (`"entity:…"`, so `…/acham`
/// does not match `…/acham-1`). One pass per file whatever the number of moves.
fn mentions_any(bytes: &[u8], ids: &HashSet<String>) -> bool {
    const MARKER: &[u8] = b"\"entity:";
    let mut rest = bytes;
    while let Some(at) = rest.windows(MARKER.len()).position(|w| w == MARKER) {
        let string = &rest[at + 1..];
        let Some(end) = string.iter().position(|&b| b == b'"') else {
            return false;
        };
        if std::str::from_utf8(&string[..end]).is_ok_and(|s| ids.contains(s)) {
            return true;
        }
        rest = &string[end..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(s: &str) -> EntityId {
        EntityId::parse(s).unwrap()
    }

    #[test]
    fn references_are_rewritten_at_any_depth_but_not_in_attributes() {
        let renames = BTreeMap::from([(
            id("entity:location/district/acham"),
            id("entity:location/district/achham"),
        )]);
        let mut doc = json!({
            "parent": "entity:location/district/acham",
            "attributes": {"parent": "entity:location/district/acham"},
            "electoral_details": {"candidacies": [
                {"constituency_id": "entity:location/constituency/acham-1"},
                {"constituency_id": "entity:location/district/acham"}
            ]}
        });
        let moved = rewrite_references(&mut doc, &renames);
        assert_eq!(moved, ["entity:location/district/acham"]);
        assert_eq!(doc["parent"], "entity:location/district/achham");
        assert_eq!(doc["attributes"]["parent"], "entity:location/district/acham");
        assert_eq!(
            doc["electoral_details"]["candidacies"][0]["constituency_id"],
            "entity:location/constituency/acham-1"
        );
        assert_eq!(
            doc["electoral_details"]["candidacies"][1]["constituency_id"],
            "entity:location/district/achham"
        );
    }

    #[test]
    fn mentions_match_whole_ids_only() {
        let ids = HashSet::from(["entity:location/district/acham".to_string()]);
        assert!(!mentions_any(
            br#""parent": "entity:location/district/acham-1","#,
            &ids
        ));
        assert!(mentions_any(
            br#""x": "entity:location/ward/a", "parent": "entity:location/district/acham","#,
            &ids
        ));
        assert!(!mentions_any(
            br#""parent": "entity:location/district/acham"#,
            &ids
        ));
    }
}
