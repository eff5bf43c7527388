//! The publication API: the only way migrations change data. Every create and update
//! writes the object file and its next version file, attributed to an author, in the
//! NES v2 format (FORMAT.md §3-§6), and is counted and journaled for the runner.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use serde_json::{json, Value};

use super::backend::Backend;
use super::clock::Clock;
use super::id::{AuthorId, EntityId, ObjectId, RelationshipId};
use super::journal::Journal;
use super::layout::repo_path;
use super::model::{self, KindDef};
use super::{json as canonical, slug};
use crate::stats::Stats;

mod catalog;
mod document;
mod evolve;
mod paths;
mod query;
mod redact;
mod shared_doc;
pub use evolve::{BulkOutcome, MoveOutcome};
pub use redact::RedactOutcome;
pub use shared_doc::Doc;

use document::{decided_sub_type, merge_patch, own_fields, same_content};
use paths::{entity_path, kind_key, relationship_endpoints};

/// An author as embedded in versions: `{id, name, slug}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorRef {
    pub slug: String,
    pub name: Option<String>,
}

impl AuthorRef {
    /// `author:<slug>`.
    pub fn id(&self) -> String {
        format!("author:{}", self.slug)
    }

    fn embedded(&self) -> Value {
        json!({ "id": self.id(), "name": self.name, "slug": self.slug })
    }

    fn file(&self) -> Value {
        json!({ "name": self.name, "slug": self.slug })
    }
}

/// An entity as stored: its ID and its document (without computed fields), shared with
/// the run's catalog until changed ([`Doc`] reads and writes as a `Value`).
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub id: EntityId,
    pub doc: Doc,
}

impl Entity {
    /// The English full name of the first PRIMARY name, else of any name.
    pub fn primary_name(&self) -> Option<&str> {
        primary_name(&self.doc)
    }
}

/// [`Entity::primary_name`] of an entity document.
fn primary_name(doc: &Value) -> Option<&str> {
    let names = doc.get("names")?.as_array()?;
    let primary = names.iter().find(|n| n["kind"] == "PRIMARY").or(names.first())?;
    primary["en"]["full"]
        .as_str()
        .or_else(|| primary["ne"]["full"].as_str())
}

/// A relationship as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Relationship {
    pub id: RelationshipId,
    pub doc: Value,
}

/// What [`Publication::put_entity`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PutOutcome {
    Created,
    Updated,
    Unchanged,
}

/// Created/updated/deleted counts for one `type/subtype`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub created: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Primary names of the first few created objects, for previews.
    pub samples: Vec<String>,
}

/// What a run read and wrote, for dependency analysis between migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Access {
    /// Object IDs read.
    pub reads: BTreeSet<String>,
    /// Listings made, as `entity:<type>[/<subtype>]` or `relationship:*`.
    pub listings: BTreeSet<String>,
    /// Object IDs created, updated or deleted.
    pub writes: BTreeSet<String>,
}

const SAMPLES: usize = 5;
/// Documents kept parsed for repeated lookups. A parsed document takes 3-5x its file size
/// (persons: ~15 KB), so 4096 was ~70 MB, the largest single item of a big run's memory.
const CACHE_LIMIT: usize = 1024;
/// Keys the API manages itself; migration code cannot set them.
const MANAGED_KEYS: &[&str] = &["version_summary", "created_at"];
/// Keys that exist only in snapshots; the original reader rejects them in object files.
const SNAPSHOT_ONLY_KEYS: &[&str] = &["id", "location_type", "administrative_level"];

/// The publication service of one run.
pub struct Publication {
    backend: Box<dyn Backend>,
    clock: Box<dyn Clock>,
    author: AuthorRef,
    /// Whether the current author's file was written (or found identical) this run.
    author_saved: bool,
    allow_deletes: bool,
    progress: Option<indicatif::ProgressBar>,
    stats: Stats,
    by_kind: BTreeMap<String, KindCounts>,
    journal: Journal,
    access: Access,
    cache: HashMap<String, Value>,
    catalog: catalog::Catalog,
}

