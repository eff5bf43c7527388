//! The publication API on real files: create, update, patch, put, delete, relationships,
//! the version files and summaries they write, and every rejection.

use std::path::Path;

use nes::store::backend::WorkTree;
use nes::store::clock::ReproducibleClock;
use nes::store::publication::{AuthorRef, Publication, PutOutcome};
use serde_json::{json, Value};
use tempfile::TempDir;

fn publication(root: &Path) -> Publication {
    let author = AuthorRef {
        slug: "test-author".into(),
        name: Some("Test Author".into()),
    };
    Publication::new(
        Box::new(WorkTree::new(root)),
        Box::new(ReproducibleClock::new("2026-11-21")),
        author,
    )
}

/// A file as on disk, once the publication's writes have landed.
fn read(p: &mut Publication, root: &Path, path: &str) -> Value {
    p.flush().unwrap();
    let bytes = std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_ne!(bytes.last(), Some(&b'\n'), "{path} ends with a newline");
    serde_json::from_slice(&bytes).unwrap()
}

fn names(full: &str) -> Value {
    json!([{ "kind": "PRIMARY", "en": { "full": full } }])
}

const PROVINCE: &str = "entity:location/province/koshi";
const DISTRICT: &str = "entity:location/district/jhapa";

fn header(version: &Value) -> Value {
    let mut h = version.clone();
    h.as_object_mut().unwrap().remove("snapshot");
    h
}

#[test]
fn create_writes_the_object_its_first_version_and_the_author() {
    let tmp = TempDir::new().unwrap();
    let mut p = publication(tmp.path());
    p.create_entity(PROVINCE, json!({ "names": names("Koshi") }), "Add provinces")
        .unwrap();

    let entity = read(&mut p, tmp.path(), "v2/entity/location/province/koshi.json");
    let version = read(
        &mut p,
        tmp.path(),
        "v2/version/entity/location/province/koshi/1.json",
    );
    assert_eq!(
        read(&mut p, tmp.path(), "v2/author/test-author.json"),
        json!({"name": "Test Author", "slug": "test-author"})
    );

    // Declared fields are explicit nulls; the ID decides slug, type and subtype.
    assert_eq!(entity["slug"], "koshi");
    assert_eq!(entity["type"], "location");
    assert_eq!(entity["sub_type"], "province");
    assert_eq!(entity["parent"], Value::Null);
    assert!(entity.as_object().unwrap().contains_key("lat"));
    assert_eq!(entity["names"][0]["en"]["given"], Value::Null);
    assert!(entity.get("id").is_none() && entity.get("location_type").is_none());

    // The summary is the version's header without `id`; timestamps follow FORMAT.md.
    let summary = &entity["version_summary"];
    assert_eq!(summary, &header(&version));
    assert_eq!(summary["version_number"], 1);
    assert_eq!(summary["type"], "ENTITY");
    assert_eq!(summary["entity_or_relationship_id"], PROVINCE);
    assert_eq!(summary["change_description"], "Add provinces");
    assert_eq!(
        summary["author"],
        json!({"id": "author:test-author", "name": "Test Author", "slug": "test-author"})
    );
    assert_eq!(summary["created_at"], "2026-11-21T00:00:00.000000Z");
    assert_eq!(
        entity["created_at"], "2026-11-21T00:00:00.000001Z",
        "a second, later clock reading"
    );

    // The snapshot is the object plus the computed fields.
    let snapshot = &version["snapshot"];
    assert_eq!(snapshot["id"], PROVINCE);
    assert_eq!(snapshot["location_type"], "province");
    assert_eq!(snapshot["administrative_level"], 1);
    assert_eq!(snapshot["version_summary"]["id"], format!("version:{PROVINCE}:1"));
    let mut stripped = snapshot.clone();
    for key in ["id", "location_type", "administrative_level"] {
        stripped.as_object_mut().unwrap().remove(key);
    }
    stripped["version_summary"].as_object_mut().unwrap().remove("id");
    assert_eq!(stripped, entity);

    let stats = p.stats();
    assert_eq!((stats.entities_created, stats.versions_created), (1, 1));
}

