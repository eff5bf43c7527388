//! The contributor guide against what it describes: its section "What a document of each
//! kind holds" against the model, and its worked example against the test that runs it.

use std::collections::BTreeMap;
use std::path::Path;

use nes::store::model::describe::{presence_name, type_name};
use nes::store::model::{model, KindDef};

fn guide() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/contributor-guide.md")).unwrap()
}

/// The text from the heading line `heading` to the next heading of the same or a higher level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading}"))
        + 1;
    let level = heading.split(' ').next().unwrap();
    let rest = &text[start + heading.len()..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| {
            let hashes: String = rest[i..].chars().take_while(|&c| c == '#').collect();
            !hashes.is_empty() && hashes.len() <= level.len() && rest[i + hashes.len()..].starts_with(' ')
        })
        .unwrap_or(rest.len());
    &text[start..start + heading.len() + end]
}

/// `### \`Kind\`` → rows `(field, type, presence)` of its table.
fn tables(text: &str) -> BTreeMap<String, Vec<(String, String, String)>> {
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    let mut kind = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### `").and_then(|l| l.strip_suffix('`')) {
            kind = Some(name.to_string());
            out.entry(name.to_string()).or_default();
        } else if let (Some(kind), Some(row)) = (&kind, line.strip_prefix("| `")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let unquote = |s: &str| s.trim().trim_matches('`').to_string();
            out.get_mut(kind).unwrap().push((
                unquote(cells[0]),
                unquote(cells[1]),
                cells[2].trim().to_string(),
            ));
        }
    }
    out
}

/// The fields a kind declares itself: absent from the kind it extends, or declared otherwise.
fn own_fields(kind: &KindDef) -> Vec<String> {
    let parent = kind.extends.as_deref().map(|p| model().kind(p).unwrap());
    kind.fields
        .iter()
        .filter(|f| {
            let Some(inherited) = parent.and_then(|p| p.field(&f.name)) else {
                return true;
            };
            type_name(&inherited.ty) != type_name(&f.ty)
                || inherited.presence != f.presence
                || inherited.default != f.default
                || inherited.fixed != f.fixed
        })
        .map(|f| f.name.clone())
        .collect()
}