impl Publication {
    /// A publication writing through `backend`, attributing changes to `author` by default.
    pub fn new(backend: Box<dyn Backend>, clock: Box<dyn Clock>, author: AuthorRef) -> Self {
        Self {
            backend,
            clock,
            author,
            author_saved: false,
            allow_deletes: false,
            progress: None,
            stats: Stats::default(),
            by_kind: BTreeMap::new(),
            journal: Journal::default(),
            access: Access::default(),
            cache: HashMap::new(),
            catalog: catalog::Catalog::default(),
        }
    }

    /// Allows deletions (a migration declares `pub const DELETES: bool = true;`).
    pub fn allow_deletes(&mut self, allow: bool) {
        self.allow_deletes = allow;
    }

    /// Ticks `bar` once per object written.
    pub fn set_progress(&mut self, bar: indicatif::ProgressBar) {
        self.progress = Some(bar);
    }

    /// Gives the backend back (a dry run carries its overlay on to the next migration).
    pub fn into_backend(self) -> Box<dyn Backend> {
        self.backend
    }

    /// Waits until every file written so far is on disk (writes may finish in the
    /// background); fails with the first write that could not be made.
    pub fn flush(&mut self) -> Result<()> {
        self.backend.flush().context("writing the migration's files")
    }

    /// Counts of what this run changed so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Counts by `type/subtype` (e.g. `location/district`, `relationship/MEMBER_OF`).
    pub fn counts_by_kind(&self) -> &BTreeMap<String, KindCounts> {
        &self.by_kind
    }

    /// Files touched, in commit units.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// IDs read, listed and written.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The backend (the runner reads the final state of touched files through it).
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// The author new changes are attributed to.
    pub fn current_author(&self) -> &AuthorRef {
        &self.author
    }

    // ---- authors ---------------------------------------------------------------------

    /// Gets or creates an author from a display name (`"Damodar Dahal"`, slugged) or an ID
    /// (`"author:damodar-dahal"`), writing `author/<slug>.json` when missing or different,
    /// and makes it the author of the following changes.
    pub fn use_author(&mut self, name_or_id: &str) -> Result<AuthorRef> {
        let author = if let Some(id) = name_or_id.strip_prefix("author:") {
            let id = AuthorId::new(id)?;
            let path = repo_path(&id.rel_path());
            match self.read_doc(&path)? {
                Some(doc) => AuthorRef {
                    slug: id.slug,
                    name: doc.get("name").and_then(Value::as_str).map(str::to_string),
                },
                None => AuthorRef {
                    slug: id.slug,
                    name: None,
                },
            }
        } else {
            let slug = slug::text_to_slug(name_or_id);
            slug::validate_slug(&slug).with_context(|| {
                format!("author name `{name_or_id}` gives no valid slug; pass an ID like `author:some-slug`")
            })?;
            AuthorRef {
                slug,
                name: Some(name_or_id.to_string()),
            }
        };
        self.save_author(&author)?;
        self.author = author.clone();
        self.author_saved = true;
        Ok(author)
    }

    fn save_author(&mut self, author: &AuthorRef) -> Result<()> {
        let path = repo_path(&AuthorId::new(&author.slug)?.rel_path());
        let bytes = canonical::to_vec(&author.file());
        if self.backend.read(&path)?.as_deref() != Some(&bytes[..]) {
            self.write_unit(vec![(path, Some(bytes))])?;
        }
        Ok(())
    }

    // ---- entities --------------------------------------------------------------------

    /// Creates an entity from its fields (names, attributes, ...); refuses an existing ID.
    pub fn create_entity(&mut self, id: &str, fields: Value, change: &str) -> Result<EntityId> {
        let id = EntityId::parse(id)?;
        let path = entity_path(&id);
        if self.backend.exists(&path)? {
            bail!("cannot create {id}: it already exists ({path}); use update_entity or put_entity");
        }
        let doc = self.prepare_entity(&id, fields, None)?;
        self.write_object(ObjectId::Entity(id.clone()), doc, None, change)?;
        Ok(id)
    }

    /// Creates an entity from a typed value that serialises to its fields.
    pub fn create_entity_from<T: Serialize>(
        &mut self,
        id: &str,
        fields: &T,
        change: &str,
    ) -> Result<EntityId> {
        let fields = serde_json::to_value(fields).context("serialising entity fields")?;
        self.create_entity(id, fields, change)
    }

