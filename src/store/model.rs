//! The NES document model of FORMAT.md §3-§6: known types, declared fields, validation,
//! computed snapshot fields and the references a document makes.
//!
//! Documents stay `serde_json::Value`s so that files written by older models (FORMAT.md §9)
//! round-trip byte for byte; this module knows their shape without forcing it.

use serde_json::{Map, Value};

use super::id::{EntityId, ObjectId};
use super::slug::validate_slug;

/// Entity types, in FORMAT.md order.
pub const ENTITY_TYPES: &[&str] = &["person", "organization", "location", "project"];

/// Relationship types (both app commits' plus HEAD's).
pub const RELATIONSHIP_TYPES: &[&str] = &[
    "AFFILIATED_WITH",
    "EMPLOYED_BY",
    "MEMBER_OF",
    "PARENT_OF",
    "CHILD_OF",
    "SUPERVISES",
    "LOCATED_IN",
    "FUNDED_BY",
    "IMPLEMENTED_BY",
    "EXECUTED_BY",
    "OVERSEEN_BY",
];

/// Subtypes allowed for an entity type; `None` for an unknown type.
pub fn subtypes(entity_type: &str) -> Option<&'static [&'static str]> {
    match entity_type {
        "person" => Some(&[]),
        "organization" => Some(&[
            "political_party",
            "government_body",
            "hospital",
            "ngo",
            "international_org",
        ]),
        "location" => Some(&[
            "province",
            "district",
            "metropolitan_city",
            "sub_metropolitan_city",
            "municipality",
            "rural_municipality",
            "ward",
            "constituency",
        ]),
        "project" => Some(&["development_project"]),
        _ => None,
    }
}

/// Which model a document belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model<'a> {
    Entity {
        entity_type: &'a str,
        sub_type: Option<&'a str>,
    },
    Relationship,
}

/// One broken rule inside a document: a JSON path (`names[0].kind`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Field tables
// ---------------------------------------------------------------------------------------

/// What a field holds; drives completion and validation.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    /// A string of at least one character.
    NonEmptyStr,
    Int,
    Float,
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339.
    DateTime,
    /// pydantic `AnyUrl`: normalised on completion.
    Url,
    Slug,
    Enum(&'static [&'static str]),
    /// An entity ID, optionally of one entity type.
    EntityRef(Option<&'static str>),
    /// An entity or relationship ID.
    ObjectRef,
    /// Any JSON object (`attributes`, raw payloads).
    FreeObject,
    Nested(&'static Spec),
    List(&'static Spec),
    StrList,
}

/// Whether a field's key and value must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Optional,
    /// Present and non-null.
    Required,
    /// Present, possibly null (pydantic's required `Optional[...]`).
    RequiredNullable,
}

/// One declared field of a model.
#[derive(Debug)]
struct Field {
    name: &'static str,
    kind: Kind,
    presence: Presence,
    /// What completion writes for an absent key, instead of `null`.
    default: Option<&'static str>,
}

const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        presence: Presence::Optional,
        default: None,
    }
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        presence: Presence::Required,
        ..opt(name, kind)
    }
}

const fn req_nullable(name: &'static str, kind: Kind) -> Field {
    Field {
        presence: Presence::RequiredNullable,
        ..opt(name, kind)
    }
}

const fn defaulted(name: &'static str, kind: Kind, default: &'static str) -> Field {
    Field {
        default: Some(default),
        ..opt(name, kind)
    }
}

/// Extra checks of a model beyond its field table: `(object, path, violations)`.
type Check = fn(&Map<String, Value>, &str, &mut Vec<Violation>);

/// A nested model: its fields, whether it tolerates unknown keys, and extra checks.
#[derive(Debug)]
struct Spec {
    fields: &'static [Field],
    allow_extra: bool,
    check: Option<Check>,
}

const NAME_KINDS: &[&str] = &["PRIMARY", "ALIAS", "ALTERNATE", "BIRTH_NAME"];
const PROVENANCES: &[&str] = &["human", "llm", "translation_service", "imported"];
const IDENTIFIER_SCHEMES: &[&str] = &[
    "wikipedia",
    "wikidata",
    "twitter",
    "facebook",
    "instagram",
    "linkedin",
    "youtube",
    "tiktok",
    "website",
    "other",
];
const CONTACT_TYPES: &[&str] = &[
    "EMAIL",
    "PHONE",
    "URL",
    "TWITTER",
    "FACEBOOK",
    "INSTAGRAM",
    "LINKEDIN",
    "WHATSAPP",
    "TELEGRAM",
    "WECHAT",
    "OTHER",
];
const PICTURE_TYPES: &[&str] = &["thumb", "full", "wide"];
const GENDERS: &[&str] = &["male", "female", "other"];
const ELECTION_TYPES: &[&str] = &["federal", "provincial", "local", "ward"];
const POSITIONS: &[&str] = &[
    "federal_parliament",
    "provincial_assembly",
    "mayor",
    "deputy_mayor",
    "ward_chairperson",
    "ward_member",
    "dalit_female_member",
    "female_member",
];
const GOVERNMENT_TYPES: &[&str] = &["federal", "provincial", "local", "other", "unknown"];
const OWNERSHIPS: &[&str] = &["Private", "Public", "Government"];
const PROJECT_STAGES: &[&str] = &[
    "pipeline",
    "planning",
    "approved",
    "ongoing",
    "completed",
    "suspended",
    "terminated",
    "cancelled",
    "unknown",
];
const VERSION_TYPES: &[&str] = &["ENTITY", "RELATIONSHIP"];

static NAME_PARTS: Spec = Spec {
    fields: &[
        req("full", Kind::Str),
        opt("given", Kind::Str),
        opt("middle", Kind::Str),
        opt("family", Kind::Str),
        opt("prefix", Kind::Str),
        opt("suffix", Kind::Str),
    ],
    allow_extra: false,
    check: None,
};