#[test]
fn every_field_the_guide_names_is_in_the_model_with_that_type() {
    let text = guide();
    let tables = tables(section(&text, "## What a document of each kind holds"));
    assert!(tables.len() >= 15, "{:?}", tables.keys());
    let mut problems = Vec::new();
    for (kind_name, rows) in &tables {
        let Some(kind) = model().kind(kind_name) else {
            problems.push(format!("{kind_name}: no such kind in model/nes.toml"));
            continue;
        };
        for (field, ty, presence) in rows {
            match kind.field(field) {
                None => problems.push(format!("{kind_name}.{field}: no such field")),
                Some(f) => {
                    if &type_name(&f.ty) != ty {
                        problems.push(format!(
                            "{kind_name}.{field}: the guide says {ty}, the model {}",
                            type_name(&f.ty)
                        ));
                    }
                    if presence_name(f.presence) != presence {
                        problems.push(format!(
                            "{kind_name}.{field}: the guide says {presence}, the model {}",
                            presence_name(f.presence)
                        ));
                    }
                }
            }
        }
        let listed: Vec<&String> = rows.iter().map(|r| &r.0).collect();
        for own in own_fields(kind) {
            if !listed.contains(&&own) {
                problems.push(format!("{kind_name}.{own}: in the model, missing from the guide"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/contributor-guide.md is out of date:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_a_wrong_row() {
    let text =
        "### `LangTextValue`\n| `value` | `int` | required | x |\n| `nope` | `string` | optional | |\n";
    let t = tables(text);
    assert_eq!(
        t["LangTextValue"][0],
        ("value".into(), "int".into(), "required".into())
    );
    let kind = model().kind("LangTextValue").unwrap();
    assert_ne!(type_name(&kind.field("value").unwrap().ty), "int");
    assert!(kind.field("nope").is_none());
    assert_eq!(
        own_fields(model().kind("PoliticalParty").unwrap()),
        ["sub_type", "party_chief", "registration_date", "symbol"]
    );
}

/// The rust block under `heading` is in `test_file`, character for character.
fn assert_block_is_tested(heading: &str, test_file: &str, must_contain: &str) {
    let text = guide();
    let code = section(&text, heading)
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a rust block");
    let test = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(test_file)).unwrap();
    assert!(code.contains(must_contain), "{heading}: no `{must_contain}`");
    assert!(
        test.contains(code),
        "the guide's block under {heading} differs from {test_file}: copy it again"
    );
}

/// The port in the guide is the code `tests/port_008.rs` runs, character for character.
#[test]
fn the_worked_example_is_the_tested_port() {
    assert_block_is_tested(
        "### Worked example: porting the service's 008",
        "tests/port_008.rs",
        "fn migrate(ctx: &mut Context)",
    );
}

/// The 007 port in the guide is the code `tests/redact.rs` runs, character for character.
#[test]
fn the_redaction_example_is_the_tested_port() {
    assert_block_is_tested(
        "### Worked example: the service's 007, done right",
        "tests/redact.rs",
        "ctx.redact(\"person\"",
    );
}

/// The builders example of the guide, as it is there (the guide's block is checked to be
/// this code), builds values of the model's kinds.
#[test]
fn the_builders_example_builds_model_values() {
    use nes::prelude::*;

    // LangText: a text per language, each with its provenance
    // (Human, Llm, TranslationService, Imported).
    let symbol = LangText::new()
        .en("Soil in the palm", Provenance::TranslationService)
        .ne("अंजुलीमा रहेको माटो", Provenance::Imported);
    let label = LangText::human("Nepal Election Commission", "नेपाल निर्वाचन आयोग"); // both Human

    let fields = json!({
        "names": [
            Name::primary("Shram Sanskriti Party", "श्रम संस्कृति पार्टी"),   // PRIMARY, `full` in en and ne
            Name::new(NameKind::Alternate).en("Labour Culture Party"),      // one language only
        ],
        "address": Address::described(symbol.clone()),                      // address.description2
        "identifiers": [Identifier::other(label.clone(), "204")],          // scheme "other", named
        "contacts": [Contact::new(ContactType::Phone, "+97715914591")],
        "pictures": [Picture::new(PictureType::Thumb, "https://example.org/s.png", "Election symbol")],
        "attributions": [Attribution::new(label.clone(), LangText::human("Registered Parties (2082)", "दर्ता भएका दलहरू (२०८२)"))],
        "symbol": PartySymbol::named(symbol),                               // symbol.name
    });

    let valid = |kind: &str, value: &serde_json::Value| {
        let def = model().kind(kind).unwrap();
        assert_eq!(nes::store::model::validate(def, value), Ok(()), "{kind}: {value}");
    };
    valid("Name", &fields["names"][0]);
    valid("Name", &fields["names"][1]);
    valid("Address", &fields["address"]);
    valid("ExternalIdentifier", &fields["identifiers"][0]);
    valid("Contact", &fields["contacts"][0]);
    valid("EntityPicture", &fields["pictures"][0]);
    valid("Attribution", &fields["attributions"][0]);
    valid("PartySymbol", &fields["symbol"]);
    assert_eq!(fields["address"]["description2"]["ne"]["provenance"], "imported");
    assert_eq!(fields["identifiers"][0]["scheme"], "other");
}

#[test]
fn the_guide_shows_the_builders_example_as_tested() {
    let text = guide();
    let example = section(&text, "### Typed builders for nested values");
    let code = example
        .split("```rust\n")
        .nth(1)
        .and_then(|r| r.split("```").next())
        .unwrap();
    let test = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guide.rs")).unwrap();
    let trimmed = |s: &str| s.lines().map(str::trim).collect::<Vec<_>>().join("\n");
    assert!(
        trimmed(&test).contains(&trimmed(code)),
        "the guide's builders example differs from tests/guide.rs"
    );
}
