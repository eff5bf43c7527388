//! The model as JSON Schema (draft 2020-12), shaped like pydantic's `model_json_schema()`
//! (`anyOf [T, null]` for optional fields, nested kinds under `$defs`), so a maintainer can
//! hold a kind next to the service's own export when the service changes.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::{model, KindDef, Presence, Type};

/// The JSON Schema of documents of `kind` as stored (without snapshot-only fields).
pub fn json_schema(kind: &KindDef) -> Value {
    let mut defs = Map::new();
    let mut pending: Vec<usize> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut root = object_schema(kind, &mut pending);
    while let Some(k) = pending.pop() {
        if !seen.insert(k) {
            continue;
        }
        let nested = &model().kinds[k];
        let schema = object_schema(nested, &mut pending);
        defs.insert(nested.name.clone(), schema);
    }
    let obj = root.as_object_mut().expect("an object schema");
    obj.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    if !defs.is_empty() {
        obj.insert("$defs".into(), Value::Object(defs));
    }
    root
}

fn object_schema(kind: &KindDef, pending: &mut Vec<usize>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in &kind.fields {
        let mut schema = type_schema(&field.ty, pending);
        if let (Some(max), Some(obj)) = (field.max_length, schema.as_object_mut()) {
            obj.insert("maxLength".into(), json!(max));
        }
        if field.fixed {
            schema = json!({ "const": field.default });
        }
        let schema = match field.presence {
            Presence::Required => schema,
            Presence::Optional | Presence::RequiredNullable if field.fixed => schema,
            Presence::Optional | Presence::RequiredNullable => {
                json!({ "anyOf": [schema, { "type": "null" }] })
            }
        };
        let mut schema = schema;
        if let Some(obj) = schema.as_object_mut() {
            obj.insert(
                "default".into(),
                field.default.clone().map_or(Value::Null, Value::String),
            );
            if field.presence != Presence::Optional {
                obj.remove("default");
            }
        }
        if field.presence != Presence::Optional {
            required.push(json!(field.name));
        }
        properties.insert(field.name.clone(), schema);
    }
    let mut out = json!({
        "title": kind.name,
        "type": "object",
        "properties": properties,
        "additionalProperties": kind.allow_extra,
    });
    if !required.is_empty() {
        out["required"] = Value::Array(required);
    }
    out
}

fn type_schema(ty: &Type, pending: &mut Vec<usize>) -> Value {
    let model = model();
    match ty {
        Type::Str => json!({ "type": "string" }),
        Type::NonEmptyStr => json!({ "type": "string", "minLength": 1 }),
        Type::Int => json!({ "type": "integer" }),
        Type::Float => json!({ "type": "number" }),
        Type::Bool => json!({ "type": "boolean" }),
        Type::Date => json!({ "type": "string", "format": "date" }),
        Type::DateTime => json!({ "type": "string", "format": "date-time" }),
        Type::Url => json!({ "type": "string", "format": "uri" }),
        Type::Slug => json!({
            "type": "string",
            "pattern": format!("^[{}]+$", model.slug_charset_text),
            "minLength": model.slug_min_length,
            "maxLength": model.slug_max_length,
        }),
        Type::FreeObject => json!({ "type": "object" }),
        Type::EntityRef(_) => json!({ "type": "string", "pattern": "^entity:" }),
        Type::ObjectRef => json!({ "type": "string", "pattern": "^(entity|relationship):" }),
        Type::EntityPrefix => json!({ "enum": model.prefixes.keys().collect::<Vec<_>>() }),
        Type::Enum(e) => json!({ "enum": model.enums[*e].values }),
        Type::Kind(k) => {
            pending.push(*k);
            json!({ "$ref": format!("#/$defs/{}", model.kinds[*k].name) })
        }
        Type::List(inner) => json!({ "type": "array", "items": type_schema(inner, pending) }),
    }
}
