//! Queries over the entities: listings by prefix and look-ups by name, tag and external
//! identifier, answered from the run's catalog (`catalog.rs`): each document is read and
//! parsed once per run, and the run's own writes are seen at once.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use rayon::prelude::*;
use serde_json::Value;

use super::catalog::Query;
use super::document::lookup;
use super::paths::{listed_entity_id, listing_dir, prefix_of};
use super::{canonical, Doc, Entity, Publication};

impl Publication {
    /// Entities whose prefix starts with `prefix[/sub_type]` (whole segments, as the
    /// service's search: `"organization"` takes in every organization, `"location"` with
    /// `Some("ward")` the wards, `"organization/government"` the commissions below it), whose
    /// fields equal the given values; a filter key is a dotted path (`"parent"`,
    /// `"names.0.en.full"`). Sorted by ID. Files under a prefix the model does not register
    /// are skipped, as the service skips them.
    ///
    /// Cost: the first query of a prefix reads and parses its documents once (on every
    /// core); later ones share them (an entity's [`Doc`] is copied only when changed).
    pub fn list_entities(
        &mut self,
        prefix: &str,
        sub_type: Option<&str>,
        filters: &[(&str, Value)],
    ) -> Result<Vec<Entity>> {
        let dir = self.listing(&prefix_of(prefix, sub_type))?;
        self.load(&dir)?;
        Ok(self
            .catalog
            .below(&dir)
            .filter(|(_, doc)| filters.iter().all(|(key, want)| lookup(doc, key) == Some(want)))
            .filter_map(|(path, doc)| {
                Some(Entity {
                    id: listed_entity_id(path)?,
                    doc: Doc::shared(doc),
                })
            })
            .collect())
    }

    /// Entities under a prefix (as [`Self::list_entities`]) with a name (any language, any
    /// name part, misspelled names included) equal to `name`, then those equal after
    /// normalisation (Unicode NFC, lowercase, whitespace, ASCII punctuation, dashes and the
    /// danda `।` ignored: `"Kathmandu-10 "` finds `"kathmandu 10"`); each group sorted by ID.
    ///
    /// Cost: the first look-up under a prefix indexes its names (one read of its
    /// documents, unless a wider prefix is indexed already); later ones are a hash
    /// look-up each.
    pub fn find_entities_by_name(&mut self, prefix: &str, name: &str) -> Result<Vec<Entity>> {
        self.find(prefix, Query::Name(name))
    }

    /// Entities under a prefix whose `tags` hold `tag` (string tags; a project's tag objects
    /// are not indexed), sorted by ID. Cost as [`Self::find_entities_by_name`].
    pub fn find_entities_by_tag(&mut self, prefix: &str, tag: &str) -> Result<Vec<Entity>> {
        self.find(prefix, Query::Tag(tag))
    }

    /// Entities under a prefix with an external identifier whose `value` is `value` (a
    /// Wikidata ID, a website, a registration number), sorted by ID. Cost as
    /// [`Self::find_entities_by_name`].
    pub fn find_entities_by_identifier(&mut self, prefix: &str, value: &str) -> Result<Vec<Entity>> {
        self.find(prefix, Query::Identifier(value))
    }

    fn find(&mut self, prefix: &str, query: Query<'_>) -> Result<Vec<Entity>> {
        let dir = self.listing(prefix)?;
        if !self.catalog.indexed(&dir) {
            self.load(&dir)?;
        }
        let paths = self.catalog.find(&dir, query);
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let Some(id) = listed_entity_id(&path) else {
                continue;
            };
            if let Some(doc) = self.catalog.shared(&path) {
                out.push(Entity { id, doc });
            } else if let Some(doc) = self.read_doc(&path)? {
                out.push(Entity { id, doc: doc.into() });
            }
        }
        Ok(out)
    }

    /// The directory a prefix lists, recorded as a listing of the run.
    fn listing(&mut self, prefix: &str) -> Result<String> {
        let dir = listing_dir(prefix)?;
        self.access
            .listings
            .insert(format!("entity:{}", dir.trim_start_matches("v2/entity/")));
        Ok(dir)
    }

    /// Holds every document below `dir` in the catalog: read in turn (through the backend,
    /// which sees the run's pending writes), parsed on every core.
    fn load(&mut self, dir: &str) -> Result<()> {
        if self.catalog.holds(dir) {
            return Ok(());
        }
        let mut files = Vec::new();
        for path in self.backend.list_json(dir)? {
            if listed_entity_id(&path).is_none() {
                continue;
            }
            let bytes = self
                .backend
                .read(&path)
                .with_context(|| format!("reading {path}"))?
                .with_context(|| format!("{path} was listed but is gone"))?;
            files.push((path, bytes));
        }
        let docs: BTreeMap<String, Value> = files
            .into_par_iter()
            .map(|(path, bytes)| {
                let doc =
                    canonical::from_slice(&bytes).with_context(|| format!("{path} is not valid JSON"))?;
                Ok((path, doc))
            })
            .collect::<Result<_>>()?;
        self.catalog.load(dir, docs);
        Ok(())
    }
}
