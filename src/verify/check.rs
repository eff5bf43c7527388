//! Checks of one file on its own: parse, ID vs path, grammar, schema, outgoing
//! references; and the facts about it that the cross-file rules need.

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::digest::digest;
use super::schema::Schemas;
use super::{Rule, Violation};
use crate::store::id::{AuthorId, EntityId, IdError, ObjectId, RelationshipId};
use crate::store::json;
use crate::store::layout::{classify, FileKind, DATA_DIR};
use crate::store::model::{self, KindDef};

/// Reads and checks single files of one repository.
pub struct Checker<'a> {
    pub root: &'a Path,
    schemas: &'a Schemas,
    /// Whether a repository path is a regular file known to exist (from a walk, or the
    /// run's journal), so that resolving a reference to one needs no `stat`; anything else
    /// is still looked up on disk.
    known: Option<&'a (dyn Fn(&str) -> bool + Sync)>,
}

thread_local! {
    /// Each worker reads every file into the same buffer instead of a fresh one.
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads `path` whole into `buf` (without `std::fs::read`'s size `stat`).
fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    std::fs::File::open(path)?.read_to_end(buf)?;
    Ok(())
}

/// What one file contributes to the report and to the cross-file rules.
#[derive(Debug, Default)]
pub struct Outcome {
    pub violations: Vec<Violation>,
    /// Set only when the document claims an ID that belongs at another path.
    pub claim: Option<Claim>,
    pub chain: Option<ChainFact>,
}

/// A document claiming an ID whose own path is elsewhere (see [`super::cross`]).
#[derive(Debug, Clone)]
pub struct Claim {
    pub id: String,
    /// Repository path where a document with this ID belongs.
    pub owner: String,
    /// Repository path of the claiming document.
    pub path: String,
}

/// A file's place in a version chain. `key` is the object's path below `v2/` without
/// `.json` (`entity/person/ram`), which is also its version directory below `v2/version/`.
#[derive(Debug)]
pub enum ChainFact {
    Object {
        key: String,
        path: String,
        /// `None` when the file could not be read as an object document.
        facts: Option<ObjectFacts>,
    },
    Version {
        key: String,
        number: u64,
        facts: Option<VersionFacts>,
    },
}

/// Digests of an entity or relationship file.
#[derive(Debug, Clone, Copy)]
pub struct ObjectFacts {
    pub summary_number: Option<u64>,
    /// Of `version_summary`.
    pub summary: Option<u64>,
    /// Of the whole document.
    pub body: u64,
}

/// Digests of a version file.
#[derive(Debug, Clone, Copy)]
pub struct VersionFacts {
    /// Of every key but `snapshot`.
    pub header: u64,
    /// Of the snapshot without its computed fields.
    pub snapshot: Option<u64>,
}

/// Where a `v2/`-relative path says a document belongs.
enum Layout {
    Entity {
        key: String,
        id: Result<EntityId, IdError>,
    },
    Relationship {
        key: String,
    },
    Version {
        key: String,
        number: u64,
    },
    Author {
        slug: String,
    },
    Bad(String),
}

impl<'a> Checker<'a> {
    pub fn new(root: &'a Path, schemas: &'a Schemas) -> Self {
        Self {
            root,
            schemas,
            known: None,
        }
    }

    /// Resolves references against `known` first (see [`Checker::known`]).
    pub fn with_known(mut self, known: &'a (dyn Fn(&str) -> bool + Sync)) -> Self {
        self.known = Some(known);
        self
    }

    /// Whether a repository-relative file exists in the working tree.
    pub fn exists(&self, repo_path: &str) -> bool {
        self.root.join(repo_path).is_file()
    }

    /// [`Checker::exists`] for a reference target, answered from the walk when it can be.
    fn target_exists(&self, repo_path: &str) -> bool {
        self.known.is_some_and(|known| known(repo_path)) || self.exists(repo_path)
    }

    /// Checks the file at `path` (repository-relative, below `v2/`).
    pub fn check_file(&self, path: &str) -> Outcome {
        let mut out = Outcome::default();
        let rel = path.strip_prefix("v2/").unwrap_or(path);
        let layout = layout(rel);
        // The chain needs to know the file exists even when it cannot be read.
        out.chain = match &layout {
            // An entity whose path is no valid ID is reported as such, not as a broken chain.
            Layout::Entity { id: Err(_), .. } => None,
            Layout::Entity { key, .. } | Layout::Relationship { key } => Some(ChainFact::Object {
                key: key.clone(),
                path: path.to_string(),
                facts: None,
            }),
            Layout::Version { key, number } => Some(ChainFact::Version {
                key: key.clone(),
                number: *number,
                facts: None,
            }),
            _ => None,
        };
        let parsed = READ_BUF.with_borrow_mut(|buf| {
            read_into(&self.root.join(path), buf)
                .map_err(|e| format!("cannot read the file: {e}"))
                .and_then(|()| json::from_slice(buf).map_err(|e| format!("not JSON: {e}")))
        });
        let doc = match parsed {
            Err(message) => return out.with(Rule::Parse, path, message),
            Ok(doc) => doc,
        };
        let mut file = File { path, out };
        if !doc.is_object() {
            file.push(Rule::Schema, "the document must be a JSON object");
            return file.out;
        }
        match layout {
            Layout::Entity { id, .. } => self.entity(&mut file, &doc, id),
            Layout::Relationship { .. } => self.relationship(&mut file, &doc, rel),
            Layout::Version { .. } => self.version(&mut file, &doc, rel),
            Layout::Author { slug } => self.author(&mut file, &doc, &slug),
            Layout::Bad(message) => file.push(Rule::IdPath, message),
        }
        file.out
    }

    fn entity(&self, file: &mut File, doc: &Value, path_id: Result<EntityId, IdError>) {
        let slug = text(doc, "slug");
        let claimed_prefix = model::document_prefix(doc);
        // The kind the document's own prefix names; for an unregistered prefix the kind of
        // its type, so that one line can still name every field the model does not know.
        let kind = claimed_prefix
            .as_deref()
            .and_then(model::kind_for_prefix)
            .or_else(|| text(doc, "type").and_then(model::kind_for_prefix));
        // An unregistered prefix is reported once, as the path's problem; a malformed
        // reference once, by the reference rule.
        let references = model::references(doc);
        let mut problems = model_problems(kind, doc, "entity", &|v| {
            (path_id.is_err() && v.message.contains("is not registered"))
                || references.iter().any(|(at, _)| *at == v.path)
        });
        match &path_id {
            Err(e) => {
                // The prefix problem is the cause; the model's own report of it would repeat it.
                problems.insert(0, format!("the path's {e}"));
                file.push(Rule::Grammar, problems.join("; "));
                problems.clear();
            }
            Ok(id) => {
                if let (Some(prefix), Some(slug)) = (&claimed_prefix, slug) {
                    let claimed = format!("entity:{prefix}/{slug}");
                    if claimed != id.to_string() {
                        file.push(
                            Rule::IdPath,
                            format!("entity_prefix (or type/sub_type) and slug say `{claimed}`, the path says `{id}`"),
                        );
                        let owner = EntityId::new(prefix, slug).ok().map(|c| c.rel_path());
                        file.claim(claimed, owner);
                    }
                }
                summary_matches(file, doc, &id.to_string());
            }
        }
        if !problems.is_empty() {
            file.push(Rule::Schema, problems.join("; "));
        }
        if !self.schemas.is_empty() {
            let mut names = vec!["entity".to_string()];
            if let Some(prefix) = &claimed_prefix {
                let segments: Vec<&str> = prefix.split('/').collect();
                for depth in 1..=segments.len() {
                    names.insert(0, format!("entity-{}", segments[..depth].join("-")));
                }
            }
            self.schema(file, &names, doc);
        }
        self.check_references(file, &references);
        file.object_facts(doc);
    }

    fn relationship(&self, file: &mut File, doc: &Value, rel: &str) {
        let endpoint = |key| {
            let id = text(doc, key)?;
            Some(EntityId::parse(id).map_err(|e| format!("`{key}`: {e}")))
        };
        let (source, target) = (endpoint("source_entity_id"), endpoint("target_entity_id"));
        // Bad endpoints are reported with the other references; an unknown type by the schema.
        if let (Some(Ok(source)), Some(Ok(target)), Some(ty)) = (source, target, text(doc, "type")) {
            if let Ok(id) = RelationshipId::new(source, target, ty) {
                if id.rel_path() != rel {
                    let owner = id.rel_path();
                    file.push(
                        Rule::IdPath,
                        format!("the content says `{id}`, which belongs at v2/{owner}"),
                    );
                    file.claim(id.to_string(), Some(owner));
                }
                summary_matches(file, doc, &id.to_string());
            }
        }
        let references = model::references(doc);
        let problems = model_problems(Some(model::relationship_kind()), doc, "relationship", &|v| {
            references.iter().any(|(at, _)| *at == v.path)
        });
        if !problems.is_empty() {
            file.push(Rule::Schema, problems.join("; "));
        }
        self.schema(file, &["relationship".to_string()], doc);
        self.check_references(file, &references);
        file.object_facts(doc);
    }

    fn version(&self, file: &mut File, doc: &Value, rel: &str) {
        let object = text(doc, "entity_or_relationship_id").map(|s| (s, ObjectId::parse(s)));
        let stated = doc.get("version_number").and_then(Value::as_u64);
        match &object {
            Some((_, Err(e))) => file.push(Rule::Grammar, format!("`entity_or_relationship_id`: {e}")),
            Some((_, Ok(id))) => {
                if let Some(n) = stated {
                    let owner = id.version_rel_path(n);
                    if owner != rel {
                        let msg = format!("`{id}` version {n} belongs at v2/{owner}");
                        file.push(Rule::IdPath, msg);
                        file.claim(format!("version:{id}:{n}"), Some(owner));
                    }
                }
                if let Some(kind) = text(doc, "type").filter(|k| *k != id.kind_label()) {
                    file.push(
                        Rule::IdPath,
                        format!("`type` is `{kind}` but `{id}` is an {}", id.kind_label()),
                    );
                }
            }
            None => {}
        }
        self.author_reference(file, doc);
        let id_reported = matches!(object, Some((_, Err(_))));
        if id_reported {
            // The object's chain cannot be known from an ID that does not parse.
            file.out.chain = None;
        }
        let problems = version_problems(doc, id_reported);
        if !problems.is_empty() {
            file.push(Rule::Schema, problems.join("; "));
        }
        self.schema(file, &["version".to_string()], doc);
        let header = digest(doc, &["snapshot"], false);
        let snapshot = match (doc.get("snapshot"), object, stated) {
            (Some(snapshot @ Value::Object(_)), Some((id, Ok(_))), Some(n)) => {
                snapshot_facts(file, header, snapshot, id, n)
            }
            _ => None,
        };
        if let Some(ChainFact::Version { facts, .. }) = &mut file.out.chain {
            *facts = Some(VersionFacts { header, snapshot });
        }
    }

    fn author(&self, file: &mut File, doc: &Value, slug: &str) {
        if let Err(e) = AuthorId::new(slug) {
            file.push(Rule::Grammar, format!("the path's {e}"));
        }
        if let Some(claimed) = text(doc, "slug").filter(|s| *s != slug) {
            file.push(
                Rule::IdPath,
                format!("`slug` is `{claimed}` but the file is named `{slug}.json`"),
            );
            let owner = AuthorId::new(claimed).ok().map(|a| a.rel_path());
            file.claim(format!("author:{claimed}"), owner);
        }
        let problems = model_problems(Some(model::author_kind()), doc, "author", &|_| false);
        if !problems.is_empty() {
            file.push(Rule::Schema, problems.join("; "));
        }
        self.schema(file, &["author".to_string()], doc);
    }

    fn schema(&self, file: &mut File, names: &[String], doc: &Value) {
        if let Some(message) = self.schemas.check(names, doc) {
            file.push(Rule::Schema, message);
        }
    }

    /// Outgoing entity references of an entity or relationship document.
    fn check_references(&self, file: &mut File, references: &[(String, String)]) {
        for (at, target) in references {
            self.reference(file, at, target);
        }
    }

    /// Checks one reference `at` → `target`; shared with the scan for references into
    /// deleted files.
    pub fn reference(&self, file: &mut File, at: &str, target: &str) {
        let id = match EntityId::parse(target) {
            Err(e) => return file.push(Rule::Grammar, format!("`{at}`: {e}")),
            Ok(id) => id,
        };
        let key = at.rsplit('.').next().unwrap_or(at);
        let wanted = model::reference_target_type(key);
        let target_path = format!("{DATA_DIR}/{}", id.rel_path());
        if !self.target_exists(&target_path) {
            file.push(
                Rule::Reference,
                format!("`{at}` refers to `{id}`, but {target_path} does not exist"),
            );
        } else if let Some(wanted) = wanted.filter(|w| id.entity_type() != *w) {
            file.push(
                Rule::Reference,
                format!("`{at}` must refer to a {wanted}, not `{id}`"),
            );
        }
    }

    /// A version's `author.id` must be well formed, agree with `author.slug` and resolve.
    pub fn author_reference(&self, file: &mut File, doc: &Value) {
        let Some(author) = doc.get("author") else { return };
        let Some(id) = text(author, "id") else { return };
        match AuthorId::parse(id) {
            Err(e) => file.push(Rule::Grammar, format!("`author.id`: {e}")),
            Ok(author_id) => {
                if let Some(slug) = text(author, "slug").filter(|s| *s != author_id.slug) {
                    file.push(
                        Rule::Grammar,
                        format!("`author.id` is `{id}` but `author.slug` is `{slug}`"),
                    );
                }
                let target = format!("{DATA_DIR}/{}", author_id.rel_path());
                if !self.target_exists(&target) {
                    file.push(
                        Rule::Reference,
                        format!("`author.id` refers to `{id}`, but {target} does not exist"),
                    );
                }
            }
        }
    }
}

/// The file being checked and what it has produced so far.
pub struct File<'p> {
    pub path: &'p str,
    pub out: Outcome,
}