static NAME: Spec = Spec {
    fields: &[
        req("kind", Kind::Enum(NAME_KINDS)),
        opt("en", Kind::Nested(&NAME_PARTS)),
        opt("ne", Kind::Nested(&NAME_PARTS)),
    ],
    allow_extra: false,
    check: Some(check_name),
};

static LANG_TEXT_VALUE: Spec = Spec {
    fields: &[
        req("value", Kind::Str),
        opt("provenance", Kind::Enum(PROVENANCES)),
    ],
    allow_extra: false,
    check: None,
};

static LANG_TEXT: Spec = Spec {
    fields: &[
        opt("en", Kind::Nested(&LANG_TEXT_VALUE)),
        opt("ne", Kind::Nested(&LANG_TEXT_VALUE)),
    ],
    allow_extra: false,
    check: None,
};

static EXTERNAL_IDENTIFIER: Spec = Spec {
    fields: &[
        req("scheme", Kind::Enum(IDENTIFIER_SCHEMES)),
        opt("name", Kind::Nested(&LANG_TEXT)),
        req("value", Kind::NonEmptyStr),
        opt("url", Kind::Url),
    ],
    allow_extra: true,
    check: None,
};

static CONTACT: Spec = Spec {
    fields: &[req("type", Kind::Enum(CONTACT_TYPES)), req("value", Kind::Str)],
    allow_extra: false,
    check: Some(check_contact),
};

static ADDRESS: Spec = Spec {
    fields: &[
        opt("location_id", Kind::EntityRef(Some("location"))),
        opt("description2", Kind::Nested(&LANG_TEXT)),
        opt("description", Kind::Str),
    ],
    allow_extra: false,
    check: None,
};

static ENTITY_PICTURE: Spec = Spec {
    fields: &[
        req("type", Kind::Enum(PICTURE_TYPES)),
        req("url", Kind::Str),
        opt("width", Kind::Int),
        opt("height", Kind::Int),
        opt("description", Kind::Str),
    ],
    allow_extra: false,
    check: None,
};

static ATTRIBUTION: Spec = Spec {
    fields: &[
        req("title", Kind::Nested(&LANG_TEXT)),
        req_nullable("details", Kind::Nested(&LANG_TEXT)),
    ],
    allow_extra: false,
    check: None,
};

static AUTHOR: Spec = Spec {
    fields: &[opt("name", Kind::Str), req("slug", Kind::Slug)],
    // The embedded copy carries the computed `id`; upstream ignores unknown keys here.
    allow_extra: true,
    check: None,
};

static VERSION_SUMMARY: Spec = Spec {
    fields: &[
        req("author", Kind::Nested(&AUTHOR)),
        req("change_description", Kind::Str),
        req("created_at", Kind::DateTime),
        req("entity_or_relationship_id", Kind::ObjectRef),
        req("type", Kind::Enum(VERSION_TYPES)),
        req("version_number", Kind::Int),
    ],
    allow_extra: false,
    check: None,
};

static EDUCATION: Spec = Spec {
    fields: &[
        req("institution", Kind::Nested(&LANG_TEXT)),
        opt("degree", Kind::Nested(&LANG_TEXT)),
        opt("field", Kind::Nested(&LANG_TEXT)),
        opt("start_year", Kind::Int),
        opt("end_year", Kind::Int),
    ],
    allow_extra: false,
    check: None,
};

static POSITION: Spec = Spec {
    fields: &[
        req("title", Kind::Nested(&LANG_TEXT)),
        opt("organization", Kind::Nested(&LANG_TEXT)),
        opt("start_date", Kind::Date),
        opt("end_date", Kind::Date),
        opt("description", Kind::Str),
    ],
    allow_extra: false,
    check: Some(check_position),
};

static PERSONAL_DETAILS: Spec = Spec {
    fields: &[
        opt("birth_date", Kind::Str),
        opt("birth_place", Kind::Nested(&ADDRESS)),
        opt("citizenship_place", Kind::Nested(&ADDRESS)),
        opt("address", Kind::Nested(&ADDRESS)),
        opt("gender", Kind::Enum(GENDERS)),
        opt("father_name", Kind::Nested(&LANG_TEXT)),
        opt("mother_name", Kind::Nested(&LANG_TEXT)),
        opt("spouse_name", Kind::Nested(&LANG_TEXT)),
        opt("education", Kind::List(&EDUCATION)),
        opt("positions", Kind::List(&POSITION)),
    ],
    allow_extra: false,
    check: None,
};

static CANDIDACY_SYMBOL: Spec = Spec {
    fields: &[
        req("symbol_name", Kind::Nested(&LANG_TEXT)),
        req_nullable("nec_id", Kind::Int),
        opt("url", Kind::Url),
    ],
    allow_extra: false,
    check: None,
};

static CANDIDACY: Spec = Spec {
    fields: &[
        req("election_year", Kind::Int),
        req("election_type", Kind::Enum(ELECTION_TYPES)),
        req("constituency_id", Kind::EntityRef(None)),
        req("candidate_id", Kind::Int),
        opt("pa_subdivision", Kind::Str),
        opt("position", Kind::Enum(POSITIONS)),
        opt("party_id", Kind::EntityRef(None)),
        opt("votes_received", Kind::Int),
        opt("elected", Kind::Bool),
        opt("symbol", Kind::Nested(&CANDIDACY_SYMBOL)),
    ],
    allow_extra: false,
    check: None,
};

static ELECTORAL_DETAILS: Spec = Spec {
    fields: &[opt("candidacies", Kind::List(&CANDIDACY))],
    allow_extra: false,
    check: None,
};

static PARTY_SYMBOL: Spec = Spec {
    fields: &[opt("name", Kind::Nested(&LANG_TEXT))],
    allow_extra: false,
    check: None,
};

