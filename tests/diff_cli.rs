//! `nes diff`, `nes log` and the preview's diff on the built binary: the example migrations
//! (a preview and the real run must tell the same story) and the real database bundle.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn nes(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nes"))
        .env("NES_GIT_AUTHOR", "Nes Test <t@example.org>")
        .arg("--db-repo")
        .arg(db)
        .arg("--migrations-dir")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(out: Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

/// A data repository with the first three example migrations applied.
fn examples_repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("db");
    ok(nes(&db, &["db", "init"]));
    common::set_identity(&db);
    for name in [
        "000-example-migration",
        "001-example-spreadsheet",
        "002-example-relationships",
    ] {
        ok(nes(&db, &["migrate", "run", name, "-q"]));
    }
    (dir, db)
}

/// The documents of a diff without what differs between a dry run and the real one: the
/// version dates.
fn without_dates(documents: &Value) -> Value {
    let mut documents = documents.clone();
    for d in documents.as_array_mut().unwrap() {
        if let Some(v) = d.get_mut("version").and_then(Value::as_object_mut) {
            v.remove("date");
        }
    }
    documents
}

#[test]
fn a_preview_and_the_run_it_predicts_give_the_same_field_diff() {
    let (_dir, db) = examples_repo();
    let preview = json(nes(&db, &["migrate", "preview", "003-example-update", "--json"]));
    let predicted = &preview["migrations"][0]["diff"];
    let sita = predicted["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "entity:person/sita-example-sharma")
        .expect("the patched person is in the preview");
    assert_eq!(sita["status"], "updated");
    assert_eq!(sita["fields"][0]["path"], "short_description");
    assert_eq!(sita["fields"][0]["old"], Value::Null);
    assert_eq!(sita["fields"][0]["new"]["en"]["value"], "Example person for nes.");
    assert_eq!(sita["version"]["number"], 2);
    let markdown = ok(nes(&db, &["migrate", "preview", "003-example-update"]));
    assert!(
        markdown.contains("| `entity/person` | `short_description` | 1 |"),
        "{markdown}"
    );
    assert!(markdown.contains("+   short_description: {\"en\":{\"provenance\":null,\"value\":\"Example person for nes.\"},\"ne\":null}"));

    ok(nes(&db, &["migrate", "run", "003-example-update", "-q"]));
    let actual = json(nes(&db, &["diff", "003-example-update", "--json"]));
    assert_eq!(actual["label"], "003-example-update");
    assert_eq!(
        without_dates(&actual["documents"]),
        without_dates(&predicted["documents"])
    );
    assert_eq!(actual["summary"]["by_kind"], predicted["summary"]["by_kind"]);
    // The default range is the last run: the same diff.
    let last = json(nes(&db, &["diff", "--json"]));
    assert_eq!(last["documents"], actual["documents"]);

    // One document's history: the two versions, the commit and migration of each.
    let log = json(nes(
        &db,
        &["log", "entity:person/sita-example-sharma", "-p", "--json"],
    ));
    let versions = log["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    let wrote_v2 = common::git(
        &db,
        &[
            "log",
            "-1",
            "--format=%H",
            "--",
            "v2/version/entity/person/sita-example-sharma/2.json",
        ],
    );
    assert_eq!(versions[1]["commit"], wrote_v2.trim());
    assert_eq!(versions[1]["migration"], "003-example-update");
    assert_eq!(versions[0]["migration"], "000-example-migration");
    assert_eq!(versions[1]["change"], "Describe the example person");
    assert_eq!(versions[1]["changes"][0]["path"], "short_description");
    let text = ok(nes(&db, &["log", "entity:person/sita-example-sharma"]));
    assert!(text.contains("version 2  "), "{text}");
    assert!(text.contains("003-example-update"), "{text}");
}

#[test]
fn exit_codes_filters_and_errors() {
    let (_dir, db) = examples_repo();
    let same = nes(&db, &["diff", "HEAD", "HEAD", "--exit-code"]);
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("No changes."));
    assert_eq!(
        nes(&db, &["diff", "--exit-code", "--stat"]).status.code(),
        Some(1)
    );
    // Without --exit-code a diff with changes still exits 0.
    ok(nes(&db, &["diff", "--stat"]));

    let all = json(nes(&db, &["diff", "000-example-migration", "--json"]));
    let persons = json(nes(
        &db,
        &["diff", "000-example-migration", "entity:person", "--json"],
    ));
    let one = json(nes(
        &db,
        &[
            "diff",
            "000-example-migration",
            "--json",
            "--",
            "entity:person/sita-example-sharma",
        ],
    ));
    let count = |v: &Value| v["documents"].as_array().unwrap().len();
    assert!(count(&all) > count(&persons), "{all}");
    assert!(persons["documents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["kind"] == "entity/person"));
    assert_eq!(count(&one), 1);
    assert_eq!(one["documents"][0]["status"], "created");
    assert_eq!(one["summary"]["versions"]["added"], 1);

    let typo = nes(&db, &["diff", "no-such-revision"]);
    assert_eq!(typo.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(
        stderr.contains("`no-such-revision` is not a commit of the data repository"),
        "{stderr}"
    );
    let bad = nes(&db, &["log", "person/x"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not an entity or relationship ID"));
}

/// The file at `rev:path` of a repository, parsed.
fn show(repo: &Path, rev: &str, path: &str) -> Value {
    serde_json::from_str(&common::git(repo, &["show", &format!("{rev}:{path}")])).unwrap()
}

#[test]
fn the_real_ward_rename_reads_as_one_field_on_6743_wards() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = common::fast_tempdir();
    let db = common::clone_bundle(&shared, &dir.path().join("db"));
    let d = json(nes(&db, &["diff", "002-ward-name-fix", "--json"]));
    // git itself, as the oracle: the commit that added the migration's log and its parent.
    let commit = common::git(
        &db,
        &[
            "log",
            "--format=%H",
            "--diff-filter=A",
            "--",
            "v2/migration-logs/002-ward-name-fix/metadata.json",
        ],
    );
    let commit = commit.trim();
    assert_eq!(d["to"], commit);
    assert_eq!(
        d["from"],
        common::git(&db, &["rev-parse", &format!("{commit}^")]).trim()
    );
    let changed = common::git(
        &db,
        &[
            "diff",
            "--name-only",
            &format!("{commit}^"),
            commit,
            "--",
            "v2/entity",
        ],
    );
    let wards = &d["summary"]["by_kind"]["entity/location/ward"];
    assert_eq!(wards["updated"], changed.lines().count());
    assert_eq!(d["summary"]["by_kind"].as_object().unwrap().len(), 1);
    let paths = wards["paths"].as_object().unwrap();
    assert_eq!(paths.keys().collect::<Vec<_>>(), ["names[0].en.full"]);
    assert_eq!(paths["names[0].en.full"]["documents"], changed.lines().count());
    // Each sample's old and new values are the ones in the files.
    for sample in paths["names[0].en.full"]["samples"].as_array().unwrap() {
        let id = sample["id"].as_str().unwrap();
        let path = format!("v2/{}.json", id.replacen(':', "/", 1));
        let before = show(&db, &format!("{commit}^"), &path);
        let after = show(&db, commit, &path);
        assert_eq!(sample["old"], before["names"][0]["en"]["full"]);
        assert_eq!(sample["new"], after["names"][0]["en"]["full"]);
        assert_ne!(sample["old"], sample["new"]);
    }
    assert_eq!(d["summary"]["versions"]["added"], changed.lines().count());

    let ward = "entity:location/ward/aadarsha-rural-municipality-ward-1";
    let log = json(nes(&db, &["log", ward, "-p", "--json"]));
    let versions = log["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["migration"], "001-source-locations");
    assert_eq!(versions[1]["migration"], "002-ward-name-fix");
    assert_eq!(versions[1]["commit"], commit);
    let path = "v2/entity/location/ward/aadarsha-rural-municipality-ward-1.json";
    let change = &versions[1]["changes"][0];
    assert_eq!(change["path"], "names[0].en.full");
    assert_eq!(
        change["old"],
        show(&db, &format!("{commit}^"), path)["names"][0]["en"]["full"]
    );
    assert_eq!(change["new"], show(&db, commit, path)["names"][0]["en"]["full"]);
    assert_eq!(versions[1]["changes"].as_array().unwrap().len(), 1);

    // The default range is the last run, 005's candidates: created persons.
    let stat = ok(nes(&db, &["diff", "--stat"]));
    assert!(
        stat.starts_with("# last run: 005-seed-2079-election-candidates:"),
        "{stat}"
    );
    assert!(stat.contains("entity/person: "), "{stat}");
}
