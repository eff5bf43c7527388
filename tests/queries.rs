//! Queries inside a migration (`list_entities`, `find_entities_by_name`, by tag and by
//! identifier) answered from the run's catalog: same results and order as reading every
//! file, the run's own writes seen at once, and the service's 004 reproduced on real data.

mod common;

#[path = "../benches/queries_support/mod.rs"]
mod queries_support;

use std::collections::BTreeMap;

use nes::git::repo::DataRepo;
use nes::prelude::*;
use queries_support::{dry_publication, port_004};

#[test]
fn the_port_of_004_reproduces_the_real_constituencies() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = common::fast_tempdir();
    let root = common::clone_bundle(&shared, &dir.path().join("db"));
    // The 165 constituencies the service's 004 wrote, as HEAD has them.
    let mut real = BTreeMap::new();
    for entry in std::fs::read_dir(root.join("v2/entity/location/constituency")).unwrap() {
        let doc: Value = serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        let name = |lang: &str| doc["names"][0][lang]["full"].as_str().unwrap().to_string();
        let id = format!("entity:location/constituency/{}", doc["slug"].as_str().unwrap());
        real.insert(
            id,
            (
                name("en"),
                name("ne"),
                doc["parent"].as_str().unwrap().to_string(),
            ),
        );
    }
    assert_eq!(real.len(), 165);
    // The repository as 004 found it: after 003.
    common::git(&root, &["checkout", "--quiet", "HEAD~2"]);
    assert!(!root.join("v2/entity/location/constituency").exists());
    let mut publication = dry_publication(&root);
    let csv = shared.join("nes-format/sources/004-source-election-constituencies/constituencies.csv");
    let port = port_004(&mut publication, &csv).unwrap();
    assert_eq!(
        (port.by_slug, port.by_name),
        (19, 58),
        "19 by the table, 58 by name"
    );
    assert_eq!(port.created, real);
}

fn person(name: &str, tags: &[&str], wikidata: Option<&str>) -> Value {
    let identifiers = wikidata.map(|q| json!([{"scheme": "wikidata", "value": q}]));
    json!({
        "names": [{"kind": "PRIMARY", "en": {"full": name}}],
        "tags": tags,
        "identifiers": identifiers,
    })
}

fn ids(found: Vec<Entity>) -> Vec<String> {
    found.into_iter().map(|e| e.id.to_string()).collect()
}