#[test]
fn update_patch_put_and_delete_version_the_entity() {
    let tmp = TempDir::new().unwrap();
    let mut p = publication(tmp.path());
    p.allow_deletes(true);
    p.create_entity(PROVINCE, json!({ "names": names("Koshi") }), "add")
        .unwrap();
    let created_at = read(&mut p, tmp.path(), "v2/entity/location/province/koshi.json")["created_at"].clone();

    p.update_entity(
        PROVINCE,
        json!({ "names": names("Koshi Province"), "area": 25905.0 }),
        "rename",
    )
    .unwrap();
    let entity = read(&mut p, tmp.path(), "v2/entity/location/province/koshi.json");
    let v2 = read(
        &mut p,
        tmp.path(),
        "v2/version/entity/location/province/koshi/2.json",
    );
    assert_eq!(entity["names"][0]["en"]["full"], "Koshi Province");
    assert_eq!(
        entity["created_at"], created_at,
        "an update keeps the creation time"
    );
    assert_eq!(entity["version_summary"], header(&v2));
    assert_eq!(v2["version_number"], 2);
    assert_eq!(
        v2["snapshot"]["version_summary"]["id"],
        format!("version:{PROVINCE}:2")
    );
    assert_eq!(
        read(
            &mut p,
            tmp.path(),
            "v2/version/entity/location/province/koshi/1.json"
        )["snapshot"]["names"][0]["en"]["full"],
        "Koshi"
    );

    p.patch_entity(PROVINCE, json!({ "tags": ["east"], "area": null }), "tag")
        .unwrap();
    let entity = read(&mut p, tmp.path(), "v2/entity/location/province/koshi.json");
    assert_eq!(entity["tags"], json!(["east"]));
    assert_eq!(
        entity["area"],
        Value::Null,
        "merge patch null removes, the model writes null back"
    );
    assert_eq!(entity["version_summary"]["version_number"], 3);

    let same = json!({ "names": names("Koshi Province"), "tags": ["east"] });
    assert_eq!(
        p.put_entity(PROVINCE, same, "again").unwrap(),
        PutOutcome::Unchanged
    );
    assert!(!tmp
        .path()
        .join("v2/version/entity/location/province/koshi/4.json")
        .exists());
    assert_eq!(
        p.put_entity(PROVINCE, json!({ "names": names("Koshi") }), "back")
            .unwrap(),
        PutOutcome::Updated
    );

    p.delete_entity(PROVINCE).unwrap();
    assert!(!tmp.path().join("v2/entity/location/province/koshi.json").exists());
    assert!(
        tmp.path()
            .join("v2/version/entity/location/province/koshi/4.json")
            .exists(),
        "versions stay"
    );
    let s = p.stats();
    assert_eq!(
        (
            s.entities_created,
            s.entities_updated,
            s.entities_deleted,
            s.versions_created
        ),
        (1, 3, 1, 4)
    );
}

#[test]
fn relationships_are_versioned_and_listed_from_both_ends() {
    let tmp = TempDir::new().unwrap();
    let mut p = publication(tmp.path());
    p.allow_deletes(true);
    p.create_entity(
        "entity:person/ram-bahadur",
        json!({ "names": names("Ram Bahadur") }),
        "add",
    )
    .unwrap();
    p.create_entity(
        "entity:organization/political_party/janata-party",
        json!({ "names": names("Janata Party") }),
        "add",
    )
    .unwrap();
    let id = p
        .create_relationship(
            "entity:person/ram-bahadur",
            "entity:organization/political_party/janata-party",
            "MEMBER_OF",
            json!({ "start_date": "2020-01-01" }),
            "join",
        )
        .unwrap()
        .to_string();
    assert_eq!(
        id,
        "relationship:person/ram-bahadur:organization/political_party/janata-party:MEMBER_OF"
    );
    let path = "v2/relationship/person/ram-bahadur/organization/political_party/janata-party/MEMBER_OF.json";
    let doc = read(&mut p, tmp.path(), path);
    assert_eq!(doc["source_entity_id"], "entity:person/ram-bahadur");
    assert_eq!(doc["start_date"], "2020-01-01");
    assert_eq!(doc["end_date"], Value::Null);
    assert_eq!(doc["version_summary"]["type"], "RELATIONSHIP");
    let v1 = read(&mut p, tmp.path(), "v2/version/relationship/person/ram-bahadur/organization/political_party/janata-party/MEMBER_OF/1.json");
    assert_eq!(v1["snapshot"]["id"], id.as_str());

    p.update_relationship(
        &id,
        json!({ "start_date": "2020-01-01", "end_date": "2024-01-01" }),
        "leave",
    )
    .unwrap();
    assert_eq!(
        read(&mut p, tmp.path(), path)["version_summary"]["version_number"],
        2
    );
    assert_eq!(p.relationships_of("entity:person/ram-bahadur").unwrap().len(), 1);
    assert_eq!(
        p.relationships_of("entity:organization/political_party/janata-party")
            .unwrap()
            .len(),
        1
    );

    p.delete_relationship(&id).unwrap();
    assert!(p
        .relationships_of("entity:person/ram-bahadur")
        .unwrap()
        .is_empty());
    let s = p.stats();
    assert_eq!(
        (
            s.relationships_created,
            s.relationships_updated,
            s.relationships_deleted
        ),
        (1, 1, 1)
    );
}