    /// Replaces an existing entity's fields, writing a new version.
    pub fn update_entity(&mut self, id: &str, fields: Value, change: &str) -> Result<()> {
        let id = EntityId::parse(id)?;
        let old = self.require_entity(&id, "update")?;
        let doc = self.prepare_entity(&id, fields, Some(&old))?;
        self.write_object(ObjectId::Entity(id), doc, Some(old), change)
    }

    /// Applies a JSON merge patch (RFC 7386) to an existing entity, writing a new version.
    pub fn patch_entity(&mut self, id: &str, patch: Value, change: &str) -> Result<()> {
        let parsed = EntityId::parse(id)?;
        let old = self.require_entity(&parsed, "patch")?;
        let mut fields = old.clone();
        merge_patch(&mut fields, &patch);
        let doc = self.prepare_entity(&parsed, fields, Some(&old))?;
        self.write_object(ObjectId::Entity(parsed), doc, Some(old), change)
    }

    /// Creates the entity, or updates it when its content differs; identical content writes
    /// nothing, so a migration built on `put` can be re-run with `--force`.
    pub fn put_entity(&mut self, id: &str, fields: Value, change: &str) -> Result<PutOutcome> {
        let parsed = EntityId::parse(id)?;
        let Some(old) = self.read_doc(&entity_path(&parsed))? else {
            self.create_entity(id, fields, change)?;
            return Ok(PutOutcome::Created);
        };
        let doc = self.prepare_entity(&parsed, fields, Some(&old))?;
        if same_content(&doc, &old) {
            return Ok(PutOutcome::Unchanged);
        }
        self.write_object(ObjectId::Entity(parsed), doc, Some(old), change)?;
        Ok(PutOutcome::Updated)
    }

    /// Deletes an entity's file (its versions stay, as in the original); the migration must
    /// declare `DELETES`.
    pub fn delete_entity(&mut self, id: &str) -> Result<()> {
        let id = EntityId::parse(id)?;
        self.require_entity(&id, "delete")?;
        self.delete_object(&ObjectId::Entity(id))
    }

    /// The entity with this ID, if it exists (including this run's writes).
    pub fn get_entity(&mut self, id: &str) -> Result<Option<Entity>> {
        let id = EntityId::parse(id)?;
        self.access.reads.insert(id.to_string());
        let path = entity_path(&id);
        if let Some(doc) = self.catalog.shared(&path) {
            return Ok(Some(Entity { id, doc }));
        }
        Ok(self.read_doc(&path)?.map(|doc| Entity { id, doc: doc.into() }))
    }

    /// Whether an entity exists.
    pub fn entity_exists(&mut self, id: &str) -> Result<bool> {
        let id = EntityId::parse(id)?;
        self.access.reads.insert(id.to_string());
        Ok(self.backend.exists(&entity_path(&id))?)
    }

    // ---- relationships ---------------------------------------------------------------

    /// Creates a relationship between two existing entities; `fields` may hold
    /// `start_date`, `end_date`, `attributes` and `attributions`.
    pub fn create_relationship(
        &mut self,
        source: &str,
        target: &str,
        rel_type: &str,
        fields: Value,
        change: &str,
    ) -> Result<RelationshipId> {
        let id = RelationshipId::new(EntityId::parse(source)?, EntityId::parse(target)?, rel_type)?;
        let path = repo_path(&id.rel_path());
        if self.backend.exists(&path)? {
            bail!("cannot create {id}: it already exists ({path}); use update_relationship");
        }
        let doc = self.prepare_relationship(&id, fields)?;
        self.write_object(ObjectId::Relationship(id.clone()), doc, None, change)?;
        Ok(id)
    }

    /// Replaces an existing relationship's fields, writing a new version.
    pub fn update_relationship(&mut self, id: &str, fields: Value, change: &str) -> Result<()> {
        let id = RelationshipId::parse(id)?;
        let old = self.require_relationship(&id, "update")?;
        let doc = self.prepare_relationship(&id, fields)?;
        self.write_object(ObjectId::Relationship(id), doc, Some(old), change)
    }

    /// Deletes a relationship's file; the migration must declare `DELETES`.
    pub fn delete_relationship(&mut self, id: &str) -> Result<()> {
        let id = RelationshipId::parse(id)?;
        self.require_relationship(&id, "delete")?;
        self.delete_object(&ObjectId::Relationship(id))
    }

