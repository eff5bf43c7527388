//! ID grammars of FORMAT.md §1 and the ID → path rule.
//!
//! Every constructor validates, so a parsed ID can never map to a path outside `v2/`.

use std::fmt;

/// An ID or slug that breaks a FORMAT.md rule; the message names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {rule}")]
pub struct IdError {
    pub what: &'static str,
    pub value: String,
    pub rule: String,
}

/// `entity:<type>/[<sub_type>/]<slug>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId {
    pub entity_type: String,
    pub sub_type: Option<String>,
    pub slug: String,
}

impl EntityId {
    /// Builds and validates an entity ID (known type, subtype allowed for it, slug grammar).
    pub fn new(entity_type: &str, sub_type: Option<&str>, slug: &str) -> Result<Self, IdError> {
        todo!("{entity_type}{sub_type:?}{slug}")
    }

    /// Parses `entity:location/ward/foo`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        todo!("{s}")
    }

    /// The part after `entity:`, e.g. `location/ward/foo` (used inside relationship IDs).
    pub fn short(&self) -> String {
        todo!()
    }

    /// Path of the entity file relative to `v2/`, e.g. `entity/location/ward/foo.json`.
    pub fn rel_path(&self) -> String {
        todo!()
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entity:{}", self.short())
    }
}

/// `author:<slug>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorId {
    pub slug: String,
}

impl AuthorId {
    /// Validates the slug.
    pub fn new(slug: &str) -> Result<Self, IdError> {
        todo!("{slug}")
    }

    /// Parses `author:<slug>`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        todo!("{s}")
    }

    /// `author/<slug>.json`, relative to `v2/`.
    pub fn rel_path(&self) -> String {
        format!("author/{}.json", self.slug)
    }
}

impl fmt::Display for AuthorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "author:{}", self.slug)
    }
}

/// `relationship:<source short>:<target short>:<TYPE>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelationshipId {
    pub source: EntityId,
    pub target: EntityId,
    pub rel_type: String,
}

impl RelationshipId {
    /// Builds and validates (known relationship type).
    pub fn new(source: EntityId, target: EntityId, rel_type: &str) -> Result<Self, IdError> {
        todo!("{source}{target}{rel_type}")
    }

    /// Parses `relationship:person/a:organization/political_party/b:MEMBER_OF`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        todo!("{s}")
    }

    /// `relationship/<source short>/<target short>/<TYPE>.json`, relative to `v2/`.
    pub fn rel_path(&self) -> String {
        todo!()
    }
}

impl fmt::Display for RelationshipId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "relationship:{}:{}:{}",
            self.source.short(),
            self.target.short(),
            self.rel_type
        )
    }
}

/// A versioned object: an entity or a relationship.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectId {
    Entity(EntityId),
    Relationship(RelationshipId),
}

impl ObjectId {
    /// Parses an entity or relationship ID by its prefix.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        todo!("{s}")
    }

    /// Object file path relative to `v2/`.
    pub fn rel_path(&self) -> String {
        match self {
            ObjectId::Entity(e) => e.rel_path(),
            ObjectId::Relationship(r) => r.rel_path(),
        }
    }

    /// Path of version `n` relative to `v2/`: `version/<object path without .json>/<n>.json`.
    pub fn version_rel_path(&self, n: u64) -> String {
        todo!("{n}")
    }

    /// `"ENTITY"` or `"RELATIONSHIP"`, the version `type` field.
    pub fn kind_label(&self) -> &'static str {
        match self {
            ObjectId::Entity(_) => "ENTITY",
            ObjectId::Relationship(_) => "RELATIONSHIP",
        }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectId::Entity(e) => e.fmt(f),
            ObjectId::Relationship(r) => r.fmt(f),
        }
    }
}

/// `version:<object id>:<n>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionId {
    pub object: ObjectId,
    pub number: u64,
}

impl VersionId {
    /// Parses by splitting at the last `:`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        todo!("{s}")
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version:{}:{}", self.object, self.number)
    }
}
