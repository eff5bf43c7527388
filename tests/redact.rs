//! Phase A of taking personal data back: `ctx.redact` in a migration, on the real 2026
//! database (every person's family names, in entity files and in every version snapshot)
//! and on small fixtures (one entity, orphaned versions, refusals, dry runs).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nes::git::repo::DataRepo;
use nes::migration::registry::{Migration, Registry};
use nes::migration::runner::{Outcome, RunOptions, Runner, Target};
use nes::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

// The contributor guide's worked example, character for character (tests/guide.rs).
/// The fields the service's 007 set to null in entity files, leaving them in every version.
const FAMILY: [&str; 3] = [
    "personal_details.father_name",
    "personal_details.mother_name",
    "personal_details.spouse_name",
];
const REASON: &str = "Family members are not public figures (upstream 007, done right)";

fn migrate(ctx: &mut Context) -> Result<()> {
    let outcome = ctx.redact("person", &FAMILY, REASON)?;
    ctx.log(format!(
        "{} persons redacted, {} earlier versions cleaned",
        outcome.entities, outcome.snapshots
    ));
    Ok(())
}
// End of the worked example.

struct Db {
    _dir: TempDir,
    repo: DataRepo,
    migrations: PathBuf,
}

impl Db {
    fn real() -> Option<Self> {
        let shared = common::shared_dir()?;
        let dir = common::fast_tempdir();
        let root = common::clone_bundle_named(&shared, "nes-database-2026.bundle", &dir.path().join("db"));
        Some(Self {
            repo: DataRepo::open(&root).unwrap(),
            migrations: dir.path().join("migrations"),
            _dir: dir,
        })
    }

    fn fixture() -> Self {
        let f = common::fixture(&[]);
        Self {
            repo: f.repo,
            migrations: f.migrations,
            _dir: f._dir,
        }
    }

    fn root(&self) -> &Path {
        self.repo.root()
    }

    fn run(&self, migrations: Vec<Migration>, dry_run: bool) -> nes::migration::runner::RunReport {
        for m in &migrations {
            std::fs::create_dir_all(self.migrations.join(m.name)).unwrap();
            std::fs::write(self.migrations.join(m.name).join("README.md"), "test").unwrap();
        }
        let registry = Registry::new(migrations).unwrap();
        let options = RunOptions {
            push: false,
            dry_run,
            ..RunOptions::default()
        };
        Runner::new(&registry, &self.migrations)
            .run(&self.repo, &Target::AllPending, &options)
            .unwrap()
    }
}

/// Every JSON file below `dir`, by repository-relative path.
fn json_files(root: &Path, dir: &str) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root.join(dir))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().to_string();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// The person fields of a file: the document itself, or a version's snapshot.
fn person_fields(doc: &Value) -> &Value {
    doc.get("snapshot").unwrap_or(doc)
}

fn holds_family(doc: &Value) -> bool {
    FAMILY.iter().any(|p| {
        let key = p.rsplit('.').next().unwrap();
        !person_fields(doc)["personal_details"][key].is_null()
    })
}

fn without_family(mut doc: Value) -> Value {
    let fields = if doc.get("snapshot").is_some() {
        &mut doc["snapshot"]
    } else {
        &mut doc
    };
    if let Some(details) = fields["personal_details"].as_object_mut() {
        for p in FAMILY {
            let key = p.rsplit('.').next().unwrap();
            if details.contains_key(key) {
                details.insert(key.to_string(), Value::Null);
            }
        }
    }
    doc
}

