//! The store format layer against FORMAT.md and the real NES database.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use nes::store::id::{AuthorId, EntityId, ObjectId, RelationshipId, VersionId};
use nes::store::json;
use nes::store::model::{self, Model, ENTITY_TYPES, RELATIONSHIP_TYPES};
use proptest::prelude::*;
use rayon::prelude::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// The real bundle
// ---------------------------------------------------------------------------------------

/// One NES document of the bundle: its `v2/`-relative path, raw bytes and parsed value.
struct Doc {
    rel: String,
    bytes: Vec<u8>,
    value: Value,
}

/// Reads every entity, version and author file under `v2/`, in parallel.
fn load_docs(v2: &Path) -> Vec<Doc> {
    let paths: Vec<String> = ["entity", "version", "author"]
        .iter()
        .flat_map(|top| walkdir::WalkDir::new(v2.join(top)))
        .map(|e| e.expect("walk v2/"))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(v2).unwrap().to_string_lossy().into_owned())
        .collect();
    paths
        .into_par_iter()
        .map(|rel| {
            let bytes = std::fs::read(v2.join(&rel)).expect("read file");
            let value = json::from_slice(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
            Doc { rel, bytes, value }
        })
        .collect()
}

fn entity_model(doc: &Value) -> Model<'_> {
    Model::Entity {
        entity_type: doc["type"].as_str().expect("entity type"),
        sub_type: doc["sub_type"].as_str(),
    }
}

/// The entity ID a `v2/entity/...` path encodes.
fn entity_id_of_path(rel: &str) -> EntityId {
    let short = rel
        .strip_prefix("entity/")
        .and_then(|r| r.strip_suffix(".json"))
        .expect("entity path");
    EntityId::parse(&format!("entity:{short}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn real_bundle_round_trips_validates_and_matches_snapshots() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::clone_bundle(&shared, &tmp.path().join("db"));
    let cloned = started.elapsed();
    let docs = load_docs(&repo.join("v2"));
    assert_eq!(docs.len(), 33_757, "entity + version + author files at data HEAD");

    // 1. Byte-exact canonical JSON round trip.
    let mismatched: Vec<&str> = docs
        .par_iter()
        .filter(|d| json::to_vec(&d.value) != d.bytes)
        .map(|d| d.rel.as_str())
        .collect();
    assert!(
        mismatched.is_empty(),
        "{} files differ, e.g. {:?}",
        mismatched.len(),
        &mismatched[..mismatched.len().min(5)]
    );

    let entities: Vec<&Doc> = docs.iter().filter(|d| d.rel.starts_with("entity/")).collect();
    assert_eq!(entities.len(), 13_506);

    // 2. Every entity validates, and its path is its ID's path.
    let invalid: Vec<String> = entities
        .par_iter()
        .filter_map(|d| {
            let id = entity_id_of_path(&d.rel);
            assert_eq!(id.rel_path(), d.rel);
            assert_eq!(Some(id.slug.as_str()), d.value["slug"].as_str(), "{}", d.rel);
            model::validate(entity_model(&d.value), &d.value).err().map(|v| {
                format!(
                    "{}: {}",
                    d.rel,
                    v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                )
            })
        })
        .collect();
    assert!(
        invalid.is_empty(),
        "{} invalid entities, e.g. {:?}",
        invalid.len(),
        &invalid[..invalid.len().min(5)]
    );

    // 3. complete() adds only the keys of FORMAT.md §9's drift files; keep_absent undoes it.
    let drifted: usize = entities
        .par_iter()
        .map(|d| {
            let mut completed = d.value.clone();
            model::complete(entity_model(&d.value), &mut completed);
            let changed = completed != d.value;
            model::keep_absent(&mut completed, &d.value);
            assert_eq!(completed, d.value, "{}: keep_absent(complete(doc)) != doc", d.rel);
            usize::from(changed)
        })
        .sum();
    assert_eq!(
        drifted, 961,
        "files whose shape predates the model (837 location identifiers + 124 parties)"
    );

    // 4. Versions: contiguous numbering; the latest snapshot minus computed fields is the entity.
    let mut versions: BTreeMap<String, Vec<(u64, &Doc)>> = BTreeMap::new();
    for d in docs.iter().filter(|d| d.rel.starts_with("version/")) {
        let (dir, file) = d.rel.rsplit_once('/').unwrap();
        let n: u64 = file.strip_suffix(".json").unwrap().parse().unwrap();
        versions.entry(dir.to_string()).or_default().push((n, d));
    }
    assert_eq!(versions.len(), 13_506, "one version directory per entity");
    entities
        .par_iter()
        .for_each(|entity| check_versions(entity, &versions));

    let authors = docs.iter().filter(|d| d.rel.starts_with("author/")).count();
    assert_eq!(authors, 2);
    eprintln!(
        "real bundle: {} files ({} entities, {} version dirs, {authors} authors) checked in {:.1?} (clone {:.1?})",
        docs.len(),
        entities.len(),
        versions.len(),
        started.elapsed(),
        cloned
    );
}

/// FORMAT.md §4 for one entity: its version files and the latest snapshot.
fn check_versions(entity: &Doc, versions: &BTreeMap<String, Vec<(u64, &Doc)>>) {
    let id = entity_id_of_path(&entity.rel);
    let object = ObjectId::Entity(id.clone());
    let dir = object.version_rel_path(1).rsplit_once('/').unwrap().0.to_string();
    let mut list = versions
        .get(&dir)
        .unwrap_or_else(|| panic!("no versions for {id}"))
        .clone();
    list.sort_by_key(|(n, _)| *n);
    let numbers: Vec<u64> = list.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        (1..=list.len() as u64).collect::<Vec<_>>(),
        "{id}: numbering"
    );
    for (n, v) in &list {
        assert_eq!(object.version_rel_path(*n), v.rel);
        assert_eq!(v.value["version_number"].as_u64(), Some(*n), "{}", v.rel);
        assert_eq!(
            v.value["entity_or_relationship_id"].as_str(),
            Some(id.to_string().as_str())
        );
    }

    let (n, latest) = list.last().unwrap();
    let mut snapshot = latest.value["snapshot"].clone();
    let snap = snapshot.as_object_mut().expect("snapshot object");
    assert_eq!(
        snap.remove("id"),
        Some(Value::from(id.to_string())),
        "{}",
        latest.rel
    );
    let version_id = VersionId::parse(&format!("version:{id}:{n}")).unwrap();
    let summary_id = snap["version_summary"].as_object_mut().unwrap().remove("id");
    assert_eq!(
        summary_id,
        Some(Value::from(version_id.to_string())),
        "{}",
        latest.rel
    );
    for (key, want) in model::computed_fields(entity_model(&entity.value)) {
        assert_eq!(snap.remove(key), Some(want), "{}: computed `{key}`", latest.rel);
    }
    assert!(
        snapshot == entity.value,
        "{}: latest snapshot differs from {}",
        latest.rel,
        entity.rel
    );

    // The entity's version_summary is the latest version's header.
    let mut header = latest.value.clone();
    header.as_object_mut().unwrap().remove("snapshot");
    assert_eq!(header, entity.value["version_summary"], "{}", latest.rel);
}

// ---------------------------------------------------------------------------------------
// IDs and paths
// ---------------------------------------------------------------------------------------

fn slug() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9-]{1,30}[a-z0-9]"
}

