//! nes on the real 2026 database (`nes-database-2026.bundle`): N-level prefixes, the
//! service's two 007 migrations, other writers, and what verify says about it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use nes::git::repo::DataRepo;
use nes::migration::registry::{Migration, Registry};
use nes::migration::runner::{Outcome, RunOptions, Runner, Target};
use nes::migration::status::Status;
use nes::prelude::*;
use nes::verify::{verify_repo, Rule, VerifyOptions};
use serde_json::Value;
use tempfile::TempDir;

const OFFICE: &str = "entity:organization/government/commission/district/district-election-office-achham";
const NEW_OFFICE: &str = "entity:organization/government/commission/district/district-election-office-test";
const COMMISSION: &str = "entity:organization/government/commission/federal/election-commission-nepal";
const DISTRICT: &str = "entity:location/district/acham";

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
        let repo = DataRepo::open(&root).unwrap();
        let migrations = dir.path().join("migrations");
        Some(Self {
            _dir: dir,
            repo,
            migrations,
        })
    }

    fn root(&self) -> &Path {
        self.repo.root()
    }

    /// A registry of the given migrations, each with a folder and README.
    fn registry(&self, migrations: Vec<Migration>) -> Registry {
        for m in &migrations {
            std::fs::create_dir_all(self.migrations.join(m.name)).unwrap();
            std::fs::write(self.migrations.join(m.name).join("README.md"), "test").unwrap();
        }
        Registry::new(migrations).unwrap()
    }

    fn read(&self, rel: &str) -> Value {
        let bytes = std::fs::read(self.root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        serde_json::from_slice(&bytes).unwrap()
    }

    fn head(&self) -> String {
        common::git(self.root(), &["rev-parse", "HEAD"])
            .trim()
            .to_string()
    }
}

fn options() -> RunOptions {
    RunOptions {
        push: false,
        ..RunOptions::default()
    }
}

#[test]
fn verify_reports_only_what_the_service_refuses_once_per_file() {
    let Some(db) = Db::real() else { return };
    let report = verify_repo(db.root(), &VerifyOptions::default()).unwrap();
    let lines: Vec<String> = report
        .violations
        .iter()
        .map(|v| format!("{:?} {}: {}", v.rule, v.path, v.message))
        .collect();
    // The 6 PPMO contractors, in their entity file and their version file, one line each.
    let contractors: Vec<_> = report
        .violations
        .iter()
        .filter(|v| v.path.contains("/organization/contractor/"))
        .collect();
    assert_eq!(contractors.len(), 12, "{lines:#?}");
    for v in contractors.iter().filter(|v| v.path.starts_with("v2/entity/")) {
        assert_eq!(v.rule, Rule::Grammar);
        for part in [
            "prefix `organization/contractor` is not registered in model/nes.toml",
            "unknown fields `grade`, `license_number`",
            "sub_type: `contractor` is not one of",
        ] {
            assert!(v.message.contains(part), "{}: {}", v.path, v.message);
        }
    }
    // The 9 files the backfill wrote outside v2/, and not README.md.
    let misplaced: Vec<&str> = report
        .violations
        .iter()
        .filter(|v| v.rule == Rule::Misplaced)
        .map(|v| v.path.as_str())
        .collect();
    assert_eq!(misplaced.len(), 9, "{misplaced:#?}");
    assert!(misplaced.contains(&"entity/organization/nesq-2123.json"));
    assert!(misplaced.contains(&"author/alanthegreat.json"));
    assert_eq!(report.violations.len(), 21, "nothing else: {lines:#?}");
}

/// Reads, patches and creates 4-level entities and relationships between them.
fn four_levels(ctx: &mut Context) -> Result<()> {
    let office = ctx.get_entity(OFFICE)?.context("the Achham office exists")?;
    ensure!(office.id.prefix == "organization/government/commission/district");
    ctx.patch_entity(
        OFFICE,
        json!({"government_type": "federal"}),
        "The election offices belong to the federal commission.",
    )?;
    ctx.create_entity(
        NEW_OFFICE,
        json!({"names": [{"kind": "PRIMARY", "en": {"full": "District Election Office, Test"}}]}),
        "A test office.",
    )?;
    for office in [OFFICE, NEW_OFFICE] {
        ctx.create_relationship(
            office,
            COMMISSION,
            "SUPERVISES",
            json!({}),
            "Supervised by the commission.",
        )?;
    }
    let listed = ctx.list_entities("organization/government/commission", None, &[])?;
    ensure!(
        listed.len() == 109,
        "108 commission entities and the new one, got {}",
        listed.len()
    );
    let districts = ctx.list_entities("organization/government/commission/district", None, &[])?;
    ensure!(districts.len() == 78);
    ensure!(ctx.relationships_of(COMMISSION)?.len() == 2);
    Ok(())
}

