//! Completing a document as the upstream writer does: the full dump of its model, every
//! declared field present (nested kinds included), `null` where unset.

use serde_json::{Map, Value};

use super::{model, Field, KindDef, Type};

/// Completes a document the way the upstream model dump does: every declared field
/// (nested kinds included) present, unset ones as `null` or their default; URL fields
/// normalised. Keys the kind does not declare are left alone (validation judges them).
pub fn complete(kind: &KindDef, doc: &mut Value) {
    if let Value::Object(obj) = doc {
        complete_fields(&kind.fields, obj);
    }
}

fn complete_fields(fields: &[Field], obj: &mut Map<String, Value>) {
    for field in fields {
        match obj.get_mut(&field.name) {
            Some(value) => complete_value(&field.ty, value),
            None => {
                let fill = field.default.clone().map_or(Value::Null, Value::String);
                obj.insert(field.name.clone(), fill);
            }
        }
    }
}

fn complete_value(ty: &Type, value: &mut Value) {
    match (ty, value) {
        (Type::Kind(k), Value::Object(obj)) => complete_fields(&model().kinds[*k].fields, obj),
        (Type::List(inner), Value::Array(items)) => {
            for item in items {
                complete_value(inner, item);
            }
        }
        (Type::Url, Value::String(s)) => {
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