// Project nested models exist only in upstream HEAD code and in no data file; their
// fields come from the 007 source records, so they tolerate keys we do not know.
static FINANCING_TERMS: Spec = Spec {
    fields: &[
        opt("grace_period_years", Kind::Int),
        opt("interest_rate", Kind::Float),
        opt("repayment_period_years", Kind::Int),
        opt("tying_status", Kind::Str),
    ],
    allow_extra: true,
    check: None,
};

static FINANCING_COMMITMENT: Spec = Spec {
    fields: &[
        opt("amount", Kind::Float),
        opt("assistance_type", Kind::Str),
        opt("budget_type", Kind::Str),
        opt("currency", Kind::Str),
        opt("donor", Kind::Str),
        opt("financing_instrument", Kind::Str),
        opt("is_actual", Kind::Bool),
        opt("source", Kind::Str),
        opt("terms", Kind::Nested(&FINANCING_TERMS)),
        opt("transaction_date", Kind::Date),
        opt("transaction_type", Kind::Str),
    ],
    allow_extra: true,
    check: None,
};

static PROJECT_DATE: Spec = Spec {
    fields: &[
        opt("date", Kind::Date),
        opt("type", Kind::Str),
        opt("source", Kind::Str),
    ],
    allow_extra: true,
    check: None,
};

static SECTOR_MAPPING: Spec = Spec {
    fields: &[
        opt("donor", Kind::Str),
        opt("donor_sector", Kind::Str),
        opt("donor_subsector", Kind::Str),
        opt("normalized_sector", Kind::Str),
        opt("percentage", Kind::Float),
    ],
    allow_extra: true,
    check: None,
};

static DONOR_EXTENSION: Spec = Spec {
    fields: &[
        opt("donor", Kind::Str),
        opt("donor_project_id", Kind::Str),
        opt("raw_payload", Kind::FreeObject),
    ],
    allow_extra: true,
    check: None,
};

static PROJECT_TAG: Spec = Spec {
    fields: &[
        opt("category", Kind::Str),
        opt("normalized_tag", Kind::Str),
        opt("donor_tag", Kind::Str),
        opt("donor", Kind::Str),
    ],
    allow_extra: true,
    check: None,
};

/// Fields of every entity (`Entity`).
static ENTITY_FIELDS: &[Field] = &[
    req("slug", Kind::Slug),
    req("type", Kind::Enum(ENTITY_TYPES)),
    opt("sub_type", Kind::Str),
    req("names", Kind::List(&NAME)),
    req("version_summary", Kind::Nested(&VERSION_SUMMARY)),
    req("created_at", Kind::DateTime),
    opt("misspelled_names", Kind::List(&NAME)),
    opt("identifiers", Kind::List(&EXTERNAL_IDENTIFIER)),
    opt("tags", Kind::StrList),
    opt("attributes", Kind::FreeObject),
    opt("contacts", Kind::List(&CONTACT)),
    opt("short_description", Kind::Nested(&LANG_TEXT)),
    opt("description", Kind::Nested(&LANG_TEXT)),
    opt("attributions", Kind::List(&ATTRIBUTION)),
    opt("pictures", Kind::List(&ENTITY_PICTURE)),
];

static PERSON_FIELDS: &[Field] = &[
    opt("personal_details", Kind::Nested(&PERSONAL_DETAILS)),
    opt("electoral_details", Kind::Nested(&ELECTORAL_DETAILS)),
];

static LOCATION_FIELDS: &[Field] = &[
    opt("parent", Kind::EntityRef(None)),
    opt("area", Kind::Float),
    opt("lat", Kind::Float),
    opt("lng", Kind::Float),
];

static POLITICAL_PARTY_FIELDS: &[Field] = &[
    opt("address", Kind::Nested(&ADDRESS)),
    opt("party_chief", Kind::Nested(&LANG_TEXT)),
    opt("registration_date", Kind::Date),
    opt("symbol", Kind::Nested(&PARTY_SYMBOL)),
];

static GOVERNMENT_BODY_FIELDS: &[Field] = &[opt("government_type", Kind::Enum(GOVERNMENT_TYPES))];

static HOSPITAL_FIELDS: &[Field] = &[
    opt("beds", Kind::Int),
    opt("services", Kind::StrList),
    opt("ownership", Kind::Enum(OWNERSHIPS)),
    opt("address", Kind::Nested(&ADDRESS)),
];

/// Project fields; `sub_type` and `tags` override the base entity's.
static PROJECT_FIELDS: &[Field] = &[
    defaulted("sub_type", Kind::Str, "development_project"),
    defaulted("stage", Kind::Enum(PROJECT_STAGES), "unknown"),
    opt("implementing_agency", Kind::Str),
    opt("executing_agency", Kind::Str),
    opt("total_commitment", Kind::Float),
    opt("total_disbursement", Kind::Float),
    opt("project_url", Kind::Url),
    opt("financing", Kind::List(&FINANCING_COMMITMENT)),
    opt("dates", Kind::List(&PROJECT_DATE)),
    opt("sectors", Kind::List(&SECTOR_MAPPING)),
    opt("donor_extensions", Kind::List(&DONOR_EXTENSION)),
    opt("tags", Kind::List(&PROJECT_TAG)),
];

static RELATIONSHIP_FIELDS: &[Field] = &[
    req("source_entity_id", Kind::EntityRef(None)),
    req("target_entity_id", Kind::EntityRef(None)),
    req("type", Kind::Enum(RELATIONSHIP_TYPES)),
    opt("start_date", Kind::Date),
    opt("end_date", Kind::Date),
    opt("attributes", Kind::FreeObject),
    opt("version_summary", Kind::Nested(&VERSION_SUMMARY)),
    opt("created_at", Kind::DateTime),
    opt("attributions", Kind::StrList),
];