#[test]
fn a_migration_reads_patches_and_creates_four_level_entities_and_relationships() {
    let Some(db) = Db::real() else { return };
    let registry = db.registry(vec![common::migration("011-four-levels", four_levels)]);
    let runner = Runner::new(&registry, &db.migrations);
    let report = runner.run(&db.repo, &Target::AllPending, &options()).unwrap();
    let m = &report.migrations[0];
    assert_eq!(m.status, Outcome::Completed, "{:?}", m.error);

    let created =
        db.read("v2/entity/organization/government/commission/district/district-election-office-test.json");
    assert_eq!(
        created["entity_prefix"],
        "organization/government/commission/district"
    );
    assert_eq!(created["sub_type"], "government_body", "GovernmentBody fixes it");
    assert_eq!(created["type"], "organization");
    assert_eq!(created["address"], Value::Null, "every declared field is written");
    let patched =
        db.read("v2/entity/organization/government/commission/district/district-election-office-achham.json");
    assert_eq!(patched["government_type"], "federal");
    assert_eq!(patched["version_summary"]["version_number"], 2);
    let v2 = db.read("v2/version/entity/organization/government/commission/district/district-election-office-achham/2.json");
    assert_eq!(v2["snapshot"]["id"], OFFICE);
    let rel = "v2/relationship/organization/government/commission/district/district-election-office-test/\
               organization/government/commission/federal/election-commission-nepal/SUPERVISES.json";
    let relationship = db.read(rel);
    assert_eq!(relationship["source_entity_id"], NEW_OFFICE);
    assert!(db
        .root()
        .join("v2/version/relationship/organization/government/commission/district/district-election-office-test/organization/government/commission/federal/election-commission-nepal/SUPERVISES/1.json")
        .is_file());

    // The run's files pass verify; the repository still has only its known problems.
    let after = verify_repo(db.root(), &VerifyOptions::default()).unwrap();
    assert_eq!(after.violations.len(), 21, "{:#?}", after.violations);

    // nes log and nes diff name the 4-level entity and the migration.
    let log = nes_cmd(db.root(), &["log", OFFICE]);
    assert!(
        log.contains("version 2") && log.contains("011-four-levels"),
        "{log}"
    );
    assert!(
        log.contains("other writer NES sample"),
        "version 1 came from the import: {log}"
    );
    let diff = nes_cmd(db.root(), &["diff", "--stat"]);
    assert!(
        diff.contains("entity/organization/government/commission/district"),
        "{diff}"
    );
}

/// Updates a district file the 2025 writer wrote (its identifiers have no `name`).
fn set_area(ctx: &mut Context) -> Result<()> {
    ctx.patch_entity(DISTRICT, json!({"area": 1692.0}), "Area from the census.")?;
    Ok(())
}

#[test]
fn an_update_of_a_legacy_file_writes_the_whole_model_and_an_unchanged_file_stays() {
    let Some(db) = Db::real() else { return };
    let rel = "v2/entity/location/district/acham.json";
    let before = db.read(rel);
    assert!(before.get("entity_prefix").is_none(), "a 2025 file");
    assert!(before["identifiers"][0].get("name").is_none(), "FORMAT.md §9.1");
    let registry = db.registry(vec![common::migration("011-set-area", set_area)]);
    let report = Runner::new(&registry, &db.migrations)
        .run(&db.repo, &Target::AllPending, &options())
        .unwrap();
    assert_eq!(
        report.migrations[0].status,
        Outcome::Completed,
        "{:?}",
        report.migrations[0].error
    );
    let after = db.read(rel);
    // As the 2026 service writes it: `entity_prefix: null` for a legacy type/sub_type
    // entity, and every key the model gained since (the identifiers' `name`).
    assert_eq!(after["area"], 1692.0);
    assert_eq!(after["entity_prefix"], Value::Null);
    assert!(after.get("entity_prefix").is_some());
    for identifier in after["identifiers"].as_array().unwrap() {
        assert_eq!(identifier.get("name"), Some(&Value::Null), "{identifier}");
    }
    assert_eq!(report.migrations[0].stats.entities_updated, 1);
    // Nothing else was rewritten.
    let changed = common::git(
        db.root(),
        &["diff", "--name-only", "HEAD~1", "HEAD", "--", "v2/entity"],
    );
    assert_eq!(changed.trim(), rel);
}

