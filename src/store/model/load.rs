//! Reading `model/nes.toml` into the tables the rest of the model module works from, and
//! refusing a description that is wrong, naming the entry. `build.rs` runs the same code at
//! build time, so this file uses nothing but `std`, `serde` and `toml`.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

/// A field's value type (see the header of `model/nes.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Str,
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
    /// Any JSON object (`attributes`, raw payloads).
    FreeObject,
    /// An entity ID, optionally of one entity type.
    EntityRef(Option<String>),
    /// An entity or relationship ID.
    ObjectRef,
    /// A registered entity prefix.
    EntityPrefix,
    /// Index into [`Description::enums`].
    Enum(usize),
    /// Index into [`Description::kinds`].
    Kind(usize),
    List(Box<Type>),
}

/// Whether a field's key and value must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Optional,
    /// Present and non-null.
    Required,
    /// Present, possibly null (pydantic's required `Optional[...]`).
    RequiredNullable,
}

/// Rules beyond single fields, named by a kind's `checks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A name needs `en` or `ne`.
    EnOrNe,
    /// A contact's value fits its type (E.164 phones, http(s) URLs, emails).
    ContactValue,
    /// At least one name of kind PRIMARY.
    PrimaryName,
    /// `entity_prefix` is registered and starts with `type`; `type/sub_type` is registered
    /// when there is no prefix.
    EntityPrefix,
    /// `end_date` is not before `start_date`.
    DateOrder,
}

const CHECKS: &[(&str, Check)] = &[
    ("en_or_ne", Check::EnOrNe),
    ("contact_value", Check::ContactValue),
    ("primary_name", Check::PrimaryName),
    ("entity_prefix", Check::EntityPrefix),
    ("date_order", Check::DateOrder),
];

/// One declared field of a kind.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: Type,
    pub presence: Presence,
    /// What a new document gets for an absent key, instead of `null`.
    pub default: Option<String>,
    /// With `default`: the only value allowed.
    pub fixed: bool,
    /// In characters.
    pub max_length: Option<usize>,
}

/// A snapshot-only field computed from another field's value.
#[derive(Debug, Clone)]
pub struct Computed {
    pub name: String,
    pub from: String,
    /// Value of `from` → computed integer; `None`: the value of `from` itself.
    pub map: Option<BTreeMap<String, i64>>,
}

/// A document or nested model: its fields (inherited ones included), what it does with
/// unknown keys and its extra checks.
#[derive(Debug, Clone)]
pub struct KindDef {
    pub name: String,
    pub fields: Vec<Field>,
    pub allow_extra: bool,
    pub checks: Vec<Check>,
    /// The `type` its documents carry (entity kinds only).
    pub entity_type: Option<String>,
    pub computed: Vec<Computed>,
    pub extends: Option<String>,
}

impl KindDef {
    /// The declared field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A named list of allowed strings.
#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    pub values: Vec<String>,
}

/// The whole model, as `model/nes.toml` describes it.
#[derive(Debug, Clone)]
pub struct Description {
    pub max_prefix_depth: usize,
    /// Inclusive character ranges a slug may use.
    pub slug_charset: Vec<(char, char)>,
    pub slug_charset_text: String,
    pub slug_min_length: usize,
    pub slug_max_length: usize,
    pub relationship_types: usize,
    pub relationship_kind: usize,
    pub author_kind: usize,
    /// Registered prefix → kind index, sorted.
    pub prefixes: BTreeMap<String, usize>,
    pub enums: Vec<EnumDef>,
    pub kinds: Vec<KindDef>,
    kind_index: HashMap<String, usize>,
    enum_index: HashMap<String, usize>,
}

impl Description {
    /// The kind called `name`.
    pub fn kind(&self, name: &str) -> Option<&KindDef> {
        self.kind_index.get(name).map(|&i| &self.kinds[i])
    }

    /// The values of the enum called `name`.
    pub fn enum_values(&self, name: &str) -> Option<&[String]> {
        self.enum_index.get(name).map(|&i| &self.enums[i].values[..])
    }
}