/// The declared fields of a model, later tables overriding earlier ones by name.
fn model_fields(model: Model<'_>) -> Vec<&'static Field> {
    let parts: &[&'static [Field]] = match model {
        Model::Relationship => &[RELATIONSHIP_FIELDS],
        Model::Entity {
            entity_type,
            sub_type,
        } => match (entity_type, sub_type) {
            ("person", _) => &[ENTITY_FIELDS, PERSON_FIELDS],
            ("location", _) => &[ENTITY_FIELDS, LOCATION_FIELDS],
            ("project", _) => &[ENTITY_FIELDS, PROJECT_FIELDS],
            ("organization", Some("political_party")) => &[ENTITY_FIELDS, POLITICAL_PARTY_FIELDS],
            ("organization", Some("government_body")) => &[ENTITY_FIELDS, GOVERNMENT_BODY_FIELDS],
            ("organization", Some("hospital")) => &[ENTITY_FIELDS, HOSPITAL_FIELDS],
            _ => &[ENTITY_FIELDS],
        },
    };
    let mut fields: Vec<&'static Field> = Vec::new();
    for field in parts.iter().flat_map(|part| part.iter()) {
        match fields.iter_mut().find(|f| f.name == field.name) {
            Some(slot) => *slot = field,
            None => fields.push(field),
        }
    }
    fields
}

// ---------------------------------------------------------------------------------------
// Completion
// ---------------------------------------------------------------------------------------

/// Completes a new document the way the original model dump does: every declared field
/// (nested models included) present, unset ones as `null`; URL fields normalised.
/// `doc` holds the object's own fields; `slug`, `type`, `sub_type`, `created_at` and
/// `version_summary` are set by the caller.
pub fn complete(model: Model<'_>, doc: &mut Value) {
    if let Value::Object(obj) = doc {
        complete_fields(model_fields(model).into_iter(), obj);
    }
}

fn complete_fields<'f>(fields: impl Iterator<Item = &'f Field>, obj: &mut Map<String, Value>) {
    for field in fields {
        match obj.get_mut(field.name) {
            Some(value) => complete_value(field.kind, value),
            None => {
                let fill = field
                    .default
                    .map_or(Value::Null, |d| Value::String(d.to_string()));
                obj.insert(field.name.to_string(), fill);
            }
        }
    }
}

fn complete_value(kind: Kind, value: &mut Value) {
    match (kind, value) {
        (Kind::Nested(spec), Value::Object(obj)) => complete_fields(spec.fields.iter(), obj),
        (Kind::List(spec), Value::Array(items)) => {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                complete_fields(spec.fields.iter(), item);
            }
        }
        (Kind::Url, Value::String(s)) => {
            if let Some(normal) = normalize_url(s) {
                *s = normal;
            }
        }
        _ => {}
    }
}

/// pydantic's `AnyUrl` serialisation (same `url` crate): lowercase scheme and host,
/// `/` after a bare host, percent-encoding. `None` if the text is not a URL.
pub fn normalize_url(text: &str) -> Option<String> {
    url::Url::parse(text).ok().map(String::from)
}