    /// The relationship with this ID, if it exists.
    pub fn get_relationship(&mut self, id: &str) -> Result<Option<Relationship>> {
        let id = RelationshipId::parse(id)?;
        self.access.reads.insert(id.to_string());
        Ok(self
            .read_doc(&repo_path(&id.rel_path()))?
            .map(|doc| Relationship { id, doc }))
    }

    /// Relationships where the entity is the source or the target.
    pub fn relationships_of(&mut self, entity: &str) -> Result<Vec<Relationship>> {
        let entity = EntityId::parse(entity)?;
        self.access.listings.insert(format!("relationship:{entity}"));
        let mut out = Vec::new();
        for path in self.backend.list_json("v2/relationship")? {
            let doc = self.read_doc(&path)?.expect("listed file exists");
            let Some((src, tgt, ty)) = relationship_endpoints(&doc)? else {
                continue;
            };
            if src == entity || tgt == entity {
                let id = RelationshipId::new(src, tgt, ty)?;
                out.push(Relationship { id, doc });
            }
        }
        Ok(out)
    }

    // ---- internals -------------------------------------------------------------------

    fn require_entity(&mut self, id: &EntityId, action: &str) -> Result<Value> {
        self.access.reads.insert(id.to_string());
        match self.read_doc(&entity_path(id))? {
            Some(doc) => Ok(doc),
            None => bail!("cannot {action} {id}: it does not exist ({})", entity_path(id)),
        }
    }

    fn require_relationship(&mut self, id: &RelationshipId, action: &str) -> Result<Value> {
        self.access.reads.insert(id.to_string());
        let path = repo_path(&id.rel_path());
        match self.read_doc(&path)? {
            Some(doc) => Ok(doc),
            None => bail!("cannot {action} {id}: it does not exist ({path})"),
        }
    }

    /// Turns migration-supplied fields into a complete, validated entity document
    /// (without `version_summary`/`created_at`, which [`Self::write_object`] sets): the full
    /// dump of the prefix's kind, as the 2026 service writes it. The ID decides `slug`,
    /// `type`, `entity_prefix` (the prefix for a new entity; an update keeps the stored
    /// value, `null` in a file older than prefixes) and `sub_type` where the kind fixes it.
    fn prepare_entity(&mut self, id: &EntityId, fields: Value, old: Option<&Value>) -> Result<Value> {
        let mut doc = own_fields(fields, &id.to_string())?;
        let kind = id.kind();
        let entity_prefix = match old {
            None => json!(id.prefix),
            Some(old) => old.get("entity_prefix").cloned().unwrap_or(Value::Null),
        };
        let mut fixed = vec![
            ("slug", json!(id.slug)),
            ("type", json!(id.entity_type())),
            ("entity_prefix", entity_prefix),
        ];
        if let Some(sub) = decided_sub_type(id, kind, old) {
            fixed.push(("sub_type", sub));
        }
        for (key, value) in fixed {
            match doc.get(key) {
                Some(given) if given != &value => {
                    bail!("{id}: field `{key}` is {given} but the ID says {value}; the ID decides it")
                }
                _ => doc.insert(key.to_string(), value),
            };
        }
        let mut doc = Value::Object(doc);
        model::complete(kind, &mut doc);
        let claimed = model::document_prefix(&doc).unwrap_or_default();
        if claimed != id.prefix {
            bail!(
                "{id}: its fields make the prefix `{claimed}` (type/sub_type), not the ID's `{}`; \
                 set `sub_type` to match the ID or create the entity under `entity:{claimed}/…`",
                id.prefix
            );
        }
        self.check_document(&id.to_string(), kind, &mut doc)?;
        Ok(doc)
    }

    fn prepare_relationship(&mut self, id: &RelationshipId, fields: Value) -> Result<Value> {
        let mut doc = own_fields(fields, &id.to_string())?;
        doc.insert("source_entity_id".into(), json!(id.source.to_string()));
        doc.insert("target_entity_id".into(), json!(id.target.to_string()));
        doc.insert("type".into(), json!(id.rel_type));
        let mut doc = Value::Object(doc);
        let kind = model::relationship_kind();
        model::complete(kind, &mut doc);
        self.check_document(&id.to_string(), kind, &mut doc)?;
        Ok(doc)
    }

