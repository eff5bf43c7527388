//! Unit tests of the model: completion, validation, computed fields, references.

use serde_json::{json, Value};

use super::load;
use super::*;

fn kind(prefix: &str) -> &'static KindDef {
    kind_for_prefix(prefix).unwrap_or_else(|| panic!("`{prefix}` is registered"))
}

fn ward_kind() -> &'static KindDef {
    kind("location/ward")
}

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
    complete(ward_kind(), &mut doc);
    doc
}

/// The messages of all violations, as `path: message`.
fn violations(model: &KindDef, doc: &Value) -> Vec<String> {
    validate(model, doc)
        .err()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_rejects(model: &KindDef, doc: &Value, want: &str) {
    let found = violations(model, doc);
    assert!(
        found.iter().any(|v| v.contains(want)),
        "expected `{want}` among {found:?}"
    );
}

#[test]
fn completed_ward_is_valid_and_fully_shaped() {
    let doc = ward();
    assert_eq!(validate(ward_kind(), &doc), Ok(()));
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    let want = [
        "area",
        "attributes",
        "attributions",
        "contacts",
        "created_at",
        "description",
        "entity_prefix",
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
    complete(kind("organization"), &mut doc);
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
    complete(kind("project"), &mut project);
    assert_eq!(project["sub_type"], "development_project");
    assert_eq!(project["stage"], "unknown");
    assert_eq!(project["tags"], Value::Null);
}

#[test]
fn complete_recurses_into_lists_and_subtype_fields() {
    let party = kind("organization/political_party");
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
fn rejects_unregistered_prefixes() {
    let mut doc = ward();
    doc["sub_type"] = json!("party");
    assert_rejects(ward_kind(), &doc, "sub_type: `party` is not one of");
    assert_rejects(
        ward_kind(),
        &doc,
        "sub_type: prefix `location/party` is not registered in model/nes.toml [prefixes]",
    );
    doc["type"] = json!("person");
    doc["sub_type"] = json!("ward");
    assert_rejects(kind("person"), &doc, "prefix `person/ward` is not registered");
    doc["sub_type"] = Value::Null;
    doc["entity_prefix"] = json!("location/ward");
    assert_rejects(
        kind("person"),
        &doc,
        "entity_prefix: `location/ward` does not start with the document's type `person`",
    );
    doc["type"] = json!("organization");
    doc["entity_prefix"] = json!("organization/government/commission/district/extra");
    assert_rejects(
        kind("organization"),
        &doc,
        "5 segments; at most 4 (ids.max_prefix_depth)",
    );
    doc["entity_prefix"] = json!("organization/contractor");
    assert_rejects(
        kind("organization"),
        &doc,
        "prefix `organization/contractor` is not registered",
    );
}

#[test]
fn fixed_subtypes() {
    let mut doc = ward();
    doc["type"] = json!("organization");
    doc["entity_prefix"] = json!("organization/government/commission/district");
    doc["sub_type"] = json!("government_body");
    doc.as_object_mut()
        .unwrap()
        .retain(|k, _| !["parent", "area", "lat", "lng"].contains(&k.as_str()));
    let body = kind("organization/government/commission/district");
    assert_eq!(body.name, "GovernmentBody");
    complete(body, &mut doc);
    assert_eq!(validate(body, &doc), Ok(()));
    assert_eq!(
        doc["address"],
        Value::Null,
        "address is on every organization since 2026-03"
    );
    doc["sub_type"] = json!("ngo");
    assert_rejects(
        body,
        &doc,
        "sub_type: is \"ngo\"; this kind allows only \"government_body\"",
    );
}

#[test]
fn rejects_missing_primary_name() {
    let mut doc = ward();
    doc["names"][0]["kind"] = json!("ALIAS");
    assert_eq!(
        violations(ward_kind(), &doc),
        ["names: at least one name must have kind PRIMARY"]
    );
    doc["names"] = json!([]);
    assert_eq!(
        violations(ward_kind(), &doc),
        ["names: at least one name must have kind PRIMARY"]
    );
}

#[test]
fn rejects_bad_enum() {
    let mut doc = ward();
    doc["names"][0]["kind"] = json!("NICKNAME");
    assert_rejects(
        ward_kind(),
        &doc,
        "names[0].kind: `NICKNAME` is not one of PRIMARY, ALIAS, ALTERNATE, BIRTH_NAME",
    );
}

#[test]
fn rejects_bad_dates() {
    let party = kind("organization/political_party");
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
    let found = violations(ward_kind(), &doc);
    for want in [
        "slug: character 'X' is not allowed",
        "names[0].kind: `NICK` is not one of",
        "names[0]: a name needs `en` or `ne`",
        "names[1].kind: required field is missing",
        "names: at least one name must have kind PRIMARY",
        "parent: prefix `place` is not registered",
        ": unknown field `id`",
        "version_summary: unknown field `id`",
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
    let person = kind("person");
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
        assert!(
            found.iter().any(|v| v.contains(want)),
            "expected `{want}` among {found:?}"
        );
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
    complete(relationship_kind(), &mut doc);
    assert_eq!(doc["version_summary"], Value::Null);
    assert_eq!(
        violations(relationship_kind(), &doc),
        ["end_date: 2019-12-31 is before start_date 2020-01-01"]
    );
    doc["end_date"] = json!("2020-01-01");
    assert_eq!(validate(relationship_kind(), &doc), Ok(()));
    doc["type"] = json!("LIKES");
    assert_rejects(
        relationship_kind(),
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
    let level = |sub: Option<&str>| computed_fields(kind("location"), &json!({ "sub_type": sub }));
    let pair = |k: &str, v: Value| (k.to_string(), v);
    assert_eq!(
        level(Some("ward")),
        [
            pair("administrative_level", json!(4)),
            pair("location_type", json!("ward"))
        ]
    );
    assert_eq!(level(Some("province"))[0].1, json!(1));
    assert_eq!(level(Some("district"))[0].1, json!(2));
    for city in [
        "metropolitan_city",
        "sub_metropolitan_city",
        "municipality",
        "rural_municipality",
    ] {
        assert_eq!(level(Some(city))[0].1, json!(3), "{city}");
    }
    assert_eq!(level(Some("constituency"))[0].1, Value::Null);
    assert_eq!(
        level(None),
        [
            pair("administrative_level", Value::Null),
            pair("location_type", Value::Null)
        ]
    );
    assert!(computed_fields(kind("person"), &json!({})).is_empty());
    assert!(computed_fields(relationship_kind(), &json!({})).is_empty());
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

/// The shipped description with `from` replaced by `to` (once), loaded: the errors.
fn load_edited(from: &str, to: &str) -> Vec<String> {
    assert!(SOURCE.contains(from), "`{from}` is in model/nes.toml");
    let text = SOURCE.replacen(from, to, 1);
    match load::load(&text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_broken_description_names_the_entry() {
    let cases = [
        (
            "beds = \"int\"",
            "beds = \"integer\"",
            "kinds.Hospital.fields.beds: unknown type `integer`",
        ),
        (
            "\"organization/hospital\" = \"Hospital\"",
            "\"organization/hospital\" = \"Hospitals\"",
            "prefixes.\"organization/hospital\": unknown kind `Hospitals`",
        ),
        (
            "\"organization/hospital\" = \"Hospital\"",
            "\"organization/a/b/c/d\" = \"Hospital\"",
            "prefixes.\"organization/a/b/c/d\": 5 segments; ids.max_prefix_depth allows 4",
        ),
        (
            "\"organization/hospital\" = \"Hospital\"",
            "\"person/hospital\" = \"Hospital\"",
            "kind `Hospital` holds `organization` documents, but the prefix starts with `person`",
        ),
        (
            "\"organization/hospital\" = \"Hospital\"",
            "\"organization/Hospital\" = \"Hospital\"",
            "segment `Hospital`",
        ),
        (
            "extends = \"Organization\"",
            "extends = \"Organisation\"",
            ".extends: unknown kind `Organisation`",
        ),
        (
            "checks = [\"en_or_ne\"]",
            "checks = [\"en_or_nee\"]",
            "kinds.Name.checks: unknown check `en_or_nee`",
        ),
        (
            "stage = { type = \"ProjectStage\", default = \"unknown\" }",
            "stage = { type = \"ProjectStage\", default = \"someday\" }",
            "kinds.Project.fields.stage: default `someday` is not a value of enums.ProjectStage",
        ),
        ("max_prefix_depth = 4", "max_prefix_depth = four", "expected"),
        (
            "parent = \"entity_id:location\"",
            "parent = \"entity_id:place\"",
            "kinds.Location.fields.parent: entity_id:place: `place` is not in enums.EntityType",
        ),
        (
            "slug_charset = \"a-z0-9-\"",
            "slug_charset = \"a-z0-9./-\"",
            "ids.slug_charset",
        ),
    ];
    for (from, to, want) in cases {
        let errors = load_edited(from, to);
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{to}: expected `{want}` in {errors:?}"
        );
    }
    assert_eq!(load_edited("[prefixes]", "[prefixes]"), Vec::<String>::new());
}
