//! ID grammars of FORMAT.md §1 and §10 and the ID → path rule, with the prefixes, depth and
//! relationship types of the model (`model/nes.toml`).
//!
//! Every constructor validates, so a parsed ID can never map to a path outside `v2/`:
//! a prefix must be registered (its segments are known directory names) and a slug
//! matches the slug grammar.

use std::fmt;

use super::model::{self, relationship_types};
use super::slug::validate_slug;

const ENTITY_PREFIX: &str = "entity:";
const AUTHOR_PREFIX: &str = "author:";
const RELATIONSHIP_PREFIX: &str = "relationship:";
const VERSION_PREFIX: &str = "version:";

/// An ID or slug that breaks a FORMAT.md rule; the message names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {rule}")]
pub struct IdError {
    pub what: &'static str,
    pub value: String,
    pub rule: String,
}

impl IdError {
    fn new(what: &'static str, value: &str, rule: impl Into<String>) -> Self {
        Self {
            what,
            value: value.to_string(),
            rule: rule.into(),
        }
    }

    /// Re-labels a slug error as an error of the whole ID it appeared in.
    fn within(self, what: &'static str, value: &str) -> Self {
        Self::new(what, value, format!("slug `{}`: {}", self.value, self.rule))
    }
}

/// Strips `prefix` or fails naming it.
fn strip<'a>(what: &'static str, s: &'a str, prefix: &str) -> Result<&'a str, IdError> {
    s.strip_prefix(prefix)
        .ok_or_else(|| IdError::new(what, s, format!("must start with `{prefix}`")))
}

/// `entity:<prefix>/<slug>`, the prefix being 1 to `max_prefix_depth` segments registered
/// in the model (`person`, `organization/government/commission/district`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId {
    pub prefix: String,
    pub slug: String,
}

impl EntityId {
    /// Builds and validates an entity ID: a registered prefix and a legal slug.
    pub fn new(prefix: &str, slug: &str) -> Result<Self, IdError> {
        let id = Self {
            prefix: prefix.to_string(),
            slug: slug.to_string(),
        };
        let shown = id.to_string();
        if let Some(problem) = model::prefix_problem(prefix) {
            return Err(IdError::new("entity ID", &shown, problem));
        }
        validate_slug(slug).map_err(|e| e.within("entity ID", &shown))?;
        Ok(id)
    }

    /// The ID a document written before prefixes existed has: `type[/sub_type]/slug`.
    pub fn from_type(entity_type: &str, sub_type: Option<&str>, slug: &str) -> Result<Self, IdError> {
        match sub_type {
            Some(sub) => Self::new(&format!("{entity_type}/{sub}"), slug),
            None => Self::new(entity_type, slug),
        }
    }

