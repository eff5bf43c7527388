//! What a run has read of the entities, for queries at memory speed: the documents of one
//! entity type parsed once, and indexes by name, tag and identifier, built on first use
//! and kept up to date with the run's own writes.
//!
//! Memory: the documents of the type last queried (another type's replace them; its
//! indexes stay), plus for every indexed entity its path (one allocation, shared by its
//! postings) and its keys (docs/benchmarks.md has the figures).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::document::{name_strings, normalise_name};
use super::Doc;

/// The index keys of one document, kept to take it out of the indexes again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Keys {
    names: Vec<String>,
    loose: Vec<String>,
    tags: Vec<String>,
    identifiers: Vec<String>,
}

impl Keys {
    fn of(doc: &Value) -> Self {
        let names: BTreeSet<&str> = name_strings(doc).into_iter().collect();
        let loose: BTreeSet<String> = names.iter().map(|n| normalise_name(n)).collect();
        let tags = doc["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let identifiers = doc["identifiers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["value"].as_str())
            .map(str::to_string)
            .collect();
        Self {
            names: names.into_iter().map(str::to_string).collect(),
            loose: loose.into_iter().collect(),
            tags,
            identifiers,
        }
    }
}

/// Paths by key, sorted: results keep the listing order, so migrations stay reproducible.
/// Every posting shares its entity's one path allocation.
type Postings = HashMap<String, BTreeSet<Arc<str>>>;

/// The indexes of one entity type.
#[derive(Debug, Default)]
struct TypeIndex {
    keys: HashMap<Arc<str>, Keys>,
    names: Postings,
    loose: Postings,
    tags: Postings,
    identifiers: Postings,
}

impl TypeIndex {
    fn insert(&mut self, path: &str, doc: &Value) {
        let keys = Keys::of(doc);
        let path: Arc<str> = Arc::from(path);
        for (postings, list) in [
            (&mut self.names, &keys.names),
            (&mut self.loose, &keys.loose),
            (&mut self.tags, &keys.tags),
            (&mut self.identifiers, &keys.identifiers),
        ] {
            for key in list {
                postings.entry(key.clone()).or_default().insert(path.clone());
            }
        }
        self.keys.insert(path, keys);
    }

    fn remove(&mut self, path: &str) {
        let Some(keys) = self.keys.remove(path) else {
            return;
        };
        for (postings, list) in [
            (&mut self.names, &keys.names),
            (&mut self.loose, &keys.loose),
            (&mut self.tags, &keys.tags),
            (&mut self.identifiers, &keys.identifiers),
        ] {
            for key in list {
                if let Some(paths) = postings.get_mut(key) {
                    paths.remove(path);
                    if paths.is_empty() {
                        postings.remove(key);
                    }
                }
            }
        }
    }
}

/// A name, tag or identifier query.
#[derive(Debug, Clone, Copy)]
pub(super) enum Query<'a> {
    /// Exact names first, then names equal after normalisation.
    Name(&'a str),
    Tag(&'a str),
    Identifier(&'a str),
}

/// The run's catalog of entities (see the module docs).
#[derive(Debug, Default)]
pub(super) struct Catalog {
    /// The type whose documents are held, and they, by path (sorted: the listing order),
    /// shared with the entities queries return.
    loaded: Option<(String, BTreeMap<String, Arc<Value>>)>,
    indexes: HashMap<String, TypeIndex>,
}

/// The entity type of a `v2/entity/<type>/…` path.
fn type_of(path: &str) -> Option<&str> {
    path.strip_prefix("v2/entity/")?.split('/').next()
}

impl Catalog {
    /// Whether the documents of `entity_type` are held.
    pub(super) fn holds(&self, entity_type: &str) -> bool {
        self.loaded.as_ref().is_some_and(|(t, _)| t == entity_type)
    }

    /// Holds these documents of `entity_type` (all of them, read by the caller), dropping
    /// another type's; indexes them if the type has no index yet.
    pub(super) fn load(&mut self, entity_type: &str, docs: BTreeMap<String, Value>) {
        if !self.indexes.contains_key(entity_type) {
            let mut index = TypeIndex::default();
            for (path, doc) in &docs {
                index.insert(path, doc);
            }
            self.indexes.insert(entity_type.to_string(), index);
        }
        let docs = docs.into_iter().map(|(p, d)| (p, Arc::new(d))).collect();
        self.loaded = Some((entity_type.to_string(), docs));
    }

    /// Whether `entity_type` is indexed.
    pub(super) fn indexed(&self, entity_type: &str) -> bool {
        self.indexes.contains_key(entity_type)
    }

    /// The held documents whose path lies below `dir` (`v2/entity/location/ward`), in
    /// path order.
    pub(super) fn below<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a String, &'a Arc<Value>)> + 'a {
        let start = format!("{dir}/");
        let docs = self.loaded.as_ref().map(|(_, docs)| docs);
        docs.into_iter()
            .flat_map({
                let start = start.clone();
                move |docs| docs.range(start.clone()..)
            })
            .take_while(move |(path, _)| path.starts_with(&start))
    }

    /// A held document.
    pub(super) fn get(&self, path: &str) -> Option<&Value> {
        self.loaded.as_ref()?.1.get(path).map(|d| &**d)
    }

    /// A held document, shared.
    pub(super) fn shared(&self, path: &str) -> Option<Doc> {
        self.loaded.as_ref()?.1.get(path).map(Doc::shared)
    }

    /// Paths of `entity_type` below `dir` matching `query`, in the order the query defines.
    pub(super) fn find(&self, entity_type: &str, dir: &str, query: Query<'_>) -> Vec<String> {
        let Some(index) = self.indexes.get(entity_type) else {
            return Vec::new();
        };
        let under = format!("{dir}/");
        let hits = |postings: &Postings, key: &str| -> Vec<String> {
            postings
                .get(key)
                .into_iter()
                .flatten()
                .filter(|p| p.starts_with(&under))
                .map(|p| p.to_string())
                .collect()
        };
        match query {
            Query::Name(name) => {
                let mut out = hits(&index.names, name);
                let exact: BTreeSet<&String> = out.iter().collect();
                let loose: Vec<String> = hits(&index.loose, &normalise_name(name))
                    .into_iter()
                    .filter(|p| !exact.contains(p))
                    .collect();
                out.extend(loose);
                out
            }
            Query::Tag(tag) => hits(&index.tags, tag),
            Query::Identifier(value) => hits(&index.identifiers, value),
        }
    }

    /// The run wrote `doc` at `path`: held documents and indexes follow.
    pub(super) fn wrote(&mut self, path: &str, doc: &Value) {
        let Some(entity_type) = type_of(path) else { return };
        if let Some(index) = self.indexes.get_mut(entity_type) {
            index.remove(path);
            index.insert(path, doc);
        }
        if let Some((t, docs)) = &mut self.loaded {
            if t == entity_type {
                docs.insert(path.to_string(), Arc::new(doc.clone()));
            }
        }
    }

    /// The run removed the file at `path`.
    pub(super) fn removed(&mut self, path: &str) {
        let Some(entity_type) = type_of(path) else { return };
        if let Some(index) = self.indexes.get_mut(entity_type) {
            index.remove(path);
        }
        if let Some((t, docs)) = &mut self.loaded {
            if t == entity_type {
                docs.remove(path);
            }
        }
    }
}
