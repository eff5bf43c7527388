//! The `nes` binary end to end: list, pending, status, run, create, and `--json` output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `nes` in `cwd` with the repository's own migrations and a test git identity.
fn nes(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nes"))
        .current_dir(cwd)
        .env("NES_MIGRATIONS_DIR", manifest_dir().join("migrations"))
        .env("NES_GIT_AUTHOR", "Nes Test <nes-test@example.org>")
        .env_remove("NES_DB_REPO")
        .args(args)
        .output()
        .expect("run nes")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "nes failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn status_of<'a>(doc: &'a Value, name: &str) -> &'a str {
    doc["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap()["status"]
        .as_str()
        .unwrap()
}

#[test]
fn run_all_creates_the_data_repository_and_records_the_example() {
    let dir = TempDir::new().unwrap();
    let out = nes(dir.path(), &["migrate", "run", "--all", "--json"]);
    let report = json(&out);
    assert_eq!(report["schema_version"], 1);
    let example = &report["migrations"][0];
    assert_eq!(example["name"], "000-example-migration");
    assert_eq!(example["status"], "completed", "{example}");
    assert_eq!(example["entities_created"], 5);
    assert_eq!(example["relationships_created"], 1);
    let phases: Vec<&str> = example["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        ["migrate", "verify", "build", "wait", "commit", "index", "pack"]
    );
    let db = dir.path().join("database-repo");
    assert!(db.join("v2/entity/location/province/bagmati.json").is_file());
    assert!(db
        .join(
            "v2/relationship/person/sita-example-sharma/organization/ngo/example-civic-forum/MEMBER_OF.json"
        )
        .is_file());

    let list = json(&nes(dir.path(), &["migrate", "list", "--json"]));
    assert_eq!(status_of(&list, "000-example-migration"), "applied");
    let item = &list["migrations"][0];
    for key in ["name", "prefix", "author", "date", "description", "status"] {
        assert!(item.get(key).is_some(), "list item lacks {key}: {item}");
    }
    let pending = json(&nes(dir.path(), &["migrate", "pending", "--json"]));
    assert_eq!(pending["migrations"].as_array().unwrap().len(), 0);

    let status = json(&nes(dir.path(), &["migrate", "status", "--json"]));
    let ledger = &status["migrations"][0]["ledger"];
    assert_eq!(ledger["commits"].as_array().unwrap().len(), 1);
    assert!(ledger["run_id"].is_string());

    // Nothing pending: a second run makes no commit.
    let head = |db: &Path| {
        String::from_utf8(
            Command::new("git")
                .arg("-C")
                .arg(db)
                .args(["rev-parse", "HEAD"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    let before = head(&db);
    let again = json(&nes(dir.path(), &["migrate", "run", "--all", "--json"]));
    assert_eq!(again["migrations"].as_array().unwrap().len(), 0);
    assert_eq!(head(&db), before);

    // Applied: running it by prefix is skipped unless forced; a forced migration built on
    // `put` (002 touches nothing later migrations change) writes no new version.
    let skipped = json(&nes(dir.path(), &["migrate", "run", "000", "--json"]));
    assert_eq!(skipped["migrations"][0]["status"], "skipped");
    let forced = json(&nes(dir.path(), &["migrate", "run", "002", "--force", "--json"]));
    assert_eq!(forced["migrations"][0]["versions_created"], 0, "{forced}");
}

#[test]
fn writing_commands_on_a_missing_data_repository_say_how_to_create_it() {
    // Read-only commands read it as empty instead (tests/first_run.rs).
    let dir = TempDir::new().unwrap();
    let out = nes(dir.path(), &["migrate", "push"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nes db init"), "{stderr}");
}

#[test]
fn create_scaffolds_the_next_prefix_and_refuses_bad_names() {
    let dir = TempDir::new().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir_all(migrations.join("000-example-migration")).unwrap();
    let create = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_nes"))
            .current_dir(dir.path())
            .args(["migrate", "create"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = create(&[
        "source-districts",
        "--author",
        "Test Author",
        "--date",
        "2026-11-21",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Above every folder on disk and every migration compiled in (000-003).
    let folder = migrations.join("004-source-districts");
    let source = std::fs::read_to_string(folder.join("migrate.rs")).unwrap();
    assert!(source.contains("pub const AUTHOR: &str = \"Test Author\";"));
    assert!(source.contains("pub const DATE: &str = \"2026-11-21\";"));
    assert!(source.contains("pub fn migrate(ctx: &mut Context)"));
    assert!(folder.join("README.md").is_file());

    for bad in ["Bad_Name", "double--hyphen", "002-prefixed"] {
        let out = create(&[bad, "--author", "A"]);
        assert_eq!(out.status.code(), Some(2), "{bad} accepted");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }

    // The new folder is not compiled into this binary: every command says so.
    let out = Command::new(env!("CARGO_BIN_EXE_nes"))
        .current_dir(dir.path())
        .args(["migrate", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("004-source-districts"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cargo build"));
}

#[test]
fn a_dry_run_lists_files_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    assert!(nes(dir.path(), &["db", "init"]).status.success());
    let db = dir.path().join("database-repo");
    let snapshot = |db: &Path| {
        let out = Command::new("git")
            .arg("-C")
            .arg(db)
            .args(["status", "--porcelain", "--untracked-files=all"])
            .output();
        let refs = Command::new("git")
            .arg("-C")
            .arg(db)
            .args(["for-each-ref"])
            .output();
        (out.unwrap().stdout, refs.unwrap().stdout)
    };
    let before = snapshot(&db);
    let report = json(&nes(
        dir.path(),
        &["migrate", "run", "--all", "--dry-run", "--json"],
    ));
    assert_eq!(report["dry_run"], true);
    let files = report["migrations"][0]["files"].as_array().unwrap();
    assert!(files
        .iter()
        .any(|f| f["path"] == "v2/entity/person/sita-example-sharma.json" && f["change"] == "added"));
    assert_eq!(snapshot(&db), before);
}

#[test]
fn completions_are_generated() {
    let dir = TempDir::new().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = nes(dir.path(), &["completions", shell]);
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("migrate"),
            "{shell}"
        );
    }
}

#[test]
fn db_verify_reports_a_clean_repository_and_a_broken_file() {
    let dir = TempDir::new().unwrap();
    // `-v` adds the phase timings and the changed files to the human summary.
    let run = nes(dir.path(), &["-v", "migrate", "run", "--all"]);
    assert!(run.status.success());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("phases: migrate "), "{stdout}");
    assert!(
        stdout.contains("added   v2/entity/location/province/bagmati.json"),
        "{stdout}"
    );
    let report = json(&nes(dir.path(), &["db", "verify", "--json"]));
    assert_eq!(report["violations"].as_array().unwrap().len(), 0, "{report}");
    assert!(report["files_checked"].as_u64().unwrap() >= 13);

    let broken = dir
        .path()
        .join("database-repo/v2/entity/location/province/bagmati.json");
    std::fs::write(&broken, "{ not json").unwrap();
    let out = nes(dir.path(), &["db", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &report["violations"][0];
    assert_eq!(first["rule"], "parse");
    assert_eq!(first["path"], "v2/entity/location/province/bagmati.json");
}

#[test]
fn the_real_history_reads_as_applied() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = common::fast_tempdir();
    common::clone_bundle(&shared, &dir.path().join("database-repo"));
    let status = json(&nes(dir.path(), &["migrate", "status", "--json"]));
    for name in [
        "000-example-migration",
        "001-source-locations",
        "002-ward-name-fix",
        "003-source-2082-political-parties",
        "004-source-election-constituencies",
        "005-seed-2079-election-candidates",
    ] {
        assert_eq!(status_of(&status, name), "applied", "{name}");
    }
}
