//! Evolving existing data: bulk updates and moves, through the runner's real commit path,
//! on the real database bundle and on small generated repositories.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use nes::git::repo::DataRepo;
use nes::migration::registry::Registry;
use nes::migration::runner::{MigrationReport, Outcome, RunOptions, Runner, Target};
use nes::prelude::*;
use nes::store::publication::{BulkOutcome, MoveOutcome};
use proptest::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

type MigrateFn = fn(&mut Context) -> Result<()>;

/// A data repository with a directory for migration sources.
struct Fixture {
    _dir: TempDir,
    repo: DataRepo,
    migrations: PathBuf,
}

impl Fixture {
    /// An empty repository.
    fn empty() -> Self {
        let dir = common::fast_tempdir();
        let repo = DataRepo::init(&dir.path().join("db"), None).unwrap();
        common::set_identity(repo.root());
        Self::with(dir, repo)
    }

    /// A checkout of the real bundle, or `None` (skipped) without the shared data.
    fn real() -> Option<Self> {
        let shared = common::shared_dir()?;
        let dir = common::fast_tempdir();
        let started = Instant::now();
        let root = common::clone_bundle(&shared, &dir.path().join("db"));
        eprintln!("clone: {:.1?}", started.elapsed());
        let repo = DataRepo::open(&root).unwrap();
        Some(Self::with(dir, repo))
    }

    fn with(dir: TempDir, repo: DataRepo) -> Self {
        let migrations = dir.path().join("migrations");
        Self {
            _dir: dir,
            repo,
            migrations,
        }
    }

    fn root(&self) -> &Path {
        self.repo.root()
    }

    /// Runs one migration (prefix from its name) and asserts it completed.
    fn run(&self, name: &'static str, migrate: MigrateFn) -> MigrationReport {
        let started = Instant::now();
        let report = self.try_run(name, migrate);
        eprintln!("{name}: {:.1?}", started.elapsed());
        assert_eq!(report.status, Outcome::Completed, "{name}: {:?}", report.error);
        report
    }

    fn try_run(&self, name: &'static str, migrate: MigrateFn) -> MigrationReport {
        std::fs::create_dir_all(self.migrations.join(name)).unwrap();
        std::fs::write(self.migrations.join(name).join("README.md"), "test").unwrap();
        let migration = common::migration(name, migrate);
        let registry = Registry::new(vec![migration]).unwrap();
        let options = RunOptions {
            progress: false,
            stream_logs: false,
            push: false,
            ..RunOptions::default()
        };
        let mut report = Runner::new(&registry, &self.migrations)
            .run(&self.repo, &Target::AllPending, &options)
            .unwrap();
        assert_eq!(report.migrations.len(), 1);
        report.migrations.remove(0)
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.root())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// `git diff -M --name-status from HEAD` below `v2/`, leaving out migration logs.
    fn diff_since(&self, from: &str) -> Vec<String> {
        self.git(&[
            "diff",
            "-M",
            "--name-status",
            from,
            "HEAD",
            "--",
            "v2",
            ":!v2/migration-logs",
        ])
        .lines()
        .map(str::to_string)
        .collect()
    }