impl File<'_> {
    pub fn push(&mut self, rule: Rule, message: impl Into<String>) {
        self.out.violations.push(Violation {
            rule,
            path: self.path.to_string(),
            message: message.into(),
        });
    }

    fn claim(&mut self, id: String, owner_rel: Option<String>) {
        if let Some(owner) = owner_rel {
            self.out.claim = Some(Claim {
                id,
                owner: format!("{DATA_DIR}/{owner}"),
                path: self.path.to_string(),
            });
        }
    }

    fn object_facts(&mut self, doc: &Value) {
        let summary = doc.get("version_summary").filter(|s| s.is_object());
        let facts = ObjectFacts {
            summary_number: summary
                .and_then(|s| s.get("version_number"))
                .and_then(Value::as_u64),
            summary: summary.map(|s| digest(s, &[], false)),
            body: digest(doc, &[], false),
        };
        if let Some(ChainFact::Object { facts: slot, .. }) = &mut self.out.chain {
            *slot = Some(facts);
        }
    }
}

impl Outcome {
    fn with(mut self, rule: Rule, path: &str, message: String) -> Self {
        self.violations.push(Violation {
            rule,
            path: path.to_string(),
            message,
        });
        self
    }
}

/// The object's `version_summary` must name the object itself.
fn summary_matches(file: &mut File, doc: &Value, id: &str) {
    let named = doc
        .get("version_summary")
        .and_then(|s| text(s, "entity_or_relationship_id"));
    if let Some(named) = named.filter(|n| *n != id) {
        file.push(
            Rule::IdPath,
            format!("`version_summary.entity_or_relationship_id` is `{named}`, not `{id}`"),
        );
    }
}

