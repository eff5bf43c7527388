//! The model described for people and scripts (`nes model show`): type names as the
//! description writes them, and a JSON view of the registry and of kinds.

use serde_json::{json, Value};

use super::{model, Check, KindDef, Presence, Type};

/// A type as `model/nes.toml` writes it: `string`, `[Name]`, `entity_id:location`, ...
pub fn type_name(ty: &Type) -> String {
    let model = model();
    match ty {
        Type::Str => "string".into(),
        Type::NonEmptyStr => "nonempty_string".into(),
        Type::Int => "int".into(),
        Type::Float => "float".into(),
        Type::Bool => "bool".into(),
        Type::Date => "date".into(),
        Type::DateTime => "datetime".into(),
        Type::Url => "url".into(),
        Type::Slug => "slug".into(),
        Type::FreeObject => "object".into(),
        Type::EntityRef(None) => "entity_id".into(),
        Type::EntityRef(Some(t)) => format!("entity_id:{t}"),
        Type::ObjectRef => "object_id".into(),
        Type::EntityPrefix => "entity_prefix".into(),
        Type::Enum(e) => model.enums[*e].name.clone(),
        Type::Kind(k) => model.kinds[*k].name.clone(),
        Type::List(inner) => format!("[{}]", type_name(inner)),
    }
}

/// `required`, `required, nullable` or `optional`.
pub fn presence_name(presence: Presence) -> &'static str {
    match presence {
        Presence::Required => "required",
        Presence::RequiredNullable => "required, nullable",
        Presence::Optional => "optional",
    }
}

/// The nested kinds a kind uses, at any depth, in first-use order (itself excluded).
pub fn nested_kinds(kind: &KindDef) -> Vec<&'static KindDef> {
    let model = model();
    let mut out: Vec<&'static KindDef> = Vec::new();
    let mut queue: Vec<&Type> = kind.fields.iter().map(|f| &f.ty).collect();
    queue.reverse();
    while let Some(ty) = queue.pop() {
        match ty {
            Type::List(inner) => queue.push(inner),
            Type::Kind(k) => {
                let nested = &model.kinds[*k];
                if nested.name != kind.name && !out.iter().any(|o| o.name == nested.name) {
                    out.push(nested);
                    queue.extend(nested.fields.iter().rev().map(|f| &f.ty));
                }
            }
            _ => {}
        }
    }
    out
}

/// A kind as JSON: its fields, checks, computed fields and enums' values.
pub fn kind_json(kind: &KindDef) -> Value {
    let model = model();
    let fields: Vec<Value> = kind
        .fields
        .iter()
        .map(|f| {
            let mut field = json!({
                "name": f.name,
                "type": type_name(&f.ty),
                "presence": presence_name(f.presence),
            });
            let mut ty = &f.ty;
            while let Type::List(inner) = ty {
                ty = inner;
            }
            if let Type::Enum(e) = ty {
                field["values"] = json!(model.enums[*e].values);
            }
            if let Some(d) = &f.default {
                field["default"] = json!(d);
            }
            if f.fixed {
                field["fixed"] = json!(true);
            }
            if let Some(max) = f.max_length {
                field["max_length"] = json!(max);
            }
            field
        })
        .collect();
    let computed: Vec<Value> = kind
        .computed
        .iter()
        .map(|c| json!({ "name": c.name, "from": c.from, "map": c.map }))
        .collect();
    json!({
        "name": kind.name,
        "extends": kind.extends,
        "entity_type": kind.entity_type,
        "unknown_fields": if kind.allow_extra { "ignored" } else { "refused" },
        "checks": kind.checks.iter().map(|c| check_name(*c)).collect::<Vec<_>>(),
        "fields": fields,
        "computed": computed,
    })
}

/// The name of a check as `model/nes.toml` writes it, with what it does.
pub fn check_name(check: Check) -> &'static str {
    match check {
        Check::EnOrNe => "en_or_ne",
        Check::ContactValue => "contact_value",
        Check::PrimaryName => "primary_name",
        Check::EntityPrefix => "entity_prefix",
        Check::DateOrder => "date_order",
    }
}

/// The prefixes registered for a kind.
pub fn prefixes_of(kind: &KindDef) -> Vec<&'static str> {
    let model = model();
    model
        .prefixes
        .iter()
        .filter(|(_, &k)| model.kinds[k].name == kind.name)
        .map(|(p, _)| p.as_str())
        .collect()
}