/// Removes from `new` every `null` whose key is absent at the same place in `old`, so that
/// a file written by an older model keeps its shape until a change really sets the key.
pub fn keep_absent(new: &mut Value, old: &Value) {
    match (new, old) {
        (Value::Object(new), Value::Object(old)) => {
            new.retain(|key, value| !value.is_null() || old.contains_key(key));
            for (key, value) in new.iter_mut() {
                if let Some(old_value) = old.get(key) {
                    keep_absent(value, old_value);
                }
            }
        }
        (Value::Array(new), Value::Array(old)) => {
            for (new_item, old_item) in new.iter_mut().zip(old) {
                keep_absent(new_item, old_item);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

/// Checks a stored entity or relationship document (without computed fields):
/// required fields, enums, at least one PRIMARY name, dates, grammar of embedded IDs.
pub fn validate(model: Model<'_>, doc: &Value) -> Result<(), Vec<Violation>> {
    let mut out = Vec::new();
    match doc.as_object() {
        None => violation(&mut out, "", "document must be a JSON object"),
        Some(obj) => {
            if let Model::Entity {
                entity_type,
                sub_type,
            } = model
            {
                check_entity_kind(entity_type, sub_type, obj, &mut out);
            }
            let known_type = match model {
                Model::Entity { entity_type, .. } => subtypes(entity_type).is_some(),
                Model::Relationship => true,
            };
            if known_type {
                validate_fields(&model_fields(model), false, obj, "", &mut out);
            }
            match model {
                Model::Entity { .. } => check_primary_name(obj, &mut out),
                Model::Relationship => check_date_order(obj, &mut out),
            }
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

fn violation(out: &mut Vec<Violation>, path: &str, message: impl Into<String>) {
    out.push(Violation {
        path: path.to_string(),
        message: message.into(),
    });
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn validate_fields(
    fields: &[&Field],
    allow_extra: bool,
    obj: &Map<String, Value>,
    path: &str,
    out: &mut Vec<Violation>,
) {
    for field in fields {
        match (obj.get(field.name), field.presence) {
            (None, Presence::Required | Presence::RequiredNullable) => {
                violation(out, &join(path, field.name), "required field is missing")
            }
            (Some(Value::Null), Presence::Required) => {
                violation(out, &join(path, field.name), "required field is null")
            }
            (None | Some(Value::Null), _) => {}
            (Some(value), _) => validate_value(field.kind, value, path, field.name, out),
        }
    }
    if !allow_extra {
        for key in obj
            .keys()
            .filter(|k| !fields.iter().any(|f| f.name == k.as_str()))
        {
            violation(
                out,
                &join(path, key),
                "unknown field (the model forbids extra fields)",
            );
        }
    }
}

fn validate_spec(spec: &Spec, value: &Value, path: &str, out: &mut Vec<Violation>) {
    let Some(obj) = value.as_object() else {
        return violation(
            out,
            path,
            format!("expected an object, found {}", type_name(value)),
        );
    };
    let fields: Vec<&Field> = spec.fields.iter().collect();
    validate_fields(&fields, spec.allow_extra, obj, path, out);
    if let Some(check) = spec.check {
        check(obj, path, out);
    }
}

/// Checks the value of field `name` of the object at `parent`. The field's path is built
/// only for a nested value or a violation: building it for every field was a tenth of a
/// migration's JSON work.
fn validate_value(kind: Kind, value: &Value, parent: &str, name: &str, out: &mut Vec<Violation>) {
    let path = || join(parent, name);
    let expect = |out: &mut Vec<Violation>, what: &str| {
        violation(
            out,
            &path(),
            format!("expected {what}, found {}", type_name(value)),
        );
    };
    match kind {
        Kind::Nested(spec) => validate_spec(spec, value, &path(), out),
        Kind::List(spec) => match value.as_array() {
            Some(items) => {
                let path = path();
                for (i, item) in items.iter().enumerate() {
                    validate_spec(spec, item, &format!("{path}[{i}]"), out);
                }
            }
            None => expect(out, "a list"),
        },
        Kind::StrList => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_string() {
                        let at = format!("{}[{i}]", path());
                        violation(out, &at, format!("expected a string, found {}", type_name(item)));
                    }
                }
            }
            None => expect(out, "a list of strings"),
        },
        Kind::Int if !(value.is_i64() || value.is_u64()) => expect(out, "an integer"),
        Kind::Float if !value.is_number() => expect(out, "a number"),
        Kind::Bool if !value.is_boolean() => expect(out, "a boolean"),
        Kind::FreeObject if !value.is_object() => expect(out, "an object"),
        Kind::Int | Kind::Float | Kind::Bool | Kind::FreeObject => {}
        _ => match value.as_str() {
            Some(s) => {
                if let Some(problem) = text_problem(kind, s) {
                    violation(out, &path(), problem);
                }
            }
            None => expect(out, "a string"),
        },
    }
}

/// What is wrong with a string of one of the string kinds, if anything.
fn text_problem(kind: Kind, s: &str) -> Option<String> {
    match kind {
        Kind::NonEmptyStr if s.is_empty() => Some("must not be empty".to_string()),
        Kind::Date if parse_date(s).is_none() => Some(format!("`{s}` is not a YYYY-MM-DD date")),
        Kind::DateTime if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
            Some(format!("`{s}` is not an RFC 3339 timestamp"))
        }
        Kind::Url if url::Url::parse(s).is_err() => Some(format!("`{s}` is not a URL")),
        Kind::Slug => validate_slug(s).err().map(|e| e.rule),
        Kind::Enum(allowed) if !allowed.contains(&s) => {
            Some(format!("`{s}` is not one of {}", allowed.join(", ")))
        }
        Kind::EntityRef(wanted) => match EntityId::parse(s) {
            Err(e) => Some(e.rule),
            Ok(id) => wanted
                .filter(|t| id.entity_type != *t)
                .map(|t| format!("`{s}` must be a {t} entity ID")),
        },
        Kind::ObjectRef => ObjectId::parse(s).err().map(|e| e.rule),
        _ => None,
    }
}

fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let shaped = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    shaped
        .then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `type` and `sub_type` agree with the model and with each other.
fn check_entity_kind(
    entity_type: &str,
    sub_type: Option<&str>,
    obj: &Map<String, Value>,
    out: &mut Vec<Violation>,
) {
    let Some(allowed) = subtypes(entity_type) else {
        let known = ENTITY_TYPES.join(", ");
        return violation(
            out,
            "type",
            format!("unknown entity type `{entity_type}`; expected one of {known}"),
        );
    };
    if let Some(found) = obj.get("type").and_then(Value::as_str) {
        if found != entity_type {
            violation(
                out,
                "type",
                format!("`{found}` does not match the model's type `{entity_type}`"),
            );
        }
    }
    match obj.get("sub_type") {
        None | Some(Value::Null) if sub_type.is_some() => {
            violation(
                out,
                "sub_type",
                format!(
                    "missing; the model's subtype is `{}`",
                    sub_type.unwrap_or_default()
                ),
            );
        }
        None | Some(Value::Null) => {}
        Some(Value::String(found)) => {
            if allowed.is_empty() {
                violation(
                    out,
                    "sub_type",
                    format!("type `{entity_type}` takes no subtype, found `{found}`"),
                );
            } else if !allowed.contains(&found.as_str()) {
                let list = allowed.join(", ");
                let msg = format!(
                    "subtype `{found}` is not allowed for type `{entity_type}`; expected one of {list}"
                );
                violation(out, "sub_type", msg);
            } else if sub_type != Some(found.as_str()) {
                let msg = format!("`{found}` does not match the model's subtype {sub_type:?}");
                violation(out, "sub_type", msg);
            }
        }
        Some(other) => violation(
            out,
            "sub_type",
            format!("expected a string or null, found {}", type_name(other)),
        ),
    }
}

fn check_primary_name(obj: &Map<String, Value>, out: &mut Vec<Violation>) {
    let Some(names) = obj.get("names").and_then(Value::as_array) else {
        return; // reported by the field table
    };
    let primary = names
        .iter()
        .any(|n| n.get("kind").and_then(Value::as_str) == Some("PRIMARY"));
    if !primary {
        violation(out, "names", "at least one name must have kind PRIMARY");
    }
}

fn check_name(obj: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
    let set = |key| obj.get(key).is_some_and(|v| !v.is_null());
    if !set("en") && !set("ne") {
        violation(out, path, "a name needs `en` or `ne`");
    }
}

fn check_position(obj: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
    if let Some(description) = obj.get("description").and_then(Value::as_str) {
        let len = description.chars().count();
        if len > 200 {
            violation(
                out,
                &join(path, "description"),
                format!("{len} characters; at most 200"),
            );
        }
    }
}

fn check_contact(obj: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
    let (Some(kind), Some(value)) = (
        obj.get("type").and_then(Value::as_str),
        obj.get("value").and_then(Value::as_str),
    ) else {
        return;
    };
    let problem = match kind {
        "PHONE" | "WHATSAPP" if !is_e164(value) => Some("must be an E.164 number like +9779812345678"),
        "URL" | "TWITTER" | "FACEBOOK" | "INSTAGRAM" | "LINKEDIN"
            if !(value.starts_with("http://") || value.starts_with("https://")) =>
        {
            Some("must start with http:// or https://")
        }
        "EMAIL" if !is_email(value) => Some("is not an email address"),
        _ => None,
    };
    if let Some(problem) = problem {
        violation(out, &join(path, "value"), format!("`{value}` {problem}"));
    }
}

/// `^\+[1-9]\d{1,14}$`.
fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// `local@domain.tld`, no whitespace, one `@`.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let clean = |part: &str| !part.is_empty() && !part.contains(['@', ' ', '\t', '\n', '\r']);
    let dotted = domain
        .rsplit_once('.')
        .is_some_and(|(host, tld)| !host.is_empty() && !tld.is_empty());
    clean(local) && clean(domain) && dotted
}

/// A relationship must not end before it starts.
fn check_date_order(obj: &Map<String, Value>, out: &mut Vec<Violation>) {
    let date = |key| obj.get(key).and_then(Value::as_str).and_then(parse_date);
    if let (Some(start), Some(end)) = (date("start_date"), date("end_date")) {
        if end < start {
            violation(out, "end_date", format!("{end} is before start_date {start}"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Computed fields and references
// ---------------------------------------------------------------------------------------

/// Computed fields that appear only in snapshots (besides `id` and `version_summary.id`):
/// for locations `location_type` and `administrative_level`.
pub fn computed_fields(model: Model<'_>) -> Vec<(&'static str, Value)> {
    match model {
        Model::Entity {
            entity_type: "location",
            sub_type,
        } => {
            let level = sub_type
                .and_then(administrative_level)
                .map_or(Value::Null, Value::from);
            vec![
                ("location_type", sub_type.map_or(Value::Null, Value::from)),
                ("administrative_level", level),
            ]
        }
        _ => Vec::new(),
    }
}

/// Administrative level of a location subtype; `None` for constituencies.
pub fn administrative_level(sub_type: &str) -> Option<u64> {
    match sub_type {
        "province" => Some(1),
        "district" => Some(2),
        "metropolitan_city" | "sub_metropolitan_city" | "municipality" | "rural_municipality" => Some(3),
        "ward" => Some(4),
        _ => None,
    }
}

/// Keys whose string values are entity IDs, wherever they occur in a document.
const REFERENCE_KEYS: &[&str] = &[
    "parent",
    "location_id",
    "constituency_id",
    "party_id",
    "source_entity_id",
    "target_entity_id",
];

/// Entity IDs a document refers to, with the JSON path of each reference:
/// `parent`, address `location_id`s, candidacy `constituency_id`/`party_id`,
/// relationship `source_entity_id`/`target_entity_id`.
pub fn references(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_references(doc, "", &mut out);
    out
}

fn collect_references(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(obj) => {
            for (key, child) in obj {
                // Free-form and bookkeeping parts may hold look-alike keys that are not references.
                if matches!(key.as_str(), "attributes" | "version_summary" | "raw_payload") {
                    continue;
                }
                // Paths are built only where a reference can be: most keys hold scalars.
                match child {
                    Value::String(id) if REFERENCE_KEYS.contains(&key.as_str()) => {
                        out.push((join(path, key), id.clone()))
                    }
                    Value::Object(_) | Value::Array(_) => collect_references(child, &join(path, key), out),
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if matches!(item, Value::Object(_) | Value::Array(_)) {
                    collect_references(item, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const WARD: Model<'static> = Model::Entity {
        entity_type: "location",
        sub_type: Some("ward"),
    };

    /// A minimal valid ward, as stored (no computed fields).
    fn ward() -> Value {
        let mut doc = json!({
            "slug": "foo-ward-1",
            "type": "location",
            "sub_type": "ward",
            "created_at": "2025-11-14T01:22:11.748777Z",
            "names": [{"kind": "PRIMARY", "en": {"full": "Foo - Ward 1"}}],
            "parent": "entity:location/rural_municipality/foo",
            "version_summary": {
                "author": {"id": "author:damodar-dahal", "name": "Damodar Dahal", "slug": "damodar-dahal"},
                "change_description": "Add wards.",
                "created_at": "2025-11-14T01:22:11.748416Z",
                "entity_or_relationship_id": "entity:location/ward/foo-ward-1",
                "type": "ENTITY",
                "version_number": 1
            }
        });
        complete(WARD, &mut doc);
        doc
    }

    /// The messages of all violations, as `path: message`.
    fn violations(model: Model<'_>, doc: &Value) -> Vec<String> {
        validate(model, doc)
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn assert_rejects(model: Model<'_>, doc: &Value, want: &str) {
        let found = violations(model, doc);
        assert!(
            found.iter().any(|v| v.contains(want)),
            "expected `{want}` among {found:?}"
        );
    }

    #[test]
    fn completed_ward_is_valid_and_fully_shaped() {
        let doc = ward();
        assert_eq!(validate(WARD, &doc), Ok(()));
        let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
        let want = [
            "area",
            "attributes",
            "attributions",
            "contacts",
            "created_at",
            "description",
            "identifiers",
            "lat",
            "lng",
            "misspelled_names",
            "names",
            "parent",
            "pictures",
            "short_description",
            "slug",
            "sub_type",
            "tags",
            "type",
            "version_summary",
        ];
        assert_eq!(keys, want);
        let en = &doc["names"][0]["en"];
        assert_eq!(en["given"], Value::Null);
        assert_eq!(doc["names"][0]["ne"], Value::Null);
    }

    #[test]
    fn complete_fills_caller_keys_defaults_and_urls() {
        let mut doc = json!({"identifiers": [{"scheme": "website", "value": "https://www.ddcmorang.gov.np",
                                              "url": "HTTPS://WWW.DDCMorang.gov.np"}]});
        complete(
            Model::Entity {
                entity_type: "organization",
                sub_type: None,
            },
            &mut doc,
        );
        for key in ["slug", "type", "sub_type", "created_at", "version_summary"] {
            assert_eq!(doc[key], Value::Null, "{key}");
        }
        let identifier = &doc["identifiers"][0];
        assert_eq!(identifier["url"], "https://www.ddcmorang.gov.np/");
        assert_eq!(
            identifier["value"], "https://www.ddcmorang.gov.np",
            "value is a plain string"
        );
        assert_eq!(identifier["name"], Value::Null);

        let mut project = json!({});
        complete(
            Model::Entity {
                entity_type: "project",
                sub_type: None,
            },
            &mut project,
        );
        assert_eq!(project["sub_type"], "development_project");
        assert_eq!(project["stage"], "unknown");
        assert_eq!(project["tags"], Value::Null);
    }

    #[test]
    fn complete_recurses_into_lists_and_subtype_fields() {
        let party = Model::Entity {
            entity_type: "organization",
            sub_type: Some("political_party"),
        };
        let mut doc = json!({"address": {"location_id": "entity:location/district/kaski"},
                             "attributions": [{"title": {"en": {"value": "x"}}}]});
        complete(party, &mut doc);
        assert_eq!(
            doc["address"],
            json!({"description": null, "description2": null,
                                          "location_id": "entity:location/district/kaski"})
        );
        assert_eq!(doc["attributions"][0]["details"], Value::Null);
        assert_eq!(doc["attributions"][0]["title"]["en"]["provenance"], Value::Null);
        assert_eq!(doc["registration_date"], Value::Null);
    }

    #[test]
    fn keep_absent_restores_old_shapes() {
        let old = json!({"a": 1, "list": [{"x": 1}], "nested": {"y": 2}});
        let mut new = json!({"a": 1, "b": null, "c": 3, "list": [{"x": 1, "name": null}, {"z": null}],
                             "nested": {"y": 2, "d": null}});
        keep_absent(&mut new, &old);
        assert_eq!(
            new,
            json!({"a": 1, "c": 3, "list": [{"x": 1}, {"z": null}], "nested": {"y": 2}})
        );
    }

    #[test]
    fn rejects_unknown_type() {
        let model = Model::Entity {
            entity_type: "animal",
            sub_type: None,
        };
        assert_rejects(model, &ward(), "type: unknown entity type `animal`");
    }

    #[test]
    fn rejects_bad_subtype() {
        let mut doc = ward();
        doc["sub_type"] = json!("party");
        assert_rejects(
            WARD,
            &doc,
            "sub_type: subtype `party` is not allowed for type `location`",
        );
        let person = Model::Entity {
            entity_type: "person",
            sub_type: None,
        };
        doc["type"] = json!("person");
        doc["sub_type"] = json!("ward");
        assert_rejects(
            person,
            &doc,
            "sub_type: type `person` takes no subtype, found `ward`",
        );
    }

    #[test]
    fn rejects_missing_primary_name() {
        let mut doc = ward();
        doc["names"][0]["kind"] = json!("ALIAS");
        assert_eq!(
            violations(WARD, &doc),
            ["names: at least one name must have kind PRIMARY"]
        );
        doc["names"] = json!([]);
        assert_eq!(
            violations(WARD, &doc),
            ["names: at least one name must have kind PRIMARY"]
        );
    }

    #[test]
    fn rejects_bad_enum() {
        let mut doc = ward();
        doc["names"][0]["kind"] = json!("NICKNAME");
        assert_rejects(
            WARD,
            &doc,
            "names[0].kind: `NICKNAME` is not one of PRIMARY, ALIAS, ALTERNATE, BIRTH_NAME",
        );
    }

    #[test]
    fn rejects_bad_dates() {
        let party = Model::Entity {
            entity_type: "organization",
            sub_type: Some("political_party"),
        };
        let mut doc = ward();
        doc["type"] = json!("organization");
        doc["sub_type"] = json!("political_party");
        doc.as_object_mut()
            .unwrap()
            .retain(|k, _| !["parent", "area", "lat", "lng"].contains(&k.as_str()));
        complete(party, &mut doc);
        assert_eq!(validate(party, &doc), Ok(()));
        for bad in ["2079-13-01", "2025-2-1", "01-02-2025", "2025-02-30"] {
            doc["registration_date"] = json!(bad);
            assert_rejects(
                party,
                &doc,
                &format!("registration_date: `{bad}` is not a YYYY-MM-DD date"),
            );
        }
        doc["created_at"] = json!("yesterday");
        assert_rejects(
            party,
            &doc,
            "created_at: `yesterday` is not an RFC 3339 timestamp",
        );
    }

    #[test]
    fn reports_every_violation() {
        let mut doc = ward();
        doc["names"] = json!([{"kind": "NICK"}, {"en": {"full": "x"}}]);
        doc["slug"] = json!("X");
        doc["parent"] = json!("entity:place/x-y");
        doc["id"] = json!("entity:location/ward/foo-ward-1");
        doc["version_summary"]["id"] = json!("version:entity:location/ward/foo-ward-1:1");
        doc.as_object_mut().unwrap().remove("created_at");
        let found = violations(WARD, &doc);
        for want in [
            "slug: character 'X' is not allowed",
            "names[0].kind: `NICK` is not one of",
            "names[0]: a name needs `en` or `ne`",
            "names[1].kind: required field is missing",
            "names: at least one name must have kind PRIMARY",
            "parent: unknown entity type `place`",
            "id: unknown field",
            "version_summary.id: unknown field",
            "created_at: required field is missing",
        ] {
            assert!(
                found.iter().any(|v| v.contains(want)),
                "expected `{want}` among {found:?}"
            );
        }
        assert_eq!(found.len(), 9, "{found:?}");
    }

    #[test]
    fn nested_rules() {
        let person = Model::Entity {
            entity_type: "person",
            sub_type: None,
        };
        let mut doc = ward();
        doc["type"] = json!("person");
        doc["sub_type"] = Value::Null;
        doc.as_object_mut()
            .unwrap()
            .retain(|k, _| !["parent", "area", "lat", "lng"].contains(&k.as_str()));
        doc["contacts"] = json!([
            {"type": "PHONE", "value": "+9779812345678"},
            {"type": "PHONE", "value": "9812345678"},
            {"type": "EMAIL", "value": "a@b"},
            {"type": "FACEBOOK", "value": "facebook.com/x"}
        ]);
        doc["personal_details"] = json!({"citizenship_place": {"location_id": "entity:person/abc"},
                                         "positions": [{"title": {"en": {"value": "x"}}, "description": "d".repeat(201)}]});
        doc["electoral_details"] = json!({"candidacies": [{"election_year": 2079, "election_type": "federal",
            "constituency_id": "entity:location/constituency/acham-1", "candidate_id": "12",
            "symbol": {"symbol_name": {"en": null, "ne": null}}}]});
        doc["attributions"] = json!([{"title": {"en": null, "ne": null}}]);
        let found = violations(person, &doc);
        for want in [
            "contacts[1].value: `9812345678` must be an E.164 number",
            "contacts[2].value: `a@b` is not an email address",
            "contacts[3].value: `facebook.com/x` must start with http:// or https://",
            "personal_details.citizenship_place.location_id: `entity:person/abc` must be a location entity ID",
            "personal_details.positions[0].description: 201 characters; at most 200",
            "electoral_details.candidacies[0].candidate_id: expected an integer, found a string",
            "electoral_details.candidacies[0].symbol.nec_id: required field is missing",
            "attributions[0].details: required field is missing",
        ] {
            assert!(found.iter().any(|v| v.contains(want)), "expected `{want}` among {found:?}");
        }
        assert_eq!(found.len(), 8, "{found:?}");
    }

    #[test]
    fn relationships() {
        let mut doc = json!({
            "source_entity_id": "entity:person/ram-bahadur",
            "target_entity_id": "entity:organization/political_party/foo-party",
            "type": "MEMBER_OF",
            "start_date": "2020-01-01",
            "end_date": "2019-12-31",
            "attributions": ["a source"]
        });
        complete(Model::Relationship, &mut doc);
        assert_eq!(doc["version_summary"], Value::Null);
        assert_eq!(
            violations(Model::Relationship, &doc),
            ["end_date: 2019-12-31 is before start_date 2020-01-01"]
        );
        doc["end_date"] = json!("2020-01-01");
        assert_eq!(validate(Model::Relationship, &doc), Ok(()));
        doc["type"] = json!("LIKES");
        assert_rejects(
            Model::Relationship,
            &doc,
            "type: `LIKES` is not one of AFFILIATED_WITH",
        );
        let refs = references(&doc);
        assert_eq!(
            refs,
            [
                (
                    "source_entity_id".to_string(),
                    "entity:person/ram-bahadur".to_string()
                ),
                (
                    "target_entity_id".to_string(),
                    "entity:organization/political_party/foo-party".to_string()
                ),
            ]
        );
    }

    #[test]
    fn computed_location_fields() {
        let level = |sub: Option<&'static str>| {
            computed_fields(Model::Entity {
                entity_type: "location",
                sub_type: sub,
            })
        };
        assert_eq!(
            level(Some("ward")),
            [
                ("location_type", json!("ward")),
                ("administrative_level", json!(4))
            ]
        );
        assert_eq!(level(Some("province"))[1].1, json!(1));
        assert_eq!(level(Some("district"))[1].1, json!(2));
        for city in [
            "metropolitan_city",
            "sub_metropolitan_city",
            "municipality",
            "rural_municipality",
        ] {
            assert_eq!(level(Some(city))[1].1, json!(3), "{city}");
        }
        assert_eq!(level(Some("constituency"))[1].1, Value::Null);
        assert_eq!(
            level(None),
            [
                ("location_type", Value::Null),
                ("administrative_level", Value::Null)
            ]
        );
        assert!(computed_fields(Model::Entity {
            entity_type: "person",
            sub_type: None
        })
        .is_empty());
        assert!(computed_fields(Model::Relationship).is_empty());
    }

    #[test]
    fn references_of_a_person() {
        let doc = json!({
            "attributes": {"parent": "entity:not/a-reference"},
            "personal_details": {"address": {"location_id": "entity:location/district/kaski"}, "birth_place": null},
            "electoral_details": {"candidacies": [{"constituency_id": "entity:location/constituency/kaski-1",
                                                   "party_id": "entity:organization/political_party/foo"}]},
            "version_summary": {"entity_or_relationship_id": "entity:person/abc"}
        });
        let paths: Vec<String> = references(&doc).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "electoral_details.candidacies[0].constituency_id",
                "electoral_details.candidacies[0].party_id",
                "personal_details.address.location_id",
            ]
        );
    }
}