/// Checks the computed fields of a snapshot (FORMAT.md §4) and returns its digest
/// without them, comparable with the object file.
/// `header` is the digest of the version without its snapshot.
fn snapshot_facts(file: &mut File, header: u64, snapshot: &Value, id: &str, n: u64) -> Option<u64> {
    if let Some(found) = snapshot.get("id").filter(|v| v.as_str() != Some(id)) {
        file.push(
            Rule::VersionChain,
            format!("`snapshot.id` is {found}, not `{id}`"),
        );
    }
    let summary = snapshot.get("version_summary");
    let version_id = format!("version:{id}:{n}");
    if let Some(found) = summary
        .and_then(|s| s.get("id"))
        .filter(|v| v.as_str() != Some(&version_id))
    {
        file.push(
            Rule::VersionChain,
            format!("`snapshot.version_summary.id` is {found}, not `{version_id}`"),
        );
    }
    if let Some(summary) = summary.filter(|s| s.is_object()) {
        if digest(summary, &["id"], false) != header {
            file.push(
                Rule::VersionChain,
                "`snapshot.version_summary` differs from this version's header",
            );
        }
    }
    let mut skip = vec!["id".to_string()];
    let kind = if id.starts_with("entity:") {
        model::entity_kind_of(snapshot)
    } else {
        None
    };
    if let Some(kind) = kind {
        for (name, expected) in model::computed_fields(kind, snapshot) {
            match snapshot.get(&name) {
                Some(found) if *found != expected => {
                    let msg = format!("computed `snapshot.{name}` is {found}, expected {expected}");
                    file.push(Rule::VersionChain, msg);
                }
                None => file.push(
                    Rule::VersionChain,
                    format!("computed `snapshot.{name}` is missing"),
                ),
                Some(_) => {}
            }
            skip.push(name);
        }
    }
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    Some(digest(snapshot, &skip, true))
}