#[test]
fn reads_see_the_run_and_find_by_name_normalises() {
    let tmp = TempDir::new().unwrap();
    let mut p = publication(tmp.path());
    p.create_entity(PROVINCE, json!({ "names": names("Koshi") }), "add")
        .unwrap();
    let fields = json!({ "names": [{ "kind": "PRIMARY", "en": { "full": "Jhapa" }, "ne": { "full": "झापा" } }],
                         "misspelled_names": [{ "kind": "ALIAS", "en": { "full": "Jhaapaa" } }],
                         "parent": PROVINCE });
    p.create_entity(DISTRICT, fields, "add").unwrap();
    assert_eq!(p.list_entities("location", None, &[]).unwrap().len(), 2);
    let children = p
        .list_entities("location", Some("district"), &[("parent", json!(PROVINCE))])
        .unwrap();
    assert_eq!(children.len(), 1);
    for name in ["Jhapa", "  jhapa ", "झापा", "JHAAPAA"] {
        let found = p.find_entities_by_name("location", name).unwrap();
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(found[0].id.to_string(), DISTRICT);
    }
    assert!(p.get_entity(DISTRICT).unwrap().is_some());
}

#[test]
fn invalid_requests_are_refused_and_write_nothing() {
    let tmp = TempDir::new().unwrap();
    let mut p = publication(tmp.path());
    p.create_entity(PROVINCE, json!({ "names": names("Koshi") }), "add")
        .unwrap();
    p.flush().unwrap();
    let before = walk(tmp.path());
    type Call = Box<dyn Fn(&mut Publication) -> anyhow::Result<()>>;
    let cases: Vec<(Call, &str)> = vec![
        (
            Box::new(|p| {
                p.create_entity("entity:planet/earth", json!({"names": names("Earth")}), "x")
                    .map(drop)
            }),
            "planet",
        ),
        (
            Box::new(|p| {
                p.create_entity("entity:location/galaxy/x-y", json!({"names": names("X")}), "x")
                    .map(drop)
            }),
            "galaxy",
        ),
        (
            Box::new(|p| {
                p.create_entity("entity:person/ab", json!({"names": names("Ab")}), "x")
                    .map(drop)
            }),
            "ab",
        ),
        (
            Box::new(|p| {
                p.create_entity("entity:person/../../etc", json!({"names": names("E")}), "x")
                    .map(drop)
            }),
            "invalid",
        ),
        (
            Box::new(|p| {
                p.create_entity(
                    "entity:person/no-primary",
                    json!({"names": [{"kind": "ALIAS", "en": {"full": "N"}}]}),
                    "x",
                )
                .map(drop)
            }),
            "PRIMARY",
        ),
        (
            Box::new(|p| {
                p.create_entity(
                    "entity:person/bad-gender",
                    json!({"names": names("B"), "personal_details": {"gender": "robot"}}),
                    "x",
                )
                .map(drop)
            }),
            "gender",
        ),
        (
            Box::new(|p| {
                p.create_entity(PROVINCE, json!({"names": names("Koshi")}), "x")
                    .map(drop)
            }),
            "already exists",
        ),
        (
            Box::new(|p| {
                p.update_entity(
                    "entity:location/province/missing",
                    json!({"names": names("M")}),
                    "x",
                )
            }),
            "does not exist",
        ),
        (
            Box::new(|p| {
                p.create_entity(
                    DISTRICT,
                    json!({"names": names("J"), "parent": "entity:location/province/nowhere"}),
                    "x",
                )
                .map(drop)
            }),
            "nowhere",
        ),
        (
            Box::new(|p| {
                p.create_relationship("entity:person/ghost", PROVINCE, "LOCATED_IN", json!({}), "x")
                    .map(drop)
            }),
            "ghost",
        ),
        (
            Box::new(|p| {
                p.create_relationship(PROVINCE, PROVINCE, "HATES", json!({}), "x")
                    .map(drop)
            }),
            "HATES",
        ),
        (
            Box::new(|p| {
                p.create_entity(
                    "entity:person/with-id",
                    json!({"names": names("W"), "id": "entity:person/with-id"}),
                    "x",
                )
                .map(drop)
            }),
            "`id`",
        ),
        (Box::new(|p| p.delete_entity(PROVINCE)), "DELETES"),
    ];
    for (call, needle) in cases {
        let err = format!("{:#}", call(&mut p).unwrap_err());
        assert!(err.contains(needle), "expected `{needle}` in: {err}");
    }
    p.flush().unwrap();
    assert_eq!(walk(tmp.path()), before, "a refused call wrote something");
}

fn walk(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().display().to_string(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}