/// A wrong entry of the description: where (`kinds.Person.fields.foo`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub entry: String,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.entry.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.entry, self.message)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    ids: RawIds,
    prefixes: BTreeMap<String, String>,
    enums: BTreeMap<String, Vec<String>>,
    kinds: BTreeMap<String, RawKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIds {
    max_prefix_depth: usize,
    slug_charset: String,
    slug_min_length: usize,
    slug_max_length: usize,
    relationship_types: String,
    relationship_kind: String,
    author_kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKind {
    extends: Option<String>,
    entity_type: Option<String>,
    extra: Option<String>,
    #[serde(default)]
    checks: Vec<String>,
    #[serde(default)]
    fields: BTreeMap<String, RawField>,
    #[serde(default)]
    computed: BTreeMap<String, RawComputed>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawField {
    Short(String),
    Full(RawFullField),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFullField {
    #[serde(rename = "type")]
    ty: String,
    required: Option<RawRequired>,
    default: Option<String>,
    #[serde(default)]
    fixed: bool,
    max_length: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRequired {
    Flag(bool),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComputed {
    from: String,
    map: Option<BTreeMap<String, i64>>,
}

/// Parses and checks a model description; every problem found, each naming its entry.
pub fn load(text: &str) -> Result<Description, Vec<LoadError>> {
    let raw: RawModel = toml::from_str(text).map_err(|e| {
        vec![LoadError {
            entry: String::new(),
            message: e.to_string().trim_end().to_string(),
        }]
    })?;
    Loader::default().build(raw)
}

#[derive(Default)]
struct Loader {
    errors: Vec<LoadError>,
}

impl Loader {
    fn fail(&mut self, entry: impl Into<String>, message: impl Into<String>) {
        self.errors.push(LoadError {
            entry: entry.into(),
            message: message.into(),
        });
    }

    fn build(mut self, raw: RawModel) -> Result<Description, Vec<LoadError>> {
        let enums: Vec<EnumDef> = raw
            .enums
            .into_iter()
            .map(|(name, values)| EnumDef { name, values })
            .collect();
        for e in &enums {
            if e.values.is_empty() {
                self.fail(format!("enums.{}", e.name), "an enum needs at least one value");
            }
            for (i, v) in e.values.iter().enumerate() {
                if e.values[..i].contains(v) {
                    self.fail(format!("enums.{}", e.name), format!("`{v}` is listed twice"));
                }
            }
        }
        let enum_index: HashMap<String, usize> = enums
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        let kind_index: HashMap<String, usize> = raw
            .kinds
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();

        let mut kinds = Vec::new();
        for (name, kind) in &raw.kinds {
            kinds.push(self.kind(name, kind, &raw.kinds, &enums, &enum_index, &kind_index));
        }

        let ids = &raw.ids;
        let slug_charset = self.charset(&ids.slug_charset);
        if ids.slug_min_length == 0 || ids.slug_min_length > ids.slug_max_length {
            self.fail(
                "ids.slug_min_length",
                "must be at least 1 and at most slug_max_length",
            );
        }
        if ids.max_prefix_depth == 0 {
            self.fail("ids.max_prefix_depth", "must be at least 1");
        }
        let relationship_types = self.lookup(
            &enum_index,
            &ids.relationship_types,
            "ids.relationship_types",
            "enum",
        );
        let relationship_kind = self.lookup(
            &kind_index,
            &ids.relationship_kind,
            "ids.relationship_kind",
            "kind",
        );
        let author_kind = self.lookup(&kind_index, &ids.author_kind, "ids.author_kind", "kind");

        let mut prefixes = BTreeMap::new();
        let entity_types = enum_index.get("EntityType").map(|&i| &enums[i].values);
        if entity_types.is_none() {
            self.fail("enums", "the enum `EntityType` (the entity types) is missing");
        }
        for (prefix, kind) in &raw.prefixes {
            let entry = format!("prefixes.\"{prefix}\"");
            let segments: Vec<&str> = prefix.split('/').collect();
            if segments.len() > ids.max_prefix_depth {
                self.fail(
                    &entry,
                    format!(
                        "{} segments; ids.max_prefix_depth allows {}",
                        segments.len(),
                        ids.max_prefix_depth
                    ),
                );
            }
            if let Some(bad) = segments.iter().find(|s| !is_segment(s)) {
                self.fail(
                    &entry,
                    format!("segment `{bad}`: segments are non-empty and use only a-z, 0-9 and `_`"),
                );
            }
            if let Some(types) = entity_types {
                if !types.iter().any(|t| t == segments[0]) {
                    self.fail(
                        &entry,
                        format!("`{}` is not an entity type (enums.EntityType)", segments[0]),
                    );
                }
            }
            let Some(&k) = kind_index.get(kind) else {
                self.fail(&entry, format!("unknown kind `{kind}`"));
                continue;
            };
            match &kinds[k].entity_type {
                Some(t) if t == segments[0] => {}
                Some(t) => self.fail(
                    &entry,
                    format!(
                        "kind `{kind}` holds `{t}` documents, but the prefix starts with `{}`",
                        segments[0]
                    ),
                ),
                None => self.fail(
                    &entry,
                    format!("kind `{kind}` is not an entity kind (no entity_type)"),
                ),
            }
            prefixes.insert(prefix.clone(), k);
        }

        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        Ok(Description {
            max_prefix_depth: ids.max_prefix_depth,
            slug_charset,
            slug_charset_text: ids.slug_charset.clone(),
            slug_min_length: ids.slug_min_length,
            slug_max_length: ids.slug_max_length,
            relationship_types,
            relationship_kind,
            author_kind,
            prefixes,
            enums,
            kinds,
            kind_index,
            enum_index,
        })
    }

    fn lookup(&mut self, index: &HashMap<String, usize>, name: &str, entry: &str, what: &str) -> usize {
        index.get(name).copied().unwrap_or_else(|| {
            self.fail(entry, format!("unknown {what} `{name}`"));
            0
        })
    }

    /// `a-z0-9-` → ranges; a `-` first or last is itself.
    fn charset(&mut self, text: &str) -> Vec<(char, char)> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if i + 2 < chars.len() && chars[i + 1] == '-' {
                if chars[i] > chars[i + 2] {
                    self.fail(
                        "ids.slug_charset",
                        format!("range {}-{} is empty", chars[i], chars[i + 2]),
                    );
                }
                out.push((chars[i], chars[i + 2]));
                i += 3;
            } else {
                out.push((chars[i], chars[i]));
                i += 1;
            }
        }
        if out
            .iter()
            .any(|&(a, b)| a == '/' || b == '/' || (a..=b).contains(&'/') || (a..=b).contains(&'.'))
        {
            self.fail(
                "ids.slug_charset",
                "a slug must not contain `/` or `.` (paths are built from slugs)",
            );
        }
        if out.is_empty() {
            self.fail("ids.slug_charset", "must not be empty");
        }
        out
    }

    fn kind(
        &mut self,
        name: &str,
        kind: &RawKind,
        all: &BTreeMap<String, RawKind>,
        enums: &[EnumDef],
        enum_index: &HashMap<String, usize>,
        kind_index: &HashMap<String, usize>,
    ) -> KindDef {
        let entry = format!("kinds.{name}");
        // The chain from the root ancestor down to this kind; a cycle stops it.
        let mut chain = vec![(name, kind)];
        while let Some(parent) = chain.last().and_then(|(_, k)| k.extends.as_deref()) {
            if chain.iter().any(|(n, _)| *n == parent) {
                self.fail(
                    format!("{entry}.extends"),
                    format!("`{parent}` extends `{name}` again (a cycle)"),
                );
                break;
            }
            match all.get_key_value(parent) {
                Some((n, k)) => chain.push((n.as_str(), k)),
                None => {
                    self.fail(format!("{entry}.extends"), format!("unknown kind `{parent}`"));
                    break;
                }
            }
        }
        chain.reverse();
        let mut def = KindDef {
            name: name.to_string(),
            fields: Vec::new(),
            allow_extra: false,
            checks: Vec::new(),
            entity_type: None,
            computed: Vec::new(),
            extends: kind.extends.clone(),
        };
        for (kind_name, k) in chain {
            let entry = format!("kinds.{kind_name}");
            for (field_name, raw) in &k.fields {
                let field = self.field(
                    &format!("{entry}.fields.{field_name}"),
                    field_name,
                    raw,
                    enums,
                    enum_index,
                    kind_index,
                );
                match def.fields.iter_mut().find(|f| f.name == *field_name) {
                    Some(slot) => *slot = field,
                    None => def.fields.push(field),
                }
            }
            if let Some(extra) = &k.extra {
                def.allow_extra = match extra.as_str() {
                    "forbid" => false,
                    "ignore" => true,
                    other => {
                        self.fail(
                            format!("{entry}.extra"),
                            format!("`{other}`: expected `forbid` or `ignore`"),
                        );
                        false
                    }
                };
            }
            for check in &k.checks {
                match CHECKS.iter().find(|(n, _)| n == check) {
                    Some((_, c)) if !def.checks.contains(c) => def.checks.push(*c),
                    Some(_) => {}
                    None => {
                        let known: Vec<&str> = CHECKS.iter().map(|(n, _)| *n).collect();
                        self.fail(
                            format!("{entry}.checks"),
                            format!("unknown check `{check}`; known: {}", known.join(", ")),
                        );
                    }
                }
            }
            if k.entity_type.is_some() {
                def.entity_type = k.entity_type.clone();
            }
            for (computed, raw) in &k.computed {
                def.computed.push(Computed {
                    name: computed.clone(),
                    from: raw.from.clone(),
                    map: raw.map.clone(),
                });
            }
        }
        for c in &def.computed {
            if def.field(&c.from).is_none() {
                self.fail(
                    format!("{entry}.computed.{}", c.name),
                    format!("`from` names `{}`, which is not a field of {name}", c.from),
                );
            }
            if def.field(&c.name).is_some() {
                self.fail(
                    format!("{entry}.computed.{}", c.name),
                    "a computed field must not also be a field",
                );
            }
        }
        if let Some(t) = &def.entity_type {
            let known = enum_index.get("EntityType").map(|&i| &enums[i].values);
            if known.is_some_and(|k| !k.contains(t)) {
                self.fail(
                    format!("{entry}.entity_type"),
                    format!("`{t}` is not in enums.EntityType"),
                );
            }
        }
        def
    }

    fn field(
        &mut self,
        entry: &str,
        name: &str,
        raw: &RawField,
        enums: &[EnumDef],
        enum_index: &HashMap<String, usize>,
        kind_index: &HashMap<String, usize>,
    ) -> Field {
        let full = match raw {
            RawField::Short(ty) => RawFullField {
                ty: ty.clone(),
                required: None,
                default: None,
                fixed: false,
                max_length: None,
            },
            RawField::Full(f) => RawFullField {
                ty: f.ty.clone(),
                required: match &f.required {
                    None => None,
                    Some(RawRequired::Flag(b)) => Some(RawRequired::Flag(*b)),
                    Some(RawRequired::Word(w)) => Some(RawRequired::Word(w.clone())),
                },
                default: f.default.clone(),
                fixed: f.fixed,
                max_length: f.max_length,
            },
        };
        let ty = self.parse_type(entry, &full.ty, enum_index, kind_index);
        let presence = match &full.required {
            None | Some(RawRequired::Flag(false)) => Presence::Optional,
            Some(RawRequired::Flag(true)) => Presence::Required,
            Some(RawRequired::Word(w)) if w == "nullable" => Presence::RequiredNullable,
            Some(RawRequired::Word(w)) => {
                self.fail(
                    entry,
                    format!("required = \"{w}\": expected true, false or \"nullable\""),
                );
                Presence::Optional
            }
        };
        if full.fixed && full.default.is_none() {
            self.fail(entry, "fixed = true needs a default (the fixed value)");
        }
        if let (Some(default), Type::Enum(e)) = (&full.default, &ty) {
            if !enums[*e].values.contains(default) {
                self.fail(
                    entry,
                    format!("default `{default}` is not a value of enums.{}", enums[*e].name),
                );
            }
        }
        let mut inner = &ty;
        while let Type::List(t) = inner {
            inner = t;
        }
        if let Type::EntityRef(Some(of)) = inner {
            let types = enum_index.get("EntityType").map(|&i| &enums[i].values);
            if types.is_some_and(|t| !t.contains(of)) {
                self.fail(
                    entry,
                    format!("entity_id:{of}: `{of}` is not in enums.EntityType"),
                );
            }
        }
        if full.max_length.is_some() && !matches!(ty, Type::Str | Type::NonEmptyStr) {
            self.fail(entry, "max_length applies to string fields only");
        }
        Field {
            name: name.to_string(),
            ty,
            presence,
            default: full.default,
            fixed: full.fixed,
            max_length: full.max_length,
        }
    }

    fn parse_type(
        &mut self,
        entry: &str,
        text: &str,
        enum_index: &HashMap<String, usize>,
        kind_index: &HashMap<String, usize>,
    ) -> Type {
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            return Type::List(Box::new(self.parse_type(entry, inner, enum_index, kind_index)));
        }
        if let Some(of) = text.strip_prefix("entity_id:") {
            return Type::EntityRef(Some(of.to_string()));
        }
        match text {
            "string" => Type::Str,
            "nonempty_string" => Type::NonEmptyStr,
            "int" => Type::Int,
            "float" => Type::Float,
            "bool" => Type::Bool,
            "date" => Type::Date,
            "datetime" => Type::DateTime,
            "url" => Type::Url,
            "slug" => Type::Slug,
            "object" => Type::FreeObject,
            "entity_id" => Type::EntityRef(None),
            "object_id" => Type::ObjectRef,
            "entity_prefix" => Type::EntityPrefix,
            other => {
                if let Some(&e) = enum_index.get(other) {
                    Type::Enum(e)
                } else if let Some(&k) = kind_index.get(other) {
                    Type::Kind(k)
                } else {
                    self.fail(
                        entry,
                        format!(
                            "unknown type `{other}`; expected string, nonempty_string, int, float, bool, \
                             date, datetime, url, slug, object, entity_id[:<type>], object_id, \
                             entity_prefix, an enum, a kind or [T]"
                        ),
                    );
                    Type::Str
                }
            }
        }
    }
}

/// A prefix segment: non-empty, `a-z0-9_` only (no `.`, `/` or spaces: it is a directory).
fn is_segment(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}