/// What the model finds wrong with a document of `kind` (`None`: a type the model does not
/// know), in one line; `skip` leaves out the problems of fields already reported.
fn model_problems(
    kind: Option<&KindDef>,
    doc: &Value,
    what: &str,
    skip: &dyn Fn(&model::Violation) -> bool,
) -> Vec<String> {
    let Some(kind) = kind else {
        let ty = text(doc, "type").unwrap_or("(none)");
        return vec![format!(
            "`type` {ty:?} is not an {what} type of the model ({})",
            model::entity_types().join(", ")
        )];
    };
    let Err(violations) = model::validate(kind, doc) else {
        return Vec::new();
    };
    let list: Vec<String> = violations
        .iter()
        .filter(|v| !skip(v))
        .map(ToString::to_string)
        .collect();
    if list.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "as {} ({}): {}",
        kind.name,
        model::SOURCE_PATH,
        list.join("; ")
    )]
}

/// A version file is a version summary plus the object's `snapshot`; old snapshots keep
/// the shape of the model that wrote them, so only the header is held to the model.
fn version_problems(doc: &Value, id_reported: bool) -> Vec<String> {
    let Some(obj) = doc.as_object() else {
        return Vec::new();
    };
    let header: serde_json::Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| *k != "snapshot")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let skip = |v: &model::Violation| id_reported && v.path == "entity_or_relationship_id";
    let summary = model::model().kind("VersionSummary");
    let mut problems = model_problems(summary, &Value::Object(header), "version", &skip);
    if let Some(other) = obj.get("snapshot").filter(|s| !s.is_object() && !s.is_null()) {
        problems.push(format!("snapshot: expected an object or null, found {other}"));
    }
    if doc.get("version_number").and_then(Value::as_u64) == Some(0) {
        problems.push("version_number: versions are numbered from 1".into());
    }
    problems
}

