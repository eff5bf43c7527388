//! The field tables: every declared field of every model and nested model, with what it
//! holds and whether it must be there. Data only; completion and validation read it.

use serde_json::{Map, Value};

// Nested models name their extra checks; the checks themselves are validation.
use super::validate::{check_contact, check_name, check_position};
use super::{Model, Violation, ENTITY_TYPES, RELATIONSHIP_TYPES};

/// What a field holds; drives completion and validation.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
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
pub(super) enum Presence {
    Optional,
    /// Present and non-null.
    Required,
    /// Present, possibly null (pydantic's required `Optional[...]`).
    RequiredNullable,
}

/// One declared field of a model.
#[derive(Debug)]
pub(super) struct Field {
    pub(super) name: &'static str,
    pub(super) kind: Kind,
    pub(super) presence: Presence,
    /// What completion writes for an absent key, instead of `null`.
    pub(super) default: Option<&'static str>,
}

pub(super) const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        presence: Presence::Optional,
        default: None,
    }
}

pub(super) const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        presence: Presence::Required,
        ..opt(name, kind)
    }
}

pub(super) const fn req_nullable(name: &'static str, kind: Kind) -> Field {
    Field {
        presence: Presence::RequiredNullable,
        ..opt(name, kind)
    }
}

pub(super) const fn defaulted(name: &'static str, kind: Kind, default: &'static str) -> Field {
    Field {
        default: Some(default),
        ..opt(name, kind)
    }
}

/// Extra checks of a model beyond its field table: `(object, path, violations)`.
pub(super) type Check = fn(&Map<String, Value>, &str, &mut Vec<Violation>);

/// A nested model: its fields, whether it tolerates unknown keys, and extra checks.
#[derive(Debug)]
pub(super) struct Spec {
    pub(super) fields: &'static [Field],
    pub(super) allow_extra: bool,
    pub(super) check: Option<Check>,
}