#[test]
fn status_reads_the_python_history_with_both_007s_and_keeps_examples_out() {
    let Some(db) = Db::real() else { return };
    let example = Migration {
        example: true,
        ..common::migration("001-example-spreadsheet", |_| Ok(()))
    };
    let registry = db.registry(vec![example]);
    let statuses = Runner::new(&registry, &db.migrations).statuses(&db.repo).unwrap();
    let status = |name: &str| statuses.iter().find(|s| s.name == name).map(|s| s.status);
    for name in [
        "000-example-migration",
        "001-source-locations",
        "002-ward-name-fix",
        "003-source-2082-political-parties",
        "004-source-election-constituencies",
        "005-seed-2079-election-candidates",
        "006-source-hospitals",
        "007-redact-family-info",
        "007-source-projects",
        "008-complete-political-parties",
        "009-party-election-symbols",
        "010-source-2082-direct-candidates",
    ] {
        assert_eq!(status(name), Some(Status::Applied), "{name}");
    }
    assert_eq!(status("001-example-spreadsheet"), Some(Status::Example));
    // Nothing pending: a run does nothing, and the shared 007 does not stop it.
    let report = Runner::new(&registry, &db.migrations)
        .run(&db.repo, &Target::AllPending, &options())
        .unwrap();
    assert!(report.migrations.is_empty());
}

#[test]
fn two_pending_migrations_with_one_prefix_are_refused_and_nothing_is_written() {
    let Some(db) = Db::real() else { return };
    let head = db.head();
    let registry = db.registry(vec![
        common::migration("011-first", |_| Ok(())),
        common::migration("011-second", |_| Ok(())),
    ]);
    for dry_run in [true, false] {
        let options = RunOptions { dry_run, ..options() };
        let err = Runner::new(&registry, &db.migrations)
            .run(&db.repo, &Target::AllPending, &options)
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("011-first, 011-second share the prefix 011"),
            "{text}"
        );
        assert_eq!(nes::error::exit_code(&err), nes::error::ExitCode::Usage);
    }
    assert_eq!(db.head(), head);
    assert_eq!(common::git(db.root(), &["status", "--porcelain"]), "");
}

/// Runs the built `nes` binary in `dir` (its examples are compiled in; none is offered here).
fn nes_cmd(db: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nes"))
        .arg("--db-repo")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nes {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The JSON Schema export (`nes model show PREFIX --json-schema`) accepts every document
/// the model accepts, and refuses what it refuses: it is the same model.
#[test]
fn the_json_schema_export_agrees_with_the_model_on_real_documents() {
    use std::collections::HashMap;

    use nes::store::model::{self, schema_export::json_schema};

    let Some(db) = Db::real() else { return };
    let mut validators: HashMap<String, jsonschema::Validator> = HashMap::new();
    let mut checked = 0;
    for entry in walkdir::WalkDir::new(db.root().join("v2/entity")) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let doc: Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        let registered = model::entity_kind_of(&doc);
        let kind = registered.unwrap_or_else(|| model::kind_for_prefix("organization").unwrap());
        let validator = validators.entry(kind.name.clone()).or_insert_with(|| {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&json_schema(kind))
                .unwrap()
        });
        let by_model = model::validate(kind, &doc).is_ok() && registered.is_some();
        let by_schema = validator.is_valid(&doc);
        // The schema cannot know the registry: an unregistered prefix's document is
        // refused for its unknown fields instead, which the contractors have.
        assert_eq!(by_schema, by_model, "{}", entry.path().display());
        checked += 1;
    }
    assert_eq!(checked, 13_931);
}