    /// Validates a document (with placeholder metadata) and that its references resolve.
    fn check_document(&mut self, id: &str, kind: &KindDef, doc: &mut Value) -> Result<()> {
        // The model requires the two keys `write_object` adds later: stand-ins go in for the
        // check and come out again (a probe copy of every document cost a tenth of a
        // migration's JSON work, cloning it and dropping it).
        let stand_ins = [
            ("created_at", json!("2000-01-01T00:00:00.000000Z")),
            (
                "version_summary",
                json!({
                    "author": self.author.embedded(), "change_description": "", "created_at": "2000-01-01T00:00:00.000000Z",
                    "entity_or_relationship_id": id, "type": if id.starts_with("relationship:") { "RELATIONSHIP" } else { "ENTITY" },
                    "version_number": 1,
                }),
            ),
        ];
        let fields = doc.as_object_mut().context("a document must be a JSON object")?;
        let replaced: Vec<(&str, Option<Value>)> = stand_ins
            .into_iter()
            .map(|(key, value)| (key, fields.insert(key.to_string(), value)))
            .collect();
        let checked = model::validate(kind, doc);
        let fields = doc.as_object_mut().expect("still an object");
        for (key, before) in replaced {
            match before {
                Some(value) => fields.insert(key.to_string(), value),
                None => fields.remove(key),
            };
        }
        if let Err(violations) = checked {
            let list: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
            bail!("{id} is not a valid document:\n{}", list.join("\n"));
        }
        for (field, target) in model::references(doc) {
            let target_id = EntityId::parse(&target).with_context(|| format!("{id}: `{field}`"))?;
            self.access.reads.insert(target_id.to_string());
            if !self.backend.exists(&entity_path(&target_id))? {
                bail!(
                    "{id}: `{field}` refers to {target_id}, which does not exist; create it first \
                     (in this migration or an earlier one)"
                );
            }
        }
        Ok(())
    }

    /// Writes the object file and its next version file as one commit unit.
    fn write_object(&mut self, id: ObjectId, doc: Value, old: Option<Value>, change: &str) -> Result<()> {
        self.write_object_with(id, doc, old, change, Vec::new())
    }

    /// [`Self::write_object`], with `extra` files (rewritten earlier versions) in its unit.
    fn write_object_with(
        &mut self,
        id: ObjectId,
        mut doc: Value,
        old: Option<Value>,
        change: &str,
        extra: Vec<(String, Option<Vec<u8>>)>,
    ) -> Result<()> {
        if !self.author_saved {
            let author = self.author.clone();
            self.save_author(&author)?;
            self.author_saved = true;
        }
        let number = match &old {
            Some(old) => old["version_summary"]["version_number"].as_u64().unwrap_or(0) + 1,
            None => 1,
        };
        let summary = json!({
            "author": self.author.embedded(),
            "change_description": change,
            "created_at": self.clock.now(),
            "entity_or_relationship_id": id.to_string(),
            "type": id.kind_label(),
            "version_number": number,
        });
        doc["version_summary"] = summary.clone();
        // The original takes the object's creation time from a second clock reading, after
        // the summary's; an update keeps it.
        doc["created_at"] = match &old {
            Some(old) => old["created_at"].clone(),
            None => json!(self.clock.now()),
        };
        let object_path = repo_path(&id.rel_path());
        let version_path = repo_path(&id.version_rel_path(number));
        let object_bytes = canonical::to_vec(&doc);
        // The version's snapshot is the document plus the keys only snapshots have. They go
        // in for its serialisation and come out again: a copy of every document, made and
        // dropped, was a sixth of a migration's time.
        let mut added = vec![("id".to_string(), json!(id.to_string()))];
        if let ObjectId::Entity(e) = &id {
            added.extend(model::computed_fields(e.kind(), &doc));
        }
        let fields = doc.as_object_mut().context("a document must be a JSON object")?;
        let replaced: Vec<(String, Option<Value>)> = added
            .into_iter()
            .map(|(key, value)| {
                let before = fields.insert(key.clone(), value);
                (key, before)
            })
            .collect();
        doc["version_summary"]["id"] = json!(format!("version:{id}:{number}"));
        let mut version = summary;
        version["snapshot"] = std::mem::take(&mut doc);
        let version_bytes = canonical::to_vec(&version);
        let mut doc = version["snapshot"].take();
        let kind = kind_key(&id);
        let wants_sample = old.is_none() && self.by_kind.get(&kind).is_none_or(|c| c.samples.len() < SAMPLES);
        let sample = wants_sample.then(|| match &id {
            ObjectId::Entity(e) => primary_name(&doc).unwrap_or(&e.slug).to_string(),
            ObjectId::Relationship(r) => r.to_string(),
        });
        if let Some(summary) = doc["version_summary"].as_object_mut() {
            summary.remove("id");
        }
        let fields = doc.as_object_mut().expect("still an object");
        for (key, before) in replaced {
            match before {
                Some(value) => fields.insert(key, value),
                None => fields.remove(&key),
            };
        }
        let mut files = vec![
            (object_path.clone(), Some(object_bytes)),
            (version_path, Some(version_bytes)),
        ];
        files.extend(extra);
        self.write_unit(files)?;
        self.catalog.wrote(&object_path, &doc);
        self.remember(object_path, doc);

        let counts = self.by_kind.entry(kind).or_default();
        let is_entity = matches!(id, ObjectId::Entity(_));
        if old.is_none() {
            counts.created += 1;
            counts.samples.extend(sample);
            *if is_entity {
                &mut self.stats.entities_created
            } else {
                &mut self.stats.relationships_created
            } += 1;
        } else {
            counts.updated += 1;
            *if is_entity {
                &mut self.stats.entities_updated
            } else {
                &mut self.stats.relationships_updated
            } += 1;
        }
        self.stats.versions_created += 1;
        self.access.writes.insert(id.to_string());
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
        Ok(())
    }