fn text<'v>(doc: &'v Value, key: &str) -> Option<&'v str> {
    doc.get(key).and_then(Value::as_str)
}

/// Classifies a `v2/`-relative path by where it is, before reading it.
fn layout(rel: &str) -> Layout {
    let Some(stem) = rel.strip_suffix(".json") else {
        return Layout::Bad("NES documents are `.json` files".into());
    };
    let parts: Vec<&str> = stem.split('/').collect();
    match classify(rel) {
        FileKind::Entity if parts.len() >= 3 => Layout::Entity {
            key: stem.to_string(),
            id: EntityId::new(&parts[1..parts.len() - 1].join("/"), parts[parts.len() - 1]),
        },
        FileKind::Entity => Layout::Bad("entity files live at entity/<prefix>/<slug>.json".into()),
        FileKind::Relationship if parts.len() >= 4 => Layout::Relationship {
            key: stem.to_string(),
        },
        FileKind::Relationship => {
            Layout::Bad("relationship files live at relationship/<source>/<target>/<TYPE>.json".into())
        }
        FileKind::Version => {
            let (dir, n) = stem.rsplit_once('/').unwrap_or(("", stem));
            let number = (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse::<u64>().ok())
                .flatten();
            match (dir.strip_prefix("version/"), number) {
                (Some(key), Some(number))
                    if key.starts_with("entity/") || key.starts_with("relationship/") =>
                {
                    Layout::Version {
                        key: key.to_string(),
                        number,
                    }
                }
                _ => Layout::Bad("version files live at version/<object path>/<N>.json, N = 1, 2, …".into()),
            }
        }
        FileKind::Author => match parts[1..] {
            [slug] => Layout::Author {
                slug: slug.to_string(),
            },
            _ => Layout::Bad("author files live at author/<slug>.json".into()),
        },
        FileKind::MigrationLog | FileKind::Other => {
            Layout::Bad("not a place for NES documents (author/, entity/, relationship/, version/)".into())
        }
    }
}

/// The version directory key (`entity/person/ram`) of a `v2/`-relative object or version
/// path, if it is one.
pub fn chain_key(rel: &str) -> Option<String> {
    match layout(rel) {
        Layout::Entity { key, .. } | Layout::Relationship { key } | Layout::Version { key, .. } => Some(key),
        _ => None,
    }
}
