//! Validation of a stored document against its kind: required fields, enums, names,
//! dates, lengths, the grammar of embedded IDs and the prefix registry. Reports every
//! violation with its JSON path.

use serde_json::{Map, Value};

use super::super::id::{EntityId, ObjectId};
use super::super::slug::validate_slug;
use super::{
    join, kind_for_prefix, model, prefix_of_fields, Check, Field, KindDef, Presence, Type, Violation,
};

/// Checks a stored entity or relationship document (without computed fields) against
/// `kind`: every field, unknown keys, and the kind's checks.
pub fn validate(kind: &KindDef, doc: &Value) -> Result<(), Vec<Violation>> {
    let mut out = Vec::new();
    match doc.as_object() {
        None => violation(&mut out, "", "document must be a JSON object"),
        Some(obj) => validate_kind(kind, obj, "", &mut out),
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

fn validate_kind(kind: &KindDef, obj: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
    for field in &kind.fields {
        match (obj.get(&field.name), field.presence) {
            (None, Presence::Required | Presence::RequiredNullable) => {
                violation(out, &join(path, &field.name), "required field is missing")
            }
            (Some(Value::Null), Presence::Required) => {
                violation(out, &join(path, &field.name), "required field is null")
            }
            (Some(Value::Null), _) if field.fixed => fixed_mismatch(field, &Value::Null, path, out),
            (None | Some(Value::Null), _) => {}
            (Some(value), _) => validate_field(field, value, path, out),
        }
    }
    if !kind.allow_extra {
        let unknown: Vec<&str> = obj
            .keys()
            .filter(|k| kind.field(k).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let at = if path.is_empty() {
                kind.name.clone()
            } else {
                path.to_string()
            };
            let list = unknown
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            violation(
                out,
                path,
                format!(
                    "unknown field{} {list}: {at} does not declare {}",
                    plural(unknown.len()),
                    if unknown.len() == 1 { "it" } else { "them" }
                ),
            );
        }
    }
    for check in &kind.checks {
        run_check(*check, obj, path, out);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn fixed_mismatch(field: &Field, found: &Value, path: &str, out: &mut Vec<Violation>) {
    let want = field.default.as_deref().unwrap_or_default();
    violation(
        out,
        &join(path, &field.name),
        format!("is {found}; this kind allows only \"{want}\""),
    );
}

fn validate_field(field: &Field, value: &Value, parent: &str, out: &mut Vec<Violation>) {
    if field.fixed && value.as_str() != field.default.as_deref() {
        return fixed_mismatch(field, value, parent, out);
    }
    if let (Some(max), Some(s)) = (field.max_length, value.as_str()) {
        let len = s.chars().count();
        if len > max {
            violation(
                out,
                &join(parent, &field.name),
                format!("{len} characters; at most {max}"),
            );
        }
    }
    validate_value(&field.ty, value, parent, &field.name, out);
}

/// Checks the value of field `name` of the object at `parent`. The field's path is built
/// only for a nested value or a violation: building it for every field was a tenth of a
/// migration's JSON work.
fn validate_value(ty: &Type, value: &Value, parent: &str, name: &str, out: &mut Vec<Violation>) {
    // List items are named `[i]` and follow their list's path directly.
    let path = || {
        if name.starts_with('[') {
            format!("{parent}{name}")
        } else {
            join(parent, name)
        }
    };
    let expect = |out: &mut Vec<Violation>, what: &str| {
        violation(
            out,
            &path(),
            format!("expected {what}, found {}", type_name(value)),
        );
    };
    match ty {
        Type::Kind(k) => match value.as_object() {
            Some(obj) => validate_kind(&model().kinds[*k], obj, &path(), out),
            None => expect(out, "an object"),
        },
        Type::List(inner) => match value.as_array() {
            Some(items) => {
                let path = path();
                for (i, item) in items.iter().enumerate() {
                    let at = format!("[{i}]");
                    if item.is_null() {
                        violation(out, &format!("{path}{at}"), "a list item must not be null");
                    } else {
                        validate_value(inner, item, &path, &at, out);
                    }
                }
            }
            None => expect(out, "a list"),
        },
        Type::Int if !(value.is_i64() || value.is_u64()) => expect(out, "an integer"),
        Type::Float if !value.is_number() => expect(out, "a number"),
        Type::Bool if !value.is_boolean() => expect(out, "a boolean"),
        Type::FreeObject if !value.is_object() => expect(out, "an object"),
        Type::Int | Type::Float | Type::Bool | Type::FreeObject => {}
        _ => match value.as_str() {
            Some(s) => {
                if let Some(problem) = text_problem(ty, s) {
                    violation(out, &path(), problem);
                }
            }
            None => expect(out, "a string"),
        },
    }
}

/// What is wrong with a string of one of the string types, if anything.
fn text_problem(ty: &Type, s: &str) -> Option<String> {
    match ty {
        Type::NonEmptyStr if s.is_empty() => Some("must not be empty".to_string()),
        Type::Date if parse_date(s).is_none() => Some(format!("`{s}` is not a YYYY-MM-DD date")),
        Type::DateTime if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
            Some(format!("`{s}` is not an RFC 3339 timestamp"))
        }
        Type::Url if url::Url::parse(s).is_err() => Some(format!("`{s}` is not a URL")),
        Type::Slug => validate_slug(s).err().map(|e| e.rule),
        Type::Enum(e) => {
            let def = &model().enums[*e];
            (!def.values.iter().any(|v| v == s)).then(|| {
                format!(
                    "`{s}` is not one of {} (enums.{})",
                    def.values.join(", "),
                    def.name
                )
            })
        }
        Type::EntityRef(wanted) => match EntityId::parse(s) {
            Err(e) => Some(e.rule),
            Ok(id) => wanted
                .as_deref()
                .filter(|t| id.entity_type() != *t)
                .map(|t| format!("`{s}` must be a {t} entity ID")),
        },
        Type::ObjectRef => ObjectId::parse(s).err().map(|e| e.rule),
        Type::EntityPrefix => prefix_problem(s),
        _ => None,
    }
}

/// Why a prefix is not one the registry accepts, if it is not.
pub fn prefix_problem(prefix: &str) -> Option<String> {
    let model = model();
    let depth = prefix.split('/').count();
    if prefix.split('/').any(|s| s.is_empty() || s.trim() != s) {
        return Some(format!("prefix `{prefix}` has an empty or space-padded segment"));
    }
    if depth > model.max_prefix_depth {
        return Some(format!(
            "prefix `{prefix}` has {depth} segments; at most {} (ids.max_prefix_depth)",
            model.max_prefix_depth
        ));
    }
    if kind_for_prefix(prefix).is_some() {
        return None;
    }
    let root = prefix.split('/').next().unwrap_or_default();
    let siblings: Vec<&str> = model
        .prefixes
        .keys()
        .filter(|p| p.split('/').next() == Some(root))
        .map(String::as_str)
        .collect();
    Some(if siblings.is_empty() {
        format!(
            "prefix `{prefix}` is not registered: `{root}` is not an entity type ({})",
            super::entity_types().join(", ")
        )
    } else {
        format!(
            "prefix `{prefix}` is not registered in {} [prefixes]; registered under `{root}`: {}",
            super::SOURCE_PATH,
            siblings.join(", ")
        )
    })
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

fn run_check(check: Check, obj: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
    match check {
        Check::EnOrNe => {
            let set = |key| obj.get(key).is_some_and(|v| !v.is_null());
            if !set("en") && !set("ne") {
                violation(out, path, "a name needs `en` or `ne`");
            }
        }
        Check::ContactValue => check_contact(obj, path, out),
        Check::PrimaryName => {
            let Some(names) = obj.get("names").and_then(Value::as_array) else {
                return; // reported by the field
            };
            let primary = names
                .iter()
                .any(|n| n.get("kind").and_then(Value::as_str) == Some("PRIMARY"));
            if !primary {
                violation(
                    out,
                    &join(path, "names"),
                    "at least one name must have kind PRIMARY",
                );
            }
        }
        Check::EntityPrefix => check_entity_prefix(obj, path, out),
        Check::DateOrder => {
            let date = |key| obj.get(key).and_then(Value::as_str).and_then(parse_date);
            if let (Some(start), Some(end)) = (date("start_date"), date("end_date")) {
                if end < start {
                    violation(
                        out,
                        &join(path, "end_date"),
                        format!("{end} is before start_date {start}"),
                    );
                }
            }
        }
    }
}

/// The document's prefix (its `entity_prefix`, or `type/sub_type` without one) is
/// registered and starts with its `type`.
fn check_entity_prefix(obj: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
    let Some(ty) = obj.get("type").and_then(Value::as_str) else {
        return; // reported by the field
    };
    let explicit = obj.get("entity_prefix").and_then(Value::as_str).is_some();
    let Some(prefix) = prefix_of_fields(obj) else {
        return;
    };
    let at = if explicit { "entity_prefix" } else { "sub_type" };
    if explicit && prefix.split('/').next() != Some(ty) {
        violation(
            out,
            &join(path, at),
            format!("`{prefix}` does not start with the document's type `{ty}`"),
        );
    } else if let Some(problem) = prefix_problem(&prefix) {
        let how = if explicit {
            ""
        } else {
            " (type/sub_type, no entity_prefix)"
        };
        violation(out, &join(path, at), format!("{problem}{how}"));
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