#[test]
fn every_person_and_every_snapshot_loses_family_names_and_a_rerun_is_a_no_op() {
    let Some(db) = Db::real() else { return };
    let before: BTreeMap<String, Vec<u8>> = [
        json_files(db.root(), "v2/entity/person"),
        json_files(db.root(), "v2/version/entity/person"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let parsed = |bytes: &[u8]| -> Value { serde_json::from_slice(bytes).unwrap() };
    let holding: Vec<&String> = before
        .keys()
        .filter(|p| holds_family(&parsed(&before[*p])))
        .collect();
    let snapshots_before = holding.iter().filter(|p| p.starts_with("v2/version/")).count();
    // Entities holding a name now or in any snapshot: each gets one new version.
    let mut entities: Vec<String> = holding
        .iter()
        .map(|p| match p.strip_prefix("v2/version/") {
            Some(v) => format!("v2/{}.json", v.rsplit_once('/').unwrap().0),
            None => p.to_string(),
        })
        .collect();
    entities.sort();
    entities.dedup();
    assert!(
        snapshots_before > 5_000,
        "the bundle's persons hold family names ({snapshots_before})"
    );

    // The preview a maintainer reads before merging: counts per path, never a value.
    let dry = db.run(vec![common::migration("011-redact-family-info", migrate)], true);
    let summary = &dry.migrations[0].diff.as_ref().expect("a dry run diffs").summary;
    let father = &summary.personal["person: personal_details.father_name"];
    let father_snapshots = holding
        .iter()
        .filter(|p| {
            p.starts_with("v2/version/")
                && !person_fields(&parsed(&before[p.as_str()]))["personal_details"]["father_name"].is_null()
        })
        .count();
    assert_eq!(father.snapshots_redacted, father_snapshots);
    assert_eq!((father.written, father.changed), (0, 0));
    assert!(father.removed > 5_000, "{father:?}");
    let markdown = nes::migration::preview::render_markdown(&dry, &[]);
    assert!(markdown.contains("**Personal data**"), "{markdown}");
    assert!(
        markdown.contains(&format!(
            "| `person: personal_details.father_name` | 0 | 0 | {} | {father_snapshots} |",
            father.removed
        )),
        "{markdown}"
    );
    let a_name = holding
        .iter()
        .find_map(|p| {
            person_fields(&parsed(&before[p.as_str()]))["personal_details"]["father_name"]["en"]["value"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap();
    assert!(!markdown.contains(&a_name), "the preview shows {a_name}");
    assert!(markdown.contains("[redacted]"), "field changes show the marker");

    let report = db.run(vec![common::migration("011-redact-family-info", migrate)], false);
    let run = &report.migrations[0];
    assert_eq!(run.status, Outcome::Completed, "{:?}", run.error);
    assert_eq!(run.stats.entities_updated, entities.len() as u64);
    assert_eq!(run.stats.versions_created, entities.len() as u64);
    assert_eq!(run.stats.snapshots_redacted, snapshots_before as u64);

    let after: BTreeMap<String, Vec<u8>> = [
        json_files(db.root(), "v2/entity/person"),
        json_files(db.root(), "v2/version/entity/person"),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (path, bytes) in &after {
        let doc = parsed(bytes);
        assert!(!holds_family(&doc), "{path} still holds a family name");
        // nes's canonical bytes, which are Python's (tests/store_format.rs).
        assert_eq!(&nes::store::json::to_vec(&doc), bytes, "{path} is not canonical");
        match before.get(path) {
            // An old file: the same document with the names set to null, nothing else.
            Some(old) => assert_eq!(
                doc,
                without_family(if path.starts_with("v2/entity/") {
                    doc.clone()
                } else {
                    parsed(old)
                }),
                "{path}"
            ),
            // A new version: the redaction, named, without values.
            None => {
                let change = doc["change_description"].as_str().unwrap();
                assert!(change.starts_with("Redacted personal_details."), "{change}");
                assert!(change.ends_with(REASON), "{change}");
            }
        }
    }
    for path in entities.iter().filter(|p| before.contains_key(*p)) {
        let (old, new) = (parsed(&before[path]), parsed(&after[path]));
        let mut expected = without_family(old.clone());
        expected["version_summary"] = new["version_summary"].clone();
        expected["entity_prefix"] = new["entity_prefix"].clone();
        assert_eq!(
            new, expected,
            "{path}: only the names and the new version changed"
        );
        assert_eq!(
            new["version_summary"]["version_number"],
            old["version_summary"]["version_number"].as_u64().unwrap() + 1
        );
    }
    let added = after.keys().filter(|p| !before.contains_key(*p)).count();
    assert_eq!(added, entities.len(), "one new version file per entity");
    let message = common::git(db.root(), &["log", "-1", "--format=%B"]);
    assert!(
        message.contains(&format!("Snapshots redacted: {snapshots_before}")),
        "{message}"
    );

    let diff = std::process::Command::new(env!("CARGO_BIN_EXE_nes"))
        .arg("--db-repo")
        .arg(db.root())
        .args([
            "--migrations-dir",
            db.migrations.to_str().unwrap(),
            "diff",
            "011-redact-family-info",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(diff.status.success(), "{}", String::from_utf8_lossy(&diff.stderr));
    assert!(
        text.contains(&format!("person: personal_details.father_name: removed from {} document(s); [redacted] → null in {father_snapshots} snapshot(s)", father.removed)),
        "{text}"
    );
    assert!(!text.contains(&a_name), "nes diff shows {a_name}");

    let head = common::git(db.root(), &["rev-parse", "HEAD"]);
    let report = db.run(vec![common::migration("012-redact-again", migrate)], false);
    let again = &report.migrations[0];
    assert_eq!(again.status, Outcome::Completed, "{:?}", again.error);
    assert_eq!(
        (again.stats.versions_created, again.stats.snapshots_redacted),
        (0, 0)
    );
    assert_eq!(
        json_files(db.root(), "v2/version/entity/person").len()
            + json_files(db.root(), "v2/entity/person").len(),
        after.len()
    );
    let changed = common::git(db.root(), &["diff", "--name-only", head.trim(), "HEAD"]);
    assert!(
        changed.trim().is_empty() || !changed.contains("v2/"),
        "a rerun changed {changed}"
    );
}

fn hospital(ctx: &mut Context) -> Result<()> {
    ctx.use_author("Test Author")?;
    let fields = |mobile: &str| {
        json!({"names": [{"kind": "PRIMARY", "en": {"full": "Bir Hospital"}}],
               "attributes": {"contact_mobile": mobile, "contact_person": "Sita", "beds": 400}})
    };
    ctx.create_entity(
        "entity:organization/hospital/bir-hospital",
        fields("9800000001"),
        "Add",
    )?;
    ctx.update_entity(
        "entity:organization/hospital/bir-hospital",
        fields("9800000002"),
        "New number",
    )?;
    ctx.create_entity(
        "entity:organization/hospital/patan-hospital",
        fields("9800000003"),
        "Add",
    )?;
    Ok(())
}

fn redact_one_mobile(ctx: &mut Context) -> Result<()> {
    ctx.redact(
        "entity:organization/hospital/bir-hospital",
        &["attributes.contact_mobile"],
        "Private number",
    )?;
    Ok(())
}

#[test]
fn one_entity_loses_one_path_in_every_version_and_others_keep_theirs() {
    let db = Db::fixture();
    db.run(vec![common::migration("001-hospitals", hospital)], false);
    // Before the redaction, `nes log -p` shows that the number changed, not the numbers.
    let log = std::process::Command::new(env!("CARGO_BIN_EXE_nes"))
        .arg("--db-repo")
        .arg(db.root())
        .args(["log", "entity:organization/hospital/bir-hospital", "-p"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(
        log.contains("attributes.contact_mobile") && log.contains("[redacted]"),
        "{log}"
    );
    assert!(
        !log.contains("9800000001") && !log.contains("9800000002"),
        "{log}"
    );
    let report = db.run(vec![common::migration("002-redact", redact_one_mobile)], false);
    assert_eq!(
        report.migrations[0].status,
        Outcome::Completed,
        "{:?}",
        report.migrations[0].error
    );
    assert_eq!(report.migrations[0].stats.snapshots_redacted, 2);
    let read = |rel: &str| -> Value {
        serde_json::from_slice(&std::fs::read(db.root().join(rel)).unwrap()).unwrap()
    };
    let dir = "v2/version/entity/organization/hospital/bir-hospital";
    for n in 1..=3 {
        let version = read(&format!("{dir}/{n}.json"));
        assert_eq!(
            version["snapshot"]["attributes"]["contact_mobile"],
            Value::Null,
            "{n}"
        );
        assert_eq!(
            version["snapshot"]["attributes"]["contact_person"], "Sita",
            "other paths stay"
        );
        assert_eq!(version["snapshot"]["attributes"]["beds"], 400);
    }
    let third = read(&format!("{dir}/3.json"));
    assert_eq!(
        third["change_description"],
        "Redacted attributes.contact_mobile: Private number"
    );
    let other = read("v2/entity/organization/hospital/patan-hospital.json");
    assert_eq!(
        other["attributes"]["contact_mobile"], "9800000003",
        "another entity is not touched"
    );
    for (path, bytes) in json_files(db.root(), "v2") {
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            !text.contains("9800000001") && !text.contains("9800000002"),
            "{path} holds a number"
        );
    }
}

fn delete_bir(ctx: &mut Context) -> Result<()> {
    ctx.delete_entity("entity:organization/hospital/bir-hospital")
}

fn redact_hospitals(ctx: &mut Context) -> Result<()> {
    let outcome = ctx.redact(
        "organization",
        &["attributes.contact_mobile", "attributes.contact_person"],
        "Staff",
    )?;
    ctx.log(format!("{outcome:?}"));
    Ok(())
}

#[test]
fn versions_of_a_deleted_entity_are_cleaned_too_and_a_dry_run_writes_nothing() {
    let db = Db::fixture();
    db.run(vec![common::migration("001-hospitals", hospital)], false);
    let mut delete = common::migration("002-delete", delete_bir);
    delete.deletes = true;
    db.run(vec![delete], false);
    let head = common::git(db.root(), &["rev-parse", "HEAD"]);
    let dry = db.run(vec![common::migration("003-redact", redact_hospitals)], true);
    assert_eq!(
        dry.migrations[0].stats.snapshots_redacted, 3,
        "{:?}",
        dry.migrations[0].error
    );
    assert_eq!(common::git(db.root(), &["rev-parse", "HEAD"]), head);
    assert!(common::git(db.root(), &["status", "--porcelain"])
        .trim()
        .is_empty());

    let report = db.run(vec![common::migration("003-redact", redact_hospitals)], false);
    let stats = report.migrations[0].stats;
    // patan: a new version, its 1.json rewritten; bir (deleted): its two versions rewritten.
    assert_eq!((stats.entities_updated, stats.snapshots_redacted), (1, 3));
    let orphan: Value = serde_json::from_slice(
        &std::fs::read(
            db.root()
                .join("v2/version/entity/organization/hospital/bir-hospital/2.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(orphan["snapshot"]["attributes"]["contact_person"], Value::Null);
    assert!(!db
        .root()
        .join("v2/entity/organization/hospital/bir-hospital.json")
        .exists());
}

fn redact_undeclared(ctx: &mut Context) -> Result<()> {
    ctx.redact("person", &["personal_details.birth_date"], "Birthdays")?;
    Ok(())
}

fn redact_without_reason(ctx: &mut Context) -> Result<()> {
    ctx.redact("person", &FAMILY, " ")?;
    Ok(())
}

#[test]
fn a_path_outside_the_policy_or_a_missing_reason_fails_and_writes_nothing() {
    let db = Db::fixture();
    db.run(vec![common::migration("001-hospitals", hospital)], false);
    let head = common::git(db.root(), &["rev-parse", "HEAD"]);
    for (name, f, expected) in [
        (
            "002-undeclared",
            redact_undeclared as fn(&mut Context) -> Result<()>,
            "is not personal data of `person` in the privacy policy",
        ),
        (
            "002-no-reason",
            redact_without_reason,
            "give the reason in one line",
        ),
    ] {
        let report = db.run(vec![common::migration(name, f)], false);
        let error = format!("{:?}", report.migrations[0].error);
        assert_eq!(report.migrations[0].status, Outcome::Failed);
        assert!(error.contains(expected), "{error}");
        assert_eq!(common::git(db.root(), &["rev-parse", "HEAD"]), head);
    }
}