    fn read_json(&self, rel: &str) -> Value {
        let bytes = std::fs::read(self.root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        serde_json::from_slice(&bytes).unwrap()
    }

    fn exists(&self, rel: &str) -> bool {
        self.root().join(rel).exists()
    }

    /// Every file below `v2/` (migration logs aside) with its bytes.
    fn files(&self) -> BTreeMap<String, Vec<u8>> {
        walkdir::WalkDir::new(self.root().join("v2"))
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(self.root()).unwrap();
                (
                    rel.to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .filter(|(rel, _)| !rel.starts_with("v2/migration-logs/"))
            .collect()
    }
}

// ---- bulk update on the real data --------------------------------------------------------

static BULK: Mutex<Vec<BulkOutcome>> = Mutex::new(Vec::new());

fn tag_districts(ctx: &mut Context) -> Result<()> {
    // The data's own author: its file exists, so the diff holds only the districts.
    ctx.use_author("Damodar Dahal")?;
    let outcome = ctx.update_each("location", Some("district"), "Add district codes", |e| {
        let mut doc = e.doc.clone();
        let code = e.id.slug.to_uppercase();
        match doc["attributes"].as_object_mut() {
            Some(attributes) => {
                attributes.insert("district_code".into(), json!(code));
            }
            None => doc["attributes"] = json!({ "district_code": code }),
        }
        Ok(Some(doc))
    })?;
    BULK.lock().unwrap().push(outcome);
    Ok(())
}

#[test]
fn a_bulk_update_of_every_district_versions_exactly_those_and_reruns_as_a_no_op() {
    let Some(f) = Fixture::real() else { return };
    let before = f.head();
    let report = f.run("006-district-codes", tag_districts);
    assert_eq!(report.stats.entities_updated, 77);
    assert_eq!(report.stats.versions_created, 77);
    assert_eq!(report.stats.entities_created + report.stats.entities_deleted, 0);
    assert_eq!(
        BULK.lock().unwrap()[0],
        BulkOutcome {
            seen: 77,
            updated: 77,
            unchanged: 0
        }
    );
    assert_eq!(f.git(&["status", "--porcelain"]), "");

    let diff = f.diff_since(&before);
    assert_eq!(diff.len(), 154, "{diff:#?}");
    let entity = |line: &str| {
        line.strip_prefix("M\tv2/entity/location/district/")
            .is_some_and(|p| p.ends_with(".json"))
    };
    let version = |line: &str| {
        line.strip_prefix("A\tv2/version/entity/location/district/")
            .is_some_and(|p| p.ends_with("/2.json"))
    };
    assert_eq!(diff.iter().filter(|l| entity(l)).count(), 77, "{diff:#?}");
    assert_eq!(diff.iter().filter(|l| version(l)).count(), 77, "{diff:#?}");

    let doc = f.read_json("v2/entity/location/district/acham.json");
    assert_eq!(doc["attributes"]["district_code"], "ACHAM");
    assert_eq!(doc["version_summary"]["version_number"], 2);
    assert_eq!(doc["version_summary"]["change_description"], "Add district codes");
    let v2 = f.read_json("v2/version/entity/location/district/acham/2.json");
    assert_eq!(v2["version_number"], 2);
    assert_eq!(v2["snapshot"]["attributes"]["district_code"], "ACHAM");
    assert_eq!(v2["snapshot"]["id"], "entity:location/district/acham");
    let v1 = f.read_json("v2/version/entity/location/district/acham/1.json");
    assert_eq!(v1["version_number"], 1);
    assert_eq!(
        doc["created_at"], v1["snapshot"]["created_at"],
        "an update keeps created_at"
    );

    // The same update again finds nothing to change.
    let again_from = f.head();
    let again = f.run("007-district-codes-again", tag_districts);
    assert_eq!(again.stats.entities_updated + again.stats.versions_created, 0);
    assert_eq!(
        BULK.lock().unwrap()[1],
        BulkOutcome {
            seen: 77,
            updated: 0,
            unchanged: 77
        }
    );
    assert_eq!(f.diff_since(&again_from), Vec::<String>::new());
}

// ---- move on the real data ---------------------------------------------------------------

static MOVES: Mutex<Vec<MoveOutcome>> = Mutex::new(Vec::new());

const ACHAM: &str = "entity:location/district/acham";
const ACHHAM: &str = "entity:location/district/achham";

fn move_acham(ctx: &mut Context) -> Result<()> {
    ctx.use_author("Damodar Dahal")?;
    let outcome = ctx.move_entity(ACHAM, ACHHAM, "Spell Achham as the census does")?;
    MOVES.lock().unwrap().push(outcome);
    Ok(())
}

/// Entity files whose bytes mention `id` (quoted, so `acham` does not match `acham-1`).
fn files_mentioning(files: &BTreeMap<String, Vec<u8>>, id: &str) -> BTreeSet<String> {
    let needle = format!("\"{id}\"");
    files
        .iter()
        .filter(|(rel, _)| rel.starts_with("v2/entity/"))
        .filter(|(_, bytes)| String::from_utf8_lossy(bytes).contains(&needle))
        .map(|(rel, _)| rel.clone())
        .collect()
}

#[test]
fn moving_a_district_repoints_its_referrers_and_git_sees_a_rename() {
    let Some(f) = Fixture::real() else { return };
    let before_files = f.files();
    let mut referrers = files_mentioning(&before_files, ACHAM);
    // Its own file names it in `version_summary`; the others refer to it: municipalities
    // and constituencies by `parent`, candidates by their address's `location_id`.
    assert!(referrers.remove("v2/entity/location/district/acham.json"));
    assert!(referrers.len() >= 8, "{referrers:#?}");
    let before = f.head();

    let report = f.run("006-move-acham", move_acham);
    let outcome = MOVES.lock().unwrap().pop().unwrap();
    assert_eq!(outcome.moved, [(ACHAM.to_string(), ACHHAM.to_string())]);
    assert_eq!(outcome.referrers_updated as usize, referrers.len());
    assert!(outcome.relationships_moved.is_empty());
    assert_eq!(report.stats.entities_created, 1);
    assert_eq!(report.stats.entities_deleted, 1);
    assert_eq!(report.stats.entities_updated as usize, referrers.len());
    assert_eq!(f.git(&["status", "--porcelain"]), "");

    // The old file is gone, its version stays; the new entity starts at version 1.
    assert!(!f.exists("v2/entity/location/district/acham.json"));
    assert!(f.exists("v2/version/entity/location/district/acham/1.json"));
    let moved = f.read_json("v2/entity/location/district/achham.json");
    assert_eq!(moved["slug"], "achham");
    assert_eq!(moved["version_summary"]["version_number"], 1);
    assert_eq!(
        moved["version_summary"]["change_description"],
        format!("Spell Achham as the census does (moved from {ACHAM})")
    );
    let old = &before_files["v2/entity/location/district/acham.json"];
    let old: Value = serde_json::from_slice(old).unwrap();
    for key in ["names", "parent", "area", "attributions"] {
        assert_eq!(moved[key], old[key], "{key}");
    }
    // A moved entity is a new document: the 2026 writer's full shape, with its prefix, and
    // the keys the 2025 file lacked as `null` (FORMAT.md §9.1: identifier `name`).
    assert_eq!(moved["entity_prefix"], "location/district");
    let mut identifiers = old["identifiers"].clone();
    for item in identifiers.as_array_mut().unwrap() {
        item["name"] = Value::Null;
    }
    assert_eq!(moved["identifiers"], identifiers);
    let v1 = f.read_json("v2/version/entity/location/district/achham/1.json");
    assert_eq!(v1["snapshot"]["id"], ACHHAM);

    // Every referrer has a new version pointing at the new ID, and nothing else mentions
    // the old one.
    for rel in &referrers {
        let doc = f.read_json(rel);
        let was: Value = serde_json::from_slice(&before_files[rel]).unwrap();
        let text = String::from_utf8(std::fs::read(f.root().join(rel)).unwrap()).unwrap();
        assert!(text.contains(&format!("\"{ACHHAM}\"")), "{rel}");
        let n = doc["version_summary"]["version_number"].as_u64().unwrap();
        assert_eq!(
            n,
            was["version_summary"]["version_number"].as_u64().unwrap() + 1,
            "{rel}"
        );
        let version = rel
            .replace("v2/entity/", "v2/version/entity/")
            .replace(".json", &format!("/{n}.json"));
        assert!(f.exists(&version), "{version}");
    }
    assert_eq!(files_mentioning(&f.files(), ACHAM), BTreeSet::new());

    // Git sees the entity file renamed, not deleted and added.
    let diff = f.diff_since(&before);
    for line in diff.iter().filter(|l| l.starts_with('R')) {
        eprintln!("rename: {line}");
    }
    assert!(
        diff.iter().any(|l| l.starts_with('R')
            && l.ends_with(
                "\tv2/entity/location/district/acham.json\tv2/entity/location/district/achham.json"
            )),
        "{diff:#?}"
    );
    assert_eq!(diff.len(), 2 + 2 * referrers.len(), "{diff:#?}");
}

// ---- move with relationships on a small repository ---------------------------------------

const RAM: &str = "entity:person/ram-thapa";
const RAM_NEW: &str = "entity:person/ram-bahadur-thapa";
const SITA: &str = "entity:person/sita-thapa";
const PARTY: &str = "entity:organization/political_party/test-party";

fn person(name: &str) -> Value {
    json!({"names": [{"kind": "PRIMARY", "en": {"full": name}}]})
}

fn seed_people(ctx: &mut Context) -> Result<()> {
    ctx.create_entity(RAM, person("Ram Thapa"), "Add people")?;
    ctx.create_entity(SITA, person("Sita Thapa"), "Add people")?;
    ctx.create_entity(PARTY, person("Test Party"), "Add parties")?;
    ctx.create_relationship(
        RAM,
        PARTY,
        "MEMBER_OF",
        json!({"start_date": "2020-01-01"}),
        "Add memberships",
    )?;
    ctx.create_relationship(SITA, RAM, "PARENT_OF", json!({}), "Add families")?;
    ctx.create_relationship(SITA, PARTY, "MEMBER_OF", json!({}), "Add memberships")?;
    Ok(())
}

fn move_ram(ctx: &mut Context) -> Result<()> {
    let outcome = ctx.move_entity(RAM, RAM_NEW, "Use the full name")?;
    MOVES.lock().unwrap().push(outcome);
    Ok(())
}

fn rel_path(src: &str, tgt: &str, ty: &str) -> String {
    let short = |id: &str| id.strip_prefix("entity:").unwrap().to_string();
    format!("v2/relationship/{}/{}/{ty}.json", short(src), short(tgt))
}

#[test]
fn moving_a_person_moves_their_relationships() {
    let f = Fixture::empty();
    f.run("001-people", seed_people);
    let before = f.head();
    // Another test shares MOVES; take this test's outcome by its content.
    let report = f.run("002-move-ram", move_ram);
    let outcome = {
        let mut moves = MOVES.lock().unwrap();
        let at = moves.iter().position(|m| m.moved[0].0 == RAM).unwrap();
        moves.remove(at)
    };
    assert_eq!(outcome.referrers_updated, 0);
    assert_eq!(outcome.relationships_moved.len(), 2);
    let s = report.stats;
    assert_eq!(
        (s.entities_created, s.entities_deleted, s.entities_updated),
        (1, 1, 0)
    );
    assert_eq!((s.relationships_created, s.relationships_deleted), (2, 2));
    assert_eq!(s.versions_created, 3);

    assert!(!f.exists("v2/entity/person/ram-thapa.json"));
    assert!(f.exists("v2/version/entity/person/ram-thapa/1.json"));
    let sita_party = rel_path(SITA, PARTY, "MEMBER_OF");
    let untouched = f.read_json(&sita_party);
    assert_eq!(untouched["version_summary"]["version_number"], 1);

    let membership = rel_path(RAM_NEW, PARTY, "MEMBER_OF");
    let doc = f.read_json(&membership);
    assert_eq!(doc["source_entity_id"], RAM_NEW);
    assert_eq!(doc["start_date"], "2020-01-01");
    assert_eq!(doc["version_summary"]["version_number"], 1);
    let old_id = format!(
        "relationship:person/ram-thapa:{}:MEMBER_OF",
        &PARTY["entity:".len()..]
    );
    assert_eq!(
        doc["version_summary"]["change_description"],
        format!("Use the full name (moved from {old_id})")
    );
    assert!(!f.exists(&rel_path(RAM, PARTY, "MEMBER_OF")));
    assert!(f.exists(
        &rel_path(RAM, PARTY, "MEMBER_OF")
            .replace("v2/relationship/", "v2/version/relationship/")
            .replace(".json", "/1.json")
    ));
    let parent = f.read_json(&rel_path(SITA, RAM_NEW, "PARENT_OF"));
    assert_eq!(parent["target_entity_id"], RAM_NEW);
    assert!(!f.exists(&rel_path(SITA, RAM, "PARENT_OF")));

    let diff = f.diff_since(&before);
    assert!(
        diff.iter()
            .any(|l| l.starts_with('R') && l.ends_with("\tv2/entity/person/ram-bahadur-thapa.json")),
        "{diff:#?}"
    );
    assert_eq!(f.git(&["status", "--porcelain"]), "");
}

fn move_onto_existing(ctx: &mut Context) -> Result<()> {
    ctx.move_entity(RAM, SITA, "Merge")?;
    Ok(())
}

fn move_across_types(ctx: &mut Context) -> Result<()> {
    ctx.move_entity(RAM, "entity:organization/ram-thapa", "Reclassify")?;
    Ok(())
}

fn move_missing(ctx: &mut Context) -> Result<()> {
    ctx.move_entity("entity:person/nobody", RAM_NEW, "Rename")?;
    Ok(())
}

#[test]
fn moves_are_refused_onto_an_existing_id_across_types_and_from_a_missing_id() {
    let f = Fixture::empty();
    f.run("001-people", seed_people);
    let head = f.head();
    for (name, migrate, wanted) in [
        (
            "002-onto",
            move_onto_existing as MigrateFn,
            "entity:person/sita-thapa already exists",
        ),
        ("002-across", move_across_types, "the type must stay `person`"),
        (
            "002-missing",
            move_missing,
            "entity:person/nobody: it does not exist",
        ),
    ] {
        let report = f.try_run(name, migrate);
        assert_eq!(report.status, Outcome::Failed, "{name}");
        assert!(
            report.error.iter().any(|e| e.contains(wanted)),
            "{name}: {:?}",
            report.error
        );
        assert_eq!(f.head(), head);
    }
}

// ---- property: a bulk update touches only what it updates ------------------------------

const DISTRICTS: usize = 10;

static SUBSET: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn district_id(i: usize) -> String {
    format!("entity:location/district/district-{i:02}")
}

fn seed_districts(ctx: &mut Context) -> Result<()> {
    ctx.create_entity("entity:location/province/koshi", person("Koshi"), "Add provinces")?;
    for i in 0..DISTRICTS {
        let mut fields = person(&format!("District {i}"));
        fields["parent"] = json!("entity:location/province/koshi");
        ctx.create_entity(&district_id(i), fields, "Add districts")?;
    }
    Ok(())
}

fn tag_subset(ctx: &mut Context) -> Result<()> {
    let subset = SUBSET.lock().unwrap().clone();
    ctx.update_each_of(
        &[("location", None), ("location", Some("district"))],
        "Tag some",
        |e| {
            if !subset.contains(&e.id.to_string()) {
                return Ok(None);
            }
            let mut doc = e.doc.clone();
            doc["tags"] = json!(["tagged"]);
            Ok(Some(doc))
        },
    )?;
    Ok(())
}

proptest! {
    // Each case builds a repository through the runner; 12 keep the test under a second.
    // No failure file: proptest looks for it next to a lib.rs that tests/ does not have.
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_bulk_update_never_changes_files_it_does_not_update(
        chosen in proptest::collection::vec(any::<bool>(), DISTRICTS)
    ) {
        let subset: BTreeSet<String> =
            (0..DISTRICTS).filter(|&i| chosen[i]).map(district_id).collect();
        *SUBSET.lock().unwrap() = subset.clone();
        let f = Fixture::empty();
        f.run("001-districts", seed_districts);
        let before = f.files();
        let report = f.run("002-tag", tag_subset);
        prop_assert_eq!(report.stats.entities_updated as usize, subset.len());
        let after = f.files();

        let updated_paths: BTreeSet<String> = subset
            .iter()
            .map(|id| format!("v2/entity/{}.json", id.strip_prefix("entity:").unwrap()))
            .collect();
        for (rel, bytes) in &before {
            if updated_paths.contains(rel) {
                prop_assert_ne!(&after[rel], bytes, "{} should have changed", rel);
            } else {
                prop_assert_eq!(after.get(rel), Some(bytes), "{} changed", rel);
            }
        }
        let added: BTreeSet<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
        let expected: BTreeSet<String> = subset
            .iter()
            .map(|id| format!("v2/version/entity/{}/2.json", id.strip_prefix("entity:").unwrap()))
            .collect();
        prop_assert_eq!(added, expected.iter().collect::<BTreeSet<_>>());
    }
}

// ---- several moves at once -----------------------------------------------------------

const PROVINCE: &str = "entity:location/province/koshi";
const DISTRICT: &str = "entity:location/district/old-district";
const DISTRICT_NEW: &str = "entity:location/district/new-district";
const TOWN: &str = "entity:location/municipality/old-town";
const TOWN_NEW: &str = "entity:location/rural_municipality/old-town";
const WARD: &str = "entity:location/ward/old-town-ward-1";

fn seed_chain(ctx: &mut Context) -> Result<()> {
    ctx.create_entity(PROVINCE, person("Koshi"), "Add provinces")?;
    for (id, parent) in [(DISTRICT, PROVINCE), (TOWN, DISTRICT), (WARD, TOWN)] {
        let mut fields = person(id);
        fields["parent"] = json!(parent);
        ctx.create_entity(id, fields, "Add locations")?;
    }
    Ok(())
}

fn move_chain(ctx: &mut Context) -> Result<()> {
    // The child first: the API orders creations so the new district exists before the town.
    let outcome = ctx.move_entities(&[(TOWN, TOWN_NEW), (DISTRICT, DISTRICT_NEW)], "Reorganise")?;
    MOVES.lock().unwrap().push(outcome);
    Ok(())
}

#[test]
fn moving_a_parent_and_child_together_links_the_new_ids_in_one_version_each() {
    let f = Fixture::empty();
    f.run("001-chain", seed_chain);
    let report = f.run("002-move-chain", move_chain);
    let outcome = {
        let mut moves = MOVES.lock().unwrap();
        let at = moves.iter().position(|m| m.moved.len() == 2).unwrap();
        moves.remove(at)
    };
    assert_eq!(
        outcome.moved,
        [
            (DISTRICT.to_string(), DISTRICT_NEW.to_string()),
            (TOWN.to_string(), TOWN_NEW.to_string())
        ]
    );
    // Only the ward refers to a moved entity from outside the moves.
    assert_eq!(outcome.referrers_updated, 1);
    let s = report.stats;
    assert_eq!(
        (s.entities_created, s.entities_deleted, s.entities_updated),
        (2, 2, 1)
    );

    let town = f.read_json("v2/entity/location/rural_municipality/old-town.json");
    assert_eq!(town["parent"], DISTRICT_NEW);
    assert_eq!(town["sub_type"], "rural_municipality");
    assert_eq!(town["version_summary"]["version_number"], 1);
    let snapshot = f.read_json("v2/version/entity/location/rural_municipality/old-town/1.json");
    assert_eq!(snapshot["snapshot"]["location_type"], "rural_municipality");
    let ward = f.read_json("v2/entity/location/ward/old-town-ward-1.json");
    assert_eq!(ward["parent"], TOWN_NEW);
    assert_eq!(ward["version_summary"]["version_number"], 2);
    assert_eq!(
        ward["version_summary"]["change_description"],
        format!("Reorganise (references to {TOWN} moved)")
    );
    assert!(!f.exists("v2/entity/location/municipality/old-town.json"));
    assert!(!f.exists("v2/entity/location/district/old-district.json"));
}
