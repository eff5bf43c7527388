//! What a run has read of the entities, for queries at memory speed: the documents below
//! one prefix parsed once, and indexes by name, tag and identifier, built on first use
//! and kept up to date with the run's own writes.
//!
//! Memory: the documents of the prefix last queried (another prefix's replace them, unless
//! it lies below; the indexes stay), plus for every indexed entity its path (one allocation, shared by its
//! postings) and its keys (docs/benchmarks.md has the figures).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::document::{name_strings, normalise_name};
use super::Doc;

/// Which index a key list or posting map belongs to.
const NAMES: usize = 0;
const LOOSE: usize = 1;
const TAGS: usize = 2;
const IDENTIFIERS: usize = 3;

/// The index keys of one document (names, normalised names, tags, identifier values), kept
/// to take it out of the indexes again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Keys([Vec<String>; 4]);

impl Keys {
    fn of(doc: &Value) -> Self {
        let names: BTreeSet<&str> = name_strings(doc).into_iter().collect();
        let loose: BTreeSet<String> = names.iter().map(|n| normalise_name(n)).collect();
        let strings = |list: &Value, key: Option<&str>| -> Vec<String> {
            list.as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| key.map_or(item, |k| &item[k]).as_str())
                .map(str::to_string)
                .collect()
        };
        let mut keys = Keys::default();
        keys.0[NAMES] = names.into_iter().map(str::to_string).collect();
        keys.0[LOOSE] = loose.into_iter().collect();
        keys.0[TAGS] = strings(&doc["tags"], None);
        keys.0[IDENTIFIERS] = strings(&doc["identifiers"], Some("value"));
        keys
    }
}

/// Paths by key, sorted: results keep the listing order, so migrations stay reproducible.
/// Every posting shares its entity's one path allocation. A sorted `Vec`, not a set: most
/// keys have one or two paths, and a B-tree node per key tripled the index's memory.
type Postings = HashMap<String, Vec<Arc<str>>>;

/// The indexes of one prefix: a posting map per kind of key.
#[derive(Debug, Default)]
struct TypeIndex {
    keys: HashMap<Arc<str>, Keys>,
    postings: [Postings; 4],
}

impl TypeIndex {
    fn insert(&mut self, path: &str, doc: &Value) {
        let keys = Keys::of(doc);
        let path: Arc<str> = Arc::from(path);
        for (postings, list) in self.postings.iter_mut().zip(&keys.0) {
            for key in list {
                let paths = postings.entry(key.clone()).or_default();
                if let Err(at) = paths.binary_search(&path) {
                    paths.insert(at, path.clone());
                }
            }
        }
        self.keys.insert(path, keys);
    }

    fn remove(&mut self, path: &str) {
        let Some(keys) = self.keys.remove(path) else {
            return;
        };
        for (postings, list) in self.postings.iter_mut().zip(&keys.0) {
            for key in list {
                if let Some(paths) = postings.get_mut(key) {
                    if let Ok(at) = paths.binary_search_by(|p| (**p).cmp(path)) {
                        paths.remove(at);
                    }
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
    /// The directory whose documents are held (`v2/entity/location`), and they, by path
    /// (sorted: the listing order), shared with the entities queries return.
    loaded: Option<(String, BTreeMap<String, Arc<Value>>)>,
    /// Indexes by the directory they cover; a write updates every one covering it.
    indexes: HashMap<String, TypeIndex>,
}

/// Whether the directory `outer` is `inner` or holds it (whole segments).
fn covers(outer: &str, inner: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl Catalog {
    /// Whether the documents below `dir` are held (from `dir` or a directory above it).
    pub(super) fn holds(&self, dir: &str) -> bool {
        self.loaded.as_ref().is_some_and(|(held, _)| covers(held, dir))
    }

    /// Holds these documents, every one below `dir` (read by the caller), dropping those
    /// held before; indexes them unless an index already covers `dir`.
    pub(super) fn load(&mut self, dir: &str, docs: BTreeMap<String, Value>) {
        if self.index_for(dir).is_none() {
            let mut index = TypeIndex::default();
            for (path, doc) in &docs {
                index.insert(path, doc);
            }
            self.indexes.insert(dir.to_string(), index);
        }
        let docs = docs.into_iter().map(|(p, d)| (p, Arc::new(d))).collect();
        self.loaded = Some((dir.to_string(), docs));
    }

    /// The directory of an index covering `dir`, if any.
    fn index_for(&self, dir: &str) -> Option<&str> {
        self.indexes.keys().find(|d| covers(d, dir)).map(String::as_str)
    }

    /// Whether an index covers `dir`.
    pub(super) fn indexed(&self, dir: &str) -> bool {
        self.index_for(dir).is_some()
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

    /// Paths below `dir` matching `query`, in the order the query defines.
    pub(super) fn find(&self, dir: &str, query: Query<'_>) -> Vec<String> {
        let Some(index) = self.index_for(dir).and_then(|d| self.indexes.get(d)) else {
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
                let mut out = hits(&index.postings[NAMES], name);
                let exact: BTreeSet<&String> = out.iter().collect();
                let loose: Vec<String> = hits(&index.postings[LOOSE], &normalise_name(name))
                    .into_iter()
                    .filter(|p| !exact.contains(p))
                    .collect();
                out.extend(loose);
                out
            }
            Query::Tag(tag) => hits(&index.postings[TAGS], tag),
            Query::Identifier(value) => hits(&index.postings[IDENTIFIERS], value),
        }
    }

    /// The run wrote `doc` at `path`: held documents and indexes follow.
    pub(super) fn wrote(&mut self, path: &str, doc: &Value) {
        for (dir, index) in &mut self.indexes {
            if covers(dir, path) {
                index.remove(path);
                index.insert(path, doc);
            }
        }
        if let Some((dir, docs)) = &mut self.loaded {
            if covers(dir, path) {
                docs.insert(path.to_string(), Arc::new(doc.clone()));
            }
        }
    }

    /// The run removed the file at `path`.
    pub(super) fn removed(&mut self, path: &str) {
        for (dir, index) in &mut self.indexes {
            if covers(dir, path) {
                index.remove(path);
            }
        }
        if let Some((dir, docs)) = &mut self.loaded {
            if covers(dir, path) {
                docs.remove(path);
            }
        }
    }
}