#[test]
fn queries_see_the_runs_writes_and_keep_the_listing_order() {
    let dir = common::fast_tempdir();
    let repo = DataRepo::init(&dir.path().join("db"), None).unwrap();
    let mut p = dry_publication(repo.root());
    // Queries before any write build the indexes over an empty repository.
    assert!(p
        .find_entities_by_name("person", "Sita Sharma")
        .unwrap()
        .is_empty());
    assert!(p.list_entities("person", None, &[]).unwrap().is_empty());

    p.create_entity(
        "entity:person/sita-sharma-2",
        person("Sita Sharma", &["mp"], None),
        "c",
    )
    .unwrap();
    p.create_entity(
        "entity:person/sita-sharma-1",
        person("sita  sharma", &[], Some("Q1")),
        "c",
    )
    .unwrap();
    p.create_entity(
        "entity:person/ram-thapa",
        person("Ram Thapa", &["mp"], Some("Q2")),
        "c",
    )
    .unwrap();
    p.create_entity(
        "entity:location/province/bagmati",
        person("Sita Sharma", &[], None),
        "c",
    )
    .unwrap();

    // Exact names first, then normalised ones; each sorted by ID; only below the prefix.
    assert_eq!(
        ids(p.find_entities_by_name("person", "Sita Sharma").unwrap()),
        ["entity:person/sita-sharma-2", "entity:person/sita-sharma-1"]
    );
    assert_eq!(
        ids(p.find_entities_by_tag("person", "mp").unwrap()),
        ["entity:person/ram-thapa", "entity:person/sita-sharma-2"]
    );
    assert_eq!(
        ids(p.find_entities_by_identifier("person", "Q1").unwrap()),
        ["entity:person/sita-sharma-1"]
    );
    assert_eq!(
        ids(p.list_entities("person", None, &[]).unwrap()),
        [
            "entity:person/ram-thapa",
            "entity:person/sita-sharma-1",
            "entity:person/sita-sharma-2"
        ]
    );

    // An update moves the entity in the indexes; a listing of another type replaces the
    // held documents, and the person indexes stay right.
    p.patch_entity(
        "entity:person/sita-sharma-2",
        json!({"names": [{"kind": "PRIMARY", "en": {"full": "Sita Devi"}}], "tags": null}),
        "u",
    )
    .unwrap();
    assert_eq!(
        ids(p.list_entities("location", None, &[]).unwrap()),
        ["entity:location/province/bagmati"]
    );
    assert_eq!(
        ids(p.find_entities_by_name("person", "Sita Sharma").unwrap()),
        ["entity:person/sita-sharma-1"]
    );
    assert_eq!(
        ids(p.find_entities_by_name("person", "sita devi").unwrap()),
        ["entity:person/sita-sharma-2"]
    );
    assert_eq!(
        ids(p.find_entities_by_tag("person", "mp").unwrap()),
        ["entity:person/ram-thapa"]
    );
    let listed = p
        .list_entities("person", None, &[("names.0.en.full", json!("Sita Devi"))])
        .unwrap();
    assert_eq!(ids(listed), ["entity:person/sita-sharma-2"]);

    // A move and a deletion.
    p.move_entity("entity:person/ram-thapa", "entity:person/ram-bahadur-thapa", "m")
        .unwrap();
    assert_eq!(
        ids(p.find_entities_by_identifier("person", "Q2").unwrap()),
        ["entity:person/ram-bahadur-thapa"]
    );
    p.allow_deletes(true);
    p.delete_entity("entity:person/sita-sharma-1").unwrap();
    assert!(p.find_entities_by_identifier("person", "Q1").unwrap().is_empty());
    assert_eq!(
        ids(p.list_entities("person", None, &[]).unwrap()),
        ["entity:person/ram-bahadur-thapa", "entity:person/sita-sharma-2"]
    );
    // Indexes of a prefix and of a prefix above it both follow a write.
    assert_eq!(
        ids(p
            .find_entities_by_name("location/province", "Sita Sharma")
            .unwrap()),
        ["entity:location/province/bagmati"]
    );
    assert_eq!(
        ids(p.find_entities_by_name("location", "Sita Sharma").unwrap()),
        ["entity:location/province/bagmati"]
    );
    p.patch_entity(
        "entity:location/province/bagmati",
        json!({"names": [{"kind": "PRIMARY", "en": {"full": "Bagmati"}}]}),
        "u",
    )
    .unwrap();
    for prefix in ["location", "location/province"] {
        assert!(
            p.find_entities_by_name(prefix, "Sita Sharma").unwrap().is_empty(),
            "{prefix}"
        );
        assert_eq!(
            ids(p.find_entities_by_name(prefix, "bagmati").unwrap()),
            ["entity:location/province/bagmati"]
        );
    }
    // A prefix no registered prefix starts with is refused.
    let err = p
        .find_entities_by_name("organization/club", "x")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no registered prefix starts with `organization/club`"),
        "{err}"
    );
}

/// On the real data: the catalog answers as reading and parsing every file does.
#[test]
fn indexed_answers_equal_a_full_read_on_real_data() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = common::fast_tempdir();
    let root = common::clone_bundle_named(&shared, "nes-database-2026.bundle", &dir.path().join("db"));
    let mut p = dry_publication(&root);
    let districts = p.list_entities("location/district", None, &[]).unwrap();
    assert_eq!(districts.len(), 77);
    for d in &districts {
        for lang in ["en", "ne"] {
            let name = d.doc["names"][0][lang]["full"].as_str().unwrap();
            // A full read: every location whose name part equals it.
            let expected: Vec<String> = p
                .list_entities("location", None, &[])
                .unwrap()
                .into_iter()
                .filter(|e| {
                    ["names", "misspelled_names"].iter().any(|list| {
                        e.doc[*list].as_array().into_iter().flatten().any(|n| {
                            ["en", "ne"].iter().any(|l| {
                                n[*l]
                                    .as_object()
                                    .is_some_and(|parts| parts.values().any(|v| v == name))
                            })
                        })
                    })
                })
                .map(|e| e.id.to_string())
                .collect();
            let found = ids(p.find_entities_by_name("location", name).unwrap());
            assert_eq!(&found[..expected.len()], &expected[..], "{name}");
            assert!(found.contains(&d.id.to_string()), "{name}");
        }
    }
}