    /// Parses `entity:location/ward/foo` or `entity:organization/government/commission/district/foo`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let rest = strip("entity ID", s, ENTITY_PREFIX)?;
        let max = model::model().max_prefix_depth;
        let Some((prefix, slug)) = rest.rsplit_once('/') else {
            return Err(IdError::new(
                "entity ID",
                s,
                format!(
                    "must be `entity:<prefix>/<slug>` with a prefix of 1 to {max} `/`-separated segments"
                ),
            ));
        };
        // Report the text as given, not as rebuilt.
        Self::new(prefix, slug).map_err(|e| IdError::new("entity ID", s, e.rule))
    }

    /// The entity type: the prefix's first segment.
    pub fn entity_type(&self) -> &str {
        self.prefix.split('/').next().unwrap_or_default()
    }

    /// The kind the registry gives this ID's prefix.
    pub fn kind(&self) -> &'static model::KindDef {
        model::kind_for_prefix(&self.prefix).expect("a parsed ID has a registered prefix")
    }

    /// The part after `entity:`, e.g. `location/ward/foo` (used inside relationship IDs).
    pub fn short(&self) -> String {
        format!("{}/{}", self.prefix, self.slug)
    }

    /// Path of the entity file relative to `v2/`, e.g. `entity/location/ward/foo.json`.
    pub fn rel_path(&self) -> String {
        format!("entity/{}.json", self.short())
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entity:{}/{}", self.prefix, self.slug)
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
        validate_slug(slug).map_err(|e| e.within("author ID", &format!("{AUTHOR_PREFIX}{slug}")))?;
        Ok(Self {
            slug: slug.to_string(),
        })
    }

    /// Parses `author:<slug>`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let slug = strip("author ID", s, AUTHOR_PREFIX)?;
        Self::new(slug).map_err(|e| IdError::new("author ID", s, e.rule))
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
        let types = relationship_types();
        if !types.iter().any(|t| t == rel_type) {
            let shown = format!(
                "{RELATIONSHIP_PREFIX}{}:{}:{rel_type}",
                source.short(),
                target.short()
            );
            return Err(IdError::new(
                "relationship ID",
                &shown,
                format!(
                    "unknown relationship type `{rel_type}`; expected one of {}",
                    types.join(", ")
                ),
            ));
        }
        Ok(Self {
            source,
            target,
            rel_type: rel_type.to_string(),
        })
    }

    /// Parses `relationship:person/a:organization/political_party/b:MEMBER_OF`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        const WHAT: &str = "relationship ID";
        let rest = strip(WHAT, s, RELATIONSHIP_PREFIX)?;
        let [source, target, rel_type] = rest.split(':').collect::<Vec<_>>()[..] else {
            return Err(IdError::new(
                WHAT,
                s,
                "must be `relationship:<source>:<target>:<TYPE>` (3 `:`-separated parts)",
            ));
        };
        let endpoint = |which: &str, short: &str| {
            EntityId::parse(&format!("{ENTITY_PREFIX}{short}"))
                .map_err(|e| IdError::new(WHAT, s, format!("{which} `{short}`: {}", e.rule)))
        };
        let source = endpoint("source", source)?;
        let target = endpoint("target", target)?;
        Self::new(source, target, rel_type).map_err(|e| IdError::new(WHAT, s, e.rule))
    }

    /// `relationship/<source short>/<target short>/<TYPE>.json`, relative to `v2/`.
    pub fn rel_path(&self) -> String {
        format!(
            "relationship/{}/{}/{}.json",
            self.source.short(),
            self.target.short(),
            self.rel_type
        )
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
        if s.starts_with(ENTITY_PREFIX) {
            EntityId::parse(s).map(ObjectId::Entity)
        } else if s.starts_with(RELATIONSHIP_PREFIX) {
            RelationshipId::parse(s).map(ObjectId::Relationship)
        } else {
            Err(IdError::new(
                "object ID",
                s,
                format!("must start with `{ENTITY_PREFIX}` or `{RELATIONSHIP_PREFIX}`"),
            ))
        }
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
        let object = self.rel_path();
        let stem = object.strip_suffix(".json").unwrap_or(&object);
        format!("version/{stem}/{n}.json")
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
    /// Builds a version ID; numbering starts at 1.
    pub fn new(object: ObjectId, number: u64) -> Result<Self, IdError> {
        if number == 0 {
            let shown = format!("{VERSION_PREFIX}{object}:0");
            return Err(IdError::new("version ID", &shown, "version numbers start at 1"));
        }
        Ok(Self { object, number })
    }

    /// Parses by splitting at the last `:`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        const WHAT: &str = "version ID";
        let rest = strip(WHAT, s, VERSION_PREFIX)?;
        let Some((object, number)) = rest.rsplit_once(':') else {
            return Err(IdError::new(WHAT, s, "must be `version:<object ID>:<N>`"));
        };
        let number = parse_decimal(number).ok_or_else(|| {
            IdError::new(
                WHAT,
                s,
                format!("version number `{number}` is not a decimal integer"),
            )
        })?;
        let object = ObjectId::parse(object).map_err(|e| IdError::new(WHAT, s, e.rule))?;
        Self::new(object, number).map_err(|e| IdError::new(WHAT, s, e.rule))
    }

    /// Path of this version's file relative to `v2/`.
    pub fn rel_path(&self) -> String {
        self.object.version_rel_path(self.number)
    }
}

