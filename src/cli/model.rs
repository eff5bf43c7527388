//! `nes model show`: the NES model this binary was built with (`model/nes.toml`).

use serde_json::json;

use super::{output, GlobalArgs};
use crate::error::{ExitCode, NesError};
use crate::store::model::{self, describe, schema_export, KindDef, Type};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  nes model show                                   the prefix registry and the kinds
  nes model show organization/hospital             what a hospital document holds
  nes model show Address                           a nested kind
  nes model show person --json-schema > person.json   compare with the service's model_json_schema()")]
pub struct Args {
    /// A registered prefix (`organization/government/commission/district`) or a kind
    /// (`Hospital`, `Address`); without one, the prefix registry.
    pub what: Option<String>,
    /// Print one JSON document (`{"schema_version": 1, ...}`).
    #[arg(long, conflicts_with = "json_schema")]
    pub json: bool,
    /// Print the kind as a JSON Schema (draft 2020-12), shaped like pydantic's
    /// `model_json_schema()`, to hold next to the service's own export.
    #[arg(long, requires = "what")]
    pub json_schema: bool,
}

pub fn exec(_g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let Some(what) = args.what.as_deref() else {
        if args.json {
            output::json(&registry_json())?;
        } else {
            print_registry();
        }
        return Ok(ExitCode::Success);
    };
    let kind = find_kind(what)?;
    if args.json_schema {
        output::json(&schema_export::json_schema(kind))?;
    } else if args.json {
        let nested: Vec<_> = describe::nested_kinds(kind)
            .into_iter()
            .map(describe::kind_json)
            .collect();
        output::json(&json!({
            "schema_version": 1,
            "source": model::SOURCE_PATH,
            "kind": describe::kind_json(kind),
            "prefixes": describe::prefixes_of(kind),
            "nested": nested,
        }))?;
    } else {
        print_kind(kind);
    }
    Ok(ExitCode::Success)
}

/// The kind a prefix registers, or the kind of that name.
fn find_kind(what: &str) -> anyhow::Result<&'static KindDef> {
    let m = model::model();
    model::kind_for_prefix(what)
        .or_else(|| m.kind(what))
        .ok_or_else(|| {
            let prefixes: Vec<&str> = m.prefixes.keys().map(String::as_str).collect();
            let kinds: Vec<&str> = m.kinds.iter().map(|k| k.name.as_str()).collect();
            NesError::usage(format!(
                "`{what}` is neither a registered prefix nor a kind of the model"
            ))
            .hint(format!(
                "prefixes: {}; kinds: {} (`nes model show` lists them)",
                prefixes.join(", "),
                kinds.join(", ")
            ))
            .into()
        })
}

fn registry_json() -> serde_json::Value {
    let m = model::model();
    let prefixes: serde_json::Map<String, serde_json::Value> = m
        .prefixes
        .iter()
        .map(|(p, &k)| (p.clone(), json!(m.kinds[k].name)))
        .collect();
    json!({
        "schema_version": 1,
        "source": model::SOURCE_PATH,
        "max_prefix_depth": m.max_prefix_depth,
        "slug": {
            "charset": m.slug_charset_text,
            "min_length": m.slug_min_length,
            "max_length": m.slug_max_length,
        },
        "prefixes": prefixes,
        "relationship_types": model::relationship_types(),
        "kinds": m.kinds.iter().map(|k| &k.name).collect::<Vec<_>>(),
        "enums": m.enums.iter().map(|e| (e.name.clone(), json!(e.values))).collect::<serde_json::Map<_, _>>(),
    })
}

fn print_registry() {
    let m = model::model();
    println!(
        "The NES model compiled into this binary ({}).",
        model::SOURCE_PATH
    );
    println!(
        "Entity IDs: entity:<prefix>/<slug>, a prefix of 1 to {} segments from the registry; \
         slugs [{}], {} to {} characters.",
        m.max_prefix_depth, m.slug_charset_text, m.slug_min_length, m.slug_max_length
    );
    println!();
    let width = m.prefixes.keys().map(String::len).max().unwrap_or(6).max(6);
    println!("{:width$}  KIND", "PREFIX");
    for (prefix, &k) in &m.prefixes {
        println!("{prefix:width$}  {}", m.kinds[k].name);
    }
    println!();
    println!("Relationship types: {}", model::relationship_types().join(", "));
    let kinds: Vec<&str> = m.kinds.iter().map(|k| k.name.as_str()).collect();
    println!("Kinds: {}", kinds.join(", "));
    println!();
    println!("`nes model show <prefix or kind>` lists what a document of that kind holds.");
}

fn print_kind(kind: &KindDef) {
    let mut header = kind.name.clone();
    if let Some(parent) = &kind.extends {
        header.push_str(&format!(" (extends {parent})"));
    }
    println!("{header}");
    let prefixes = describe::prefixes_of(kind);
    if !prefixes.is_empty() {
        println!("prefixes: {}", prefixes.join(", "));
    }
    print_fields(kind);
    for nested in describe::nested_kinds(kind) {
        println!();
        println!("{}", nested.name);
        print_fields(nested);
    }
}

fn print_fields(kind: &KindDef) {
    let unknown = if kind.allow_extra { "ignored" } else { "refused" };
    let checks: Vec<&str> = kind.checks.iter().map(|c| describe::check_name(*c)).collect();
    let mut rules = format!("  unknown fields {unknown}");
    if !checks.is_empty() {
        rules.push_str(&format!("; checks: {}", checks.join(", ")));
    }
    println!("{rules}");
    let name_width = kind.fields.iter().map(|f| f.name.len()).max().unwrap_or(5).max(5);
    let types: Vec<String> = kind.fields.iter().map(|f| describe::type_name(&f.ty)).collect();
    let type_width = types.iter().map(String::len).max().unwrap_or(4).max(4);
    for (field, ty) in kind.fields.iter().zip(&types) {
        let mut notes = Vec::new();
        if let Some(d) = &field.default {
            notes.push(if field.fixed {
                format!("always \"{d}\"")
            } else {
                format!("default \"{d}\"")
            });
        }
        if let Some(max) = field.max_length {
            notes.push(format!("at most {max} characters"));
        }
        let mut inner = &field.ty;
        while let Type::List(t) = inner {
            inner = t;
        }
        if let (Type::Enum(e), false) = (inner, field.fixed) {
            notes.push(format!("one of {}", model::model().enums[*e].values.join(" ")));
        }
        let line = format!(
            "  {:name_width$}  {ty:type_width$}  {:18}  {}",
            field.name,
            describe::presence_name(field.presence),
            notes.join("; ")
        );
        println!("{}", line.trim_end());
    }
    for c in &kind.computed {
        println!(
            "  {:name_width$}  computed from `{}`, in version snapshots only",
            c.name, c.from
        );
    }
}