fn entity_id() -> impl Strategy<Value = EntityId> {
    (
        prop::sample::select(ENTITY_TYPES),
        any::<prop::sample::Index>(),
        any::<bool>(),
        slug(),
    )
        .prop_map(|(ty, pick, with_sub, slug)| {
            let subs = model::subtypes(ty).unwrap();
            let sub = (with_sub && !subs.is_empty()).then(|| *pick.get(subs));
            EntityId::new(ty, sub, &slug).unwrap()
        })
}

fn object_id() -> impl Strategy<Value = ObjectId> {
    prop_oneof![
        entity_id().prop_map(ObjectId::Entity),
        (entity_id(), entity_id(), prop::sample::select(RELATIONSHIP_TYPES))
            .prop_map(|(s, t, ty)| ObjectId::Relationship(RelationshipId::new(s, t, ty).unwrap())),
    ]
}

/// A path that stays inside `v2/`: relative, no `..`, no backslash, no empty segment.
fn assert_safe(path: &str) {
    assert!(!path.starts_with('/'), "absolute: {path}");
    assert!(!path.contains('\\'), "backslash: {path}");
    assert!(path.ends_with(".json"), "{path}");
    for segment in path.split('/') {
        assert!(
            !segment.is_empty() && segment != "." && segment != "..",
            "bad segment in {path}"
        );
    }
}

