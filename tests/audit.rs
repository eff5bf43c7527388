//! `nes db audit` on the real 2026 database: its counts against an independent reading of
//! every file and of every blob of history, values hidden unless asked for.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn nes(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nes"))
        .arg("--db-repo")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

/// (label, where the fields are, the field's keys) for the shipped policy, written out
/// here rather than read from nes.
const RULES: [(&str, &str, [&str; 2]); 5] = [
    (
        "person: personal_details.father_name",
        "person",
        ["personal_details", "father_name"],
    ),
    (
        "person: personal_details.mother_name",
        "person",
        ["personal_details", "mother_name"],
    ),
    (
        "person: personal_details.spouse_name",
        "person",
        ["personal_details", "spouse_name"],
    ),
    (
        "organization/hospital: attributes.contact_person",
        "organization/hospital",
        ["attributes", "contact_person"],
    ),
    (
        "organization/hospital: attributes.contact_mobile",
        "organization/hospital",
        ["attributes", "contact_mobile"],
    ),
];

/// Which rules a parsed file holds a value for, and whether it is a snapshot.
fn holds(doc: &Value) -> (bool, Vec<usize>) {
    let snapshot = doc.get("snapshot").is_some();
    let fields = doc.get("snapshot").unwrap_or(doc);
    let prefix = match fields["entity_prefix"].as_str() {
        Some(p) => p.to_string(),
        None => match (fields["type"].as_str(), fields["sub_type"].as_str()) {
            (Some(t), Some(s)) => format!("{t}/{s}"),
            (Some(t), None) => t.to_string(),
            _ => return (snapshot, vec![]),
        },
    };
    let rules = (0..RULES.len())
        .filter(|&i| {
            let (_, p, keys) = RULES[i];
            (prefix == p || prefix.starts_with(&format!("{p}/"))) && !fields[keys[0]][keys[1]].is_null()
        })
        .collect();
    (snapshot, rules)
}

#[test]
fn audit_counts_documents_snapshots_and_history_blobs_and_hides_values() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = common::fast_tempdir();
    let db = common::clone_bundle_named(&shared, "nes-database-2026.bundle", &dir.path().join("db"));

    let mut expected = [(0usize, 0usize, 0usize); 5];
    let mut a_value = None;
    for entry in walkdir::WalkDir::new(&db)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
    {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() || entry.path().extension().is_none_or(|e| e != "json") {
            continue;
        }
        let doc: Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        let (snapshot, rules) = holds(&doc);
        for rule in rules {
            if snapshot {
                expected[rule].1 += 1;
            } else {
                expected[rule].0 += 1;
                if a_value.is_none() {
                    a_value = doc["attributes"]["contact_mobile"].as_str().map(str::to_string);
                }
            }
        }
    }
    let git = git2::Repository::open(&db).unwrap();
    let mut walk = git.revwalk().unwrap();
    walk.push_glob("*").unwrap();
    let mut blobs = HashSet::new();
    for commit in walk {
        let tree = git.find_commit(commit.unwrap()).unwrap().tree().unwrap();
        tree.walk(git2::TreeWalkMode::PreOrder, |_, e| {
            if e.name().unwrap().ends_with(".json") {
                blobs.insert(e.id());
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    }
    for id in &blobs {
        let doc: Value = serde_json::from_slice(git.find_blob(*id).unwrap().content()).unwrap();
        for rule in holds(&doc).1 {
            expected[rule].2 += 1;
        }
    }
    assert!(expected[0].1 > 5_000 && expected[3].0 > 50, "{expected:?}");

    // The Python tool's text diffs are not JSON: named, not counted.
    let diff = "v2/migration-logs/099-example/changes.diff";
    std::fs::create_dir_all(db.join("v2/migration-logs/099-example")).unwrap();
    std::fs::write(
        db.join(diff),
        "+    \"personal_details\": {\n+      \"father_name\": {\n",
    )
    .unwrap();

    let out = nes(&db, &["db", "audit", "--history", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["history_blobs_scanned"], blobs.len());
    assert_eq!(report["unstructured"], serde_json::json!([diff]));
    for (i, (label, ..)) in RULES.iter().enumerate() {
        let row = &report["rules"][i];
        assert_eq!(row["label"], *label);
        let got = (
            row["documents"].as_u64().unwrap() as usize,
            row["snapshots"].as_u64().unwrap() as usize,
            row["history_blobs"].as_u64().unwrap() as usize,
        );
        assert_eq!(got, expected[i], "{label}");
        assert!(row.get("values").is_none());
    }

    let value = a_value.expect("a hospital with a mobile number");
    let text = nes(&db, &["db", "audit"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "organization/hospital: attributes.contact_mobile  {:>9}  {:>9}",
            expected[4].0, expected[4].1
        )),
        "{text}"
    );
    assert!(!text.contains(&value), "values are hidden by default");
    assert!(
        text.contains(&format!(
            "1 other file(s) are not JSON but mention a field of the policy with a value (e.g. {diff})"
        )),
        "{text}"
    );
    let shown = String::from_utf8(nes(&db, &["db", "audit", "--show-values"]).stdout).unwrap();
    assert!(shown.contains(&value), "--show-values prints them");
}