pub(super) const NAME_KINDS: &[&str] = &["PRIMARY", "ALIAS", "ALTERNATE", "BIRTH_NAME"];
pub(super) const PROVENANCES: &[&str] = &["human", "llm", "translation_service", "imported"];
pub(super) const IDENTIFIER_SCHEMES: &[&str] = &[
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
pub(super) const CONTACT_TYPES: &[&str] = &[
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
pub(super) const PICTURE_TYPES: &[&str] = &["thumb", "full", "wide"];
pub(super) const GENDERS: &[&str] = &["male", "female", "other"];
pub(super) const ELECTION_TYPES: &[&str] = &["federal", "provincial", "local", "ward"];
pub(super) const POSITIONS: &[&str] = &[
    "federal_parliament",
    "provincial_assembly",
    "mayor",
    "deputy_mayor",
    "ward_chairperson",
    "ward_member",
    "dalit_female_member",
    "female_member",
];
pub(super) const GOVERNMENT_TYPES: &[&str] = &["federal", "provincial", "local", "other", "unknown"];
pub(super) const OWNERSHIPS: &[&str] = &["Private", "Public", "Government"];
pub(super) const PROJECT_STAGES: &[&str] = &[
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
pub(super) const VERSION_TYPES: &[&str] = &["ENTITY", "RELATIONSHIP"];

pub(super) static NAME_PARTS: Spec = Spec {
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

pub(super) static NAME: Spec = Spec {
    fields: &[
        req("kind", Kind::Enum(NAME_KINDS)),
        opt("en", Kind::Nested(&NAME_PARTS)),
        opt("ne", Kind::Nested(&NAME_PARTS)),
    ],
    allow_extra: false,
    check: Some(check_name),
};

pub(super) static LANG_TEXT_VALUE: Spec = Spec {
    fields: &[
        req("value", Kind::Str),
        opt("provenance", Kind::Enum(PROVENANCES)),
    ],
    allow_extra: false,
    check: None,
};

pub(super) static LANG_TEXT: Spec = Spec {
    fields: &[
        opt("en", Kind::Nested(&LANG_TEXT_VALUE)),
        opt("ne", Kind::Nested(&LANG_TEXT_VALUE)),
    ],
    allow_extra: false,
    check: None,
};

pub(super) static EXTERNAL_IDENTIFIER: Spec = Spec {
    fields: &[
        req("scheme", Kind::Enum(IDENTIFIER_SCHEMES)),
        opt("name", Kind::Nested(&LANG_TEXT)),
        req("value", Kind::NonEmptyStr),
        opt("url", Kind::Url),
    ],
    allow_extra: true,
    check: None,
};

pub(super) static CONTACT: Spec = Spec {
    fields: &[req("type", Kind::Enum(CONTACT_TYPES)), req("value", Kind::Str)],
    allow_extra: false,
    check: Some(check_contact),
};

pub(super) static ADDRESS: Spec = Spec {
    fields: &[
        opt("location_id", Kind::EntityRef(Some("location"))),
        opt("description2", Kind::Nested(&LANG_TEXT)),
        opt("description", Kind::Str),
    ],
    allow_extra: false,
    check: None,
};

pub(super) static ENTITY_PICTURE: Spec = Spec {
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

pub(super) static ATTRIBUTION: Spec = Spec {
    fields: &[
        req("title", Kind::Nested(&LANG_TEXT)),
        req_nullable("details", Kind::Nested(&LANG_TEXT)),
    ],
    allow_extra: false,
    check: None,
};

pub(super) static AUTHOR: Spec = Spec {
    fields: &[opt("name", Kind::Str), req("slug", Kind::Slug)],
    // The embedded copy carries the computed `id`; upstream ignores unknown keys here.
    allow_extra: true,
    check: None,
};

pub(super) static VERSION_SUMMARY: Spec = Spec {
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

pub(super) static EDUCATION: Spec = Spec {
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

pub(super) static POSITION: Spec = Spec {
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

pub(super) static PERSONAL_DETAILS: Spec = Spec {
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

pub(super) static CANDIDACY_SYMBOL: Spec = Spec {
    fields: &[
        req("symbol_name", Kind::Nested(&LANG_TEXT)),
        req_nullable("nec_id", Kind::Int),
        opt("url", Kind::Url),
    ],
    allow_extra: false,
    check: None,
};

pub(super) static CANDIDACY: Spec = Spec {
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

pub(super) static ELECTORAL_DETAILS: Spec = Spec {
    fields: &[opt("candidacies", Kind::List(&CANDIDACY))],
    allow_extra: false,
    check: None,
};

pub(super) static PARTY_SYMBOL: Spec = Spec {
    fields: &[opt("name", Kind::Nested(&LANG_TEXT))],
    allow_extra: false,
    check: None,
};

// Project nested models exist only in upstream HEAD code and in no data file; their
// fields come from the 007 source records, so they tolerate keys we do not know.
pub(super) static FINANCING_TERMS: Spec = Spec {
    fields: &[
        opt("grace_period_years", Kind::Int),
        opt("interest_rate", Kind::Float),
        opt("repayment_period_years", Kind::Int),
        opt("tying_status", Kind::Str),
    ],
    allow_extra: true,
    check: None,
};

pub(super) static FINANCING_COMMITMENT: Spec = Spec {
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

pub(super) static PROJECT_DATE: Spec = Spec {
    fields: &[
        opt("date", Kind::Date),
        opt("type", Kind::Str),
        opt("source", Kind::Str),
    ],
    allow_extra: true,
    check: None,
};

pub(super) static SECTOR_MAPPING: Spec = Spec {
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

pub(super) static DONOR_EXTENSION: Spec = Spec {
    fields: &[
        opt("donor", Kind::Str),
        opt("donor_project_id", Kind::Str),
        opt("raw_payload", Kind::FreeObject),
    ],
    allow_extra: true,
    check: None,
};

pub(super) static PROJECT_TAG: Spec = Spec {
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
pub(super) static ENTITY_FIELDS: &[Field] = &[
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

pub(super) static PERSON_FIELDS: &[Field] = &[
    opt("personal_details", Kind::Nested(&PERSONAL_DETAILS)),
    opt("electoral_details", Kind::Nested(&ELECTORAL_DETAILS)),
];

pub(super) static LOCATION_FIELDS: &[Field] = &[
    opt("parent", Kind::EntityRef(None)),
    opt("area", Kind::Float),
    opt("lat", Kind::Float),
    opt("lng", Kind::Float),
];

pub(super) static POLITICAL_PARTY_FIELDS: &[Field] = &[
    opt("address", Kind::Nested(&ADDRESS)),
    opt("party_chief", Kind::Nested(&LANG_TEXT)),
    opt("registration_date", Kind::Date),
    opt("symbol", Kind::Nested(&PARTY_SYMBOL)),
];

pub(super) static GOVERNMENT_BODY_FIELDS: &[Field] = &[opt("government_type", Kind::Enum(GOVERNMENT_TYPES))];

pub(super) static HOSPITAL_FIELDS: &[Field] = &[
    opt("beds", Kind::Int),
    opt("services", Kind::StrList),
    opt("ownership", Kind::Enum(OWNERSHIPS)),
    opt("address", Kind::Nested(&ADDRESS)),
];

/// Project fields; `sub_type` and `tags` override the base entity's.
pub(super) static PROJECT_FIELDS: &[Field] = &[
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

pub(super) static RELATIONSHIP_FIELDS: &[Field] = &[
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
pub(super) fn model_fields(model: Model<'_>) -> Vec<&'static Field> {
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