proptest! {
    #[test]
    fn object_ids_round_trip_to_safe_paths(id in object_id(), n in 1u64..1_000_000) {
        prop_assert_eq!(&ObjectId::parse(&id.to_string()).unwrap(), &id);
        assert_safe(&id.rel_path());
        assert_safe(&id.version_rel_path(n));
        let version = VersionId::parse(&format!("version:{id}:{n}")).unwrap();
        prop_assert_eq!(&version.object, &id);
        prop_assert_eq!(version.number, n);
        prop_assert_eq!(VersionId::parse(&version.to_string()).unwrap(), version);
    }

    #[test]
    fn distinct_ids_have_distinct_paths(a in object_id(), b in object_id(), n in 1u64..100, m in 1u64..100) {
        if a != b {
            prop_assert_ne!(a.rel_path(), b.rel_path());
            prop_assert_ne!(a.version_rel_path(n), b.version_rel_path(m));
        }
        if n != m {
            prop_assert_ne!(a.version_rel_path(n), a.version_rel_path(m));
        }
        // Object files and version files never collide.
        prop_assert_ne!(a.rel_path(), b.version_rel_path(n));
    }

    #[test]
    fn author_ids_round_trip(slug in slug()) {
        let id = AuthorId::new(&slug).unwrap();
        prop_assert_eq!(AuthorId::parse(&id.to_string()).unwrap(), id.clone());
        assert_safe(&id.rel_path());
    }

    /// Whatever the text, an ID that parses maps to a safe path.
    #[test]
    fn hostile_text_never_escapes(s in "(entity:|relationship:|version:|author:)[a-z_./:\\\\A-Z0-9-]{0,40}") {
        if let Ok(id) = ObjectId::parse(&s) {
            assert_safe(&id.rel_path());
        }
        if let Ok(id) = VersionId::parse(&s) {
            assert_safe(&id.rel_path());
        }
        if let Ok(id) = AuthorId::parse(&s) {
            assert_safe(&id.rel_path());
        }
    }
}

#[test]
fn ids_with_path_tricks_are_rejected() {
    for bad in [
        "entity:person/..",
        "entity:person/../x",
        "entity:../person/abc",
        "entity:person//abc",
        "entity:/person/abc",
        "entity:person/abc/",
        "entity:person\\abc",
        "entity:location/ward/..\\..\\x",
        "entity:location/./abc",
        "entity:person/ab c",
    ] {
        assert!(EntityId::parse(bad).is_err(), "{bad}");
    }
    assert!(AuthorId::parse("author:../etc").is_err());
    assert!(VersionId::parse("version:entity:person/abc:../1").is_err());
}

// ---------------------------------------------------------------------------------------
// Canonical JSON
// ---------------------------------------------------------------------------------------

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[\\x00-\\x20\"\\\\/\u{2028}\u{200d}a-zअ-ह]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn canonical_json_round_trips(v in json_value()) {
        let bytes = json::to_vec(&v);
        let back = json::from_slice(&bytes).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(json::to_vec(&back), bytes.clone());
        prop_assert!(!bytes.ends_with(b"\n"));
    }

    #[test]
    fn float_repr_round_trips(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
        let text = json::python_float_repr(x);
        let back: f64 = text.parse().unwrap();
        prop_assert_eq!(back.to_bits(), x.to_bits(), "{}", text);
        prop_assert!(text.contains('.') || text.contains('e'), "{}", text);
    }
}

#[test]
fn floats_match_python_repr() {
    // Each pair was checked against CPython's `json.dumps`.
    let cases: &[(f64, &str)] = &[
        (0.1, "0.1"),
        (1e16, "1e+16"),
        (1e-5, "1e-05"),
        (123456789012345.0, "123456789012345.0"),
        (0.0001, "0.0001"),
        (20300.0, "20300.0"),
        (241.15, "241.15"),
        (-0.0, "-0.0"),
        (9999999999999998.0, "9999999999999998.0"),
        (1.5e20, "1.5e+20"),
        (2.5e-5, "2.5e-05"),
        (1e22, "1e+22"),
        (0.1 + 0.2, "0.30000000000000004"),
    ];
    for (x, want) in cases {
        assert_eq!(json::to_string(&Value::from(*x)), *want, "{x:?}");
    }
}

#[test]
fn canonical_layout() {
    let v: Value =
        serde_json::from_str(r#"{"z": {"b": [1, 2.5, []], "a": {}}, "a": "x/y\u2028\u0007", "ä": null}"#)
            .unwrap();
    let want = "{\n  \"a\": \"x/y\u{2028}\\u0007\",\n  \"z\": {\n    \"a\": {},\n    \"b\": [\n      1,\n      2.5,\n      []\n    ]\n  },\n  \"ä\": null\n}";
    assert_eq!(json::to_string(&v), want);
    let keys: HashSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 3);
}
