//! Validation of a stored document against its model: required fields, enums, names,
//! dates, the grammar of embedded IDs. Reports every violation with its JSON path.

use serde_json::{Map, Value};

use super::super::id::{EntityId, ObjectId};
use super::super::slug::validate_slug;
use super::fields::*;
use super::{join, subtypes, Model, Violation, ENTITY_TYPES};

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

pub(super) fn violation(out: &mut Vec<Violation>, path: &str, message: impl Into<String>) {
    out.push(Violation {
        path: path.to_string(),
        message: message.into(),
    });
}

pub(super) fn validate_fields(
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

pub(super) fn validate_spec(spec: &Spec, value: &Value, path: &str, out: &mut Vec<Violation>) {
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
pub(super) fn validate_value(kind: Kind, value: &Value, parent: &str, name: &str, out: &mut Vec<Violation>) {
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
pub(super) fn text_problem(kind: Kind, s: &str) -> Option<String> {
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

pub(super) fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let shaped = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    shaped
        .then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
}

pub(super) fn type_name(value: &Value) -> &'static str {
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
pub(super) fn check_entity_kind(
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

pub(super) fn check_primary_name(obj: &Map<String, Value>, out: &mut Vec<Violation>) {
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

pub(super) fn check_name(obj: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
    let set = |key| obj.get(key).is_some_and(|v| !v.is_null());
    if !set("en") && !set("ne") {
        violation(out, path, "a name needs `en` or `ne`");
    }
}

pub(super) fn check_position(obj: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
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

pub(super) fn check_contact(obj: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
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
pub(super) fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// `local@domain.tld`, no whitespace, one `@`.
pub(super) fn is_email(s: &str) -> bool {
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
pub(super) fn check_date_order(obj: &Map<String, Value>, out: &mut Vec<Violation>) {
    let date = |key| obj.get(key).and_then(Value::as_str).and_then(parse_date);
    if let (Some(start), Some(end)) = (date("start_date"), date("end_date")) {
        if end < start {
            violation(out, "end_date", format!("{end} is before start_date {start}"));
        }
    }
}

// ---------------------------------------------------------------------------------------