/// ASCII digits only: `u64::from_str` would also take a leading `+`.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version:{}:{}", self.object, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_md_path_table() {
        let entity = ObjectId::parse("entity:location/ward/aadarsha-rural-municipality-ward-1").unwrap();
        assert_eq!(
            entity.rel_path(),
            "entity/location/ward/aadarsha-rural-municipality-ward-1.json"
        );
        let author = AuthorId::parse("author:damodar-dahal").unwrap();
        assert_eq!(author.rel_path(), "author/damodar-dahal.json");
        let v =
            VersionId::parse("version:entity:location/ward/aadarsha-rural-municipality-ward-1:2").unwrap();
        assert_eq!(v.number, 2);
        assert_eq!(
            v.rel_path(),
            "version/entity/location/ward/aadarsha-rural-municipality-ward-1/2.json"
        );
        let rel = "relationship:person/a-b:organization/political_party/c-d:MEMBER_OF";
        let r = ObjectId::parse(rel).unwrap();
        assert_eq!(
            r.rel_path(),
            "relationship/person/a-b/organization/political_party/c-d/MEMBER_OF.json"
        );
        assert_eq!(r.to_string(), rel);
        let rv = VersionId::parse(&format!("version:{rel}:1")).unwrap();
        assert_eq!(
            rv.rel_path(),
            "version/relationship/person/a-b/organization/political_party/c-d/MEMBER_OF/1.json"
        );
        assert_eq!(r.kind_label(), "RELATIONSHIP");
    }

    #[test]
    fn entity_without_subtype() {
        let id = EntityId::parse("entity:organization/foo-bar").unwrap();
        assert_eq!(id.prefix, "organization");
        assert_eq!(id.entity_type(), "organization");
        assert_eq!(id.short(), "organization/foo-bar");
        assert_eq!(
            EntityId::parse("entity:person/ram").unwrap().rel_path(),
            "entity/person/ram.json"
        );
    }

    fn rule(r: Result<impl std::fmt::Debug, IdError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn rejections_name_the_rule() {
        assert!(rule(EntityId::parse("entity:animal/cat-x")).contains("`animal` is not an entity type"));
        assert!(rule(EntityId::parse("entity:person/x/abc")).contains("prefix `person/x` is not registered"));
        assert!(rule(EntityId::parse("entity:location/party/abc"))
            .contains("prefix `location/party` is not registered"));
        assert!(rule(EntityId::parse("entity:location/ward/a/abc"))
            .contains("prefix `location/ward/a` is not registered"));
        assert!(rule(EntityId::parse(
            "entity:organization/government/commission/district/x/abc"
        ))
        .contains("5 segments; at most 4"));
        assert!(rule(EntityId::parse("entity:organization//abc")).contains("empty"));
        assert!(rule(EntityId::parse("person/abc")).contains("must start with `entity:`"));
        assert!(rule(EntityId::parse("entity:person/ab")).contains("length 2"));
        assert!(rule(EntityId::parse("entity:person/..")).contains("not allowed"));
        assert!(rule(EntityId::parse("entity:person/")).contains("length 0"));
        assert!(rule(AuthorId::parse("author:A-B")).contains("^[a-z0-9-]+$"));
        assert!(rule(AuthorId::parse("writer:abc")).contains("`author:`"));
        assert!(
            rule(RelationshipId::parse("relationship:person/abc:person/abd:LIKES"))
                .contains("unknown relationship type")
        );
        assert!(rule(RelationshipId::parse("relationship:person/abc:person/abd")).contains("3 `:`-separated"));
        assert!(rule(RelationshipId::parse(
            "relationship:person/abc:place/abd:MEMBER_OF"
        ))
        .contains("target `place/abd`"));
        assert!(rule(VersionId::parse("version:entity:person/abc:x")).contains("not a decimal"));
        assert!(rule(VersionId::parse("version:entity:person/abc:+1")).contains("not a decimal"));
        assert!(rule(VersionId::parse("version:entity:person/abc:0")).contains("start at 1"));
        assert!(rule(VersionId::parse("version:entity:person/abc")).contains("not a decimal"));
        assert!(rule(VersionId::parse("version:author:abc:1")).contains("`entity:` or `relationship:`"));
        assert!(rule(ObjectId::parse("entity:person\\abc")).contains("must be `entity:<prefix>/<slug>`"));
    }

    #[test]
    fn four_level_prefixes() {
        let s = "entity:organization/government/commission/district/district-election-office-achham";
        let id = EntityId::parse(s).unwrap();
        assert_eq!(id.prefix, "organization/government/commission/district");
        assert_eq!(id.slug, "district-election-office-achham");
        assert_eq!(id.to_string(), s);
        assert_eq!(
            id.rel_path(),
            "entity/organization/government/commission/district/district-election-office-achham.json"
        );
        assert_eq!(id.kind().name, "GovernmentBody");
        let rel = format!("relationship:person/ram-bahadur:{}:EMPLOYED_BY", id.short());
        let parsed = RelationshipId::parse(&rel).unwrap();
        assert_eq!(parsed.target, id);
        assert_eq!(parsed.to_string(), rel);
        let v = VersionId::parse(&format!("version:{rel}:3")).unwrap();
        assert_eq!(
            v.rel_path(),
            "version/relationship/person/ram-bahadur/organization/government/commission/district/\
             district-election-office-achham/EMPLOYED_BY/3.json"
        );
    }

    #[test]
    fn error_shows_the_input() {
        let err = EntityId::parse("entity:location/ward/A").unwrap_err();
        assert_eq!(err.what, "entity ID");
        assert_eq!(err.value, "entity:location/ward/A");
        assert!(
            err.to_string()
                .starts_with("invalid entity ID `entity:location/ward/A`: slug `A`"),
            "{err}"
        );
    }
}