    fn delete_object(&mut self, id: &ObjectId) -> Result<()> {
        if !self.allow_deletes {
            bail!(
                "refusing to delete {id}: this migration does not declare deletions; add \
                 `pub const DELETES: bool = true;` to its migrate.rs if deleting is intended"
            );
        }
        self.remove_object(id)
    }

    /// Removes an object file, counted as a deletion; its versions stay. A move calls this
    /// directly: nothing is lost, so no `DELETES` declaration is needed.
    fn remove_object(&mut self, id: &ObjectId) -> Result<()> {
        let path = repo_path(&id.rel_path());
        self.write_unit(vec![(path.clone(), None)])?;
        self.cache.remove(&path);
        self.catalog.removed(&path);
        self.by_kind.entry(kind_key(id)).or_default().deleted += 1;
        match id {
            ObjectId::Entity(_) => self.stats.entities_deleted += 1,
            ObjectId::Relationship(_) => self.stats.relationships_deleted += 1,
        }
        self.access.writes.insert(id.to_string());
        Ok(())
    }

    /// Writes (`Some`) or deletes (`None`) files and journals them as one unit.
    fn write_unit(&mut self, files: Vec<(String, Option<Vec<u8>>)>) -> Result<()> {
        let backend = &self.backend;
        self.journal.record(
            files.iter().map(|(p, b)| (p.clone(), b.is_some())).collect(),
            |p| backend.exists(p).unwrap_or(false),
        );
        for (path, bytes) in files {
            match bytes {
                Some(bytes) => self
                    .backend
                    .write(&path, &bytes)
                    .with_context(|| format!("writing {path}"))?,
                None => self
                    .backend
                    .delete(&path)
                    .with_context(|| format!("deleting {path}"))?,
            }
        }
        Ok(())
    }

    fn read_doc(&mut self, path: &str) -> Result<Option<Value>> {
        if let Some(doc) = self.cache.get(path).or_else(|| self.catalog.get(path)) {
            return Ok(Some(doc.clone()));
        }
        let Some(bytes) = self
            .backend
            .read(path)
            .with_context(|| format!("reading {path}"))?
        else {
            return Ok(None);
        };
        let doc = canonical::from_slice(&bytes).with_context(|| format!("{path} is not valid JSON"))?;
        self.remember(path.to_string(), doc.clone());
        Ok(Some(doc))
    }

    fn remember(&mut self, path: String, doc: Value) {
        // A bounded cache: repeated lookups are cheap without holding a large run twice.
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.cache.insert(path, doc);
    }
}
