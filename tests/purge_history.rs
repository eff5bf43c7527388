//! `nes db purge-history` and `nes db remap-pointer` on real git repositories: the 2026
//! bundle's full history (persons' family names in entity files and version snapshots,
//! hospitals' contacts), and small repositories built here for branches, annotated tags,
//! refusals, interruptions and the parent's pointer.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::git;
use serde_json::{json, Value};

fn nes_in(dir: &Path, db: &Path, args: &[&str], fault: Option<&str>) -> Output {
    let mut cmd = common::nes_command(dir, db);
    cmd.args(args);
    if let Some(fault) = fault {
        cmd.env("NES_FAULT", fault);
    }
    cmd.output().expect("run nes")
}

fn nes(db: &Path, args: &[&str], fault: Option<&str>) -> Output {
    nes_in(db.parent().unwrap(), db, args, fault)
}

use common::output_text as text;

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}", text(&out));
    out
}

/// `nes db purge-history --json <extra>`, successful, as its `purge` object.
fn purge(db: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["db", "purge-history", "--json"];
    args.extend_from_slice(extra);
    let out = ok(nes(db, &args, None));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["purge"].clone()
}

/// Every ref and its target.
fn refs(db: &Path) -> String {
    git(db, &["for-each-ref", "--format=%(refname) %(objectname)"])
}

/// Per policy rule label, how many values the `.json` blobs reachable from any ref hold
/// (each distinct blob counted once), read with git2 and the policy, not with nes's purge.
fn values_in_history(db: &Path) -> BTreeMap<String, usize> {
    let repo = git2::Repository::open(db).unwrap();
    let policy = nes::store::privacy::policy();
    let all = policy.select(&[]).unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_glob("refs/*").unwrap();
    let mut seen = HashSet::new();
    let mut counts = BTreeMap::new();
    for commit in walk {
        let tree = repo.find_commit(commit.unwrap()).unwrap().tree().unwrap();
        tree.walk(git2::TreeWalkMode::PreOrder, |_, entry| {
            let name = entry.name().unwrap_or("");
            if entry.kind() == Some(git2::ObjectType::Blob)
                && name.ends_with(".json")
                && seen.insert(entry.id())
            {
                let blob = repo.find_blob(entry.id()).unwrap();
                for finding in policy.findings(&all, blob.content(), false).unwrap() {
                    *counts.entry(policy.rules[finding.rule].label()).or_insert(0) += finding.count;
                }
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    }
    counts
}

/// The commit map file as pairs, in file order.
fn read_map(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let (a, b) = l.split_once(' ').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect()
}

fn fsck(db: &Path) {
    git(db, &["fsck", "--strict", "--no-progress"]);
}

fn ledger(db: &Path) -> Vec<Value> {
    let repo = nes::git::repo::DataRepo::open(db).unwrap();
    let ledger = nes::git::ledger::read_ledger(&repo).unwrap();
    ledger
        .entries
        .values()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[test]
fn purges_the_2026_history_keeping_commits_ledger_and_clean_blobs() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let tmp = common::fast_tempdir();
    let db = common::clone_bundle_named(&shared, "nes-database-2026.bundle", &tmp.path().join("db"));
    let before = values_in_history(&db);
    for label in [
        "person: personal_details.father_name",
        "organization/hospital: attributes.contact_mobile",
    ] {
        assert!(
            before.get(label).copied().unwrap_or(0) > 0,
            "{label} holds values before: {before:?}"
        );
    }
    let old_commits: Vec<String> = git(&db, &["rev-list", "--all", "--reverse", "--topo-order"])
        .lines()
        .map(String::from)
        .collect();
    let old_ledger = ledger(&db);
    let old_head_tree = git(&db, &["ls-tree", "-r", "HEAD"]);

    let snapshot = common::snapshot::Snapshot::of(&db);
    let dry = purge(&db, &["--dry-run"]);
    snapshot.assert_unchanged(&db);
    assert_eq!(dry["dry_run"], true);

    let done = purge(&db, &[]);
    for key in [
        "commits",
        "commits_rewritten",
        "blobs_scanned",
        "blobs_changed",
        "first_changed_commit",
        "paths",
    ] {
        assert_eq!(
            dry[key], done[key],
            "the dry run reports what the run does: {key}"
        );
    }
    assert_eq!(
        dry["refs"].as_array().unwrap().len(),
        done["refs"].as_array().unwrap().len()
    );
    assert!(done["blobs_changed"].as_u64().unwrap() > 1000, "{done}");
    assert!(
        values_in_history(&db).is_empty(),
        "no value left in any reachable blob"
    );
    fsck(&db);
    assert_eq!(git(&db, &["status", "--porcelain"]), "", "working tree clean");
    assert_eq!(ledger(&db).len(), old_ledger.len());
    for (old, new) in old_ledger.iter().zip(ledger(&db)) {
        for key in [
            "name",
            "recorded",
            "run_id",
            "date",
            "author",
            "checksum",
            "baseline",
            "python_log",
            "unpushed",
        ] {
            assert_eq!(old[key], new[key], "ledger {key}");
        }
        assert_eq!(
            old["commits"].as_array().unwrap().len(),
            new["commits"].as_array().unwrap().len()
        );
    }

    // The map: one line per old commit, to a commit with the same message, people and dates.
    let map = read_map(&db.join(".git/nes/purge/commit-map"));
    assert_eq!(
        map.iter().map(|(o, _)| o.clone()).collect::<Vec<_>>(),
        old_commits
    );
    let new_count = git(&db, &["rev-list", "--all"]).lines().count();
    assert_eq!(new_count, old_commits.len(), "as many commits (empty ones kept)");
    let repo = git2::Repository::open(&db).unwrap();
    for (old, new) in &map {
        let (o, n) = (
            repo.find_commit(git2::Oid::from_str(old).unwrap()).unwrap(),
            repo.find_commit(git2::Oid::from_str(new).unwrap()).unwrap(),
        );
        assert_eq!(o.message_raw_bytes(), n.message_raw_bytes());
        assert_eq!(o.author().to_string(), n.author().to_string());
        assert_eq!(o.author().when(), n.author().when());
        assert_eq!(o.committer().when(), n.committer().when());
        assert_eq!(o.parent_count(), n.parent_count());
    }
    // Files without values kept their blobs; redacted ones are canonical JSON.
    let new_head_tree = git(&db, &["ls-tree", "-r", "HEAD"]);
    let new_by_path: HashMap<&str, &str> = new_head_tree
        .lines()
        .map(|l| {
            (
                l.split('\t').nth(1).unwrap(),
                l.split_whitespace().nth(2).unwrap(),
            )
        })
        .collect();
    let all = nes::store::privacy::policy().select(&[]).unwrap();
    let (mut same, mut changed) = (0, 0);
    for line in old_head_tree.lines() {
        let (meta, path) = line.split_once('\t').unwrap();
        let old_id = meta.split_whitespace().nth(2).unwrap();
        let bytes = repo
            .find_blob(git2::Oid::from_str(old_id).unwrap())
            .unwrap()
            .content()
            .to_vec();
        let held = path.ends_with(".json")
            && !nes::store::privacy::policy()
                .findings(&all, &bytes, false)
                .unwrap()
                .is_empty();
        if held {
            changed += 1;
            let new = repo
                .find_blob(git2::Oid::from_str(new_by_path[path]).unwrap())
                .unwrap();
            let parsed = nes::store::json::from_slice(new.content()).unwrap();
            assert_eq!(
                nes::store::json::to_vec(&parsed),
                new.content(),
                "{path} is canonical"
            );
        } else {
            same += 1;
            assert_eq!(new_by_path[path], old_id, "{path} kept its blob");
        }
    }
    assert!(same > 10_000 && changed > 1000, "{same} kept, {changed} redacted");

    // Again: nothing left to do.
    let again = purge(&db, &[]);
    assert_eq!(again["commits_rewritten"], 0);
    assert!(again["refs"].as_array().unwrap().is_empty());
    let identity = read_map(&db.join(".git/nes/purge/commit-map"));
    assert!(identity.iter().all(|(o, n)| o == n));
}

#[test]
fn one_path_only_touches_that_path() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let tmp = common::fast_tempdir();
    let db = common::clone_bundle_named(&shared, "nes-database-2026.bundle", &tmp.path().join("db"));
    let before = values_in_history(&db);
    let done = purge(&db, &["--path", "personal_details.father_name"]);
    assert_eq!(done["paths"].as_array().unwrap().len(), 1, "{done}");
    let mut after = values_in_history(&db);
    assert_eq!(after.remove("person: personal_details.father_name"), None);
    let mut expected = before.clone();
    expected.remove("person: personal_details.father_name");
    assert_eq!(after, expected, "every other path untouched");
}

// ---- small repositories built here ----

fn person(slug: &str, father: Option<&str>) -> String {
    let father = father.map_or(Value::Null, |f| json!({"en": {"value": f}}));
    let doc = json!({"type": "person", "sub_type": null, "slug": slug, "entity_prefix": null,
        "personal_details": {"father_name": father, "mother_name": null, "spouse_name": null}});
    String::from_utf8(nes::store::json::to_vec(&doc)).unwrap()
}

fn write(db: &Path, rel: &str, content: &str) {
    let path = db.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A data repository with personal data on `main` (three commits, one empty), on a second
/// branch, and under an annotated tag; pushed to a bare `origin` next to it.
fn small_repo(dir: &Path) -> PathBuf {
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap();
    git(&db, &["init", "--quiet", "-b", "main"]);
    common::set_identity(&db);
    write(
        &db,
        "v2/entity/person/ram-kc.json",
        &person("ram-kc", Some("Hari")),
    );
    write(&db, "v2/entity/person/sita-kc.json", &person("sita-kc", None));
    write(&db, "README.md", "data\n");
    git(&db, &["add", "-A"]);
    git(&db, &["commit", "--quiet", "-m", "First\n\nNes-Migration: 000-x"]);
    git(&db, &["tag", "-a", "v1", "-m", "Release one"]);
    git(&db, &["commit", "--quiet", "--allow-empty", "-m", "Empty"]);
    git(&db, &["branch", "other"]);
    write(
        &db,
        "v2/entity/person/sita-kc.json",
        &person("sita-kc", Some("Gopal")),
    );
    git(&db, &["commit", "--quiet", "-am", "Second"]);
    git(&db, &["switch", "--quiet", "other"]);
    write(
        &db,
        "v2/entity/person/hari-kc.json",
        &person("hari-kc", Some("Shyam")),
    );
    git(&db, &["add", "-A"]);
    git(&db, &["commit", "--quiet", "-m", "On other"]);
    git(&db, &["switch", "--quiet", "main"]);
    let bare = dir.join("origin.git");
    git(dir, &["init", "--quiet", "--bare", bare.to_str().unwrap()]);
    git(&db, &["remote", "add", "origin", bare.to_str().unwrap()]);
    git(&db, &["push", "--quiet", "origin", "main", "other", "v1"]);
    git(&db, &["fetch", "--quiet", "origin"]);
    db
}

#[test]
fn rewrites_branches_and_annotated_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let db = small_repo(tmp.path());
    let tag_message = git(&db, &["cat-file", "-p", "v1"]);
    let done = purge(&db, &[]);
    assert_eq!(done["commits"], 4, "{done}");
    assert_eq!(
        done["commits_rewritten"], 4,
        "every commit descends from the first"
    );
    assert!(values_in_history(&db).is_empty());
    fsck(&db);
    let names: Vec<&str> = done["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for name in [
        "refs/heads/main",
        "refs/heads/other",
        "refs/tags/v1",
        "refs/remotes/origin/main",
    ] {
        assert!(names.contains(&name), "{name} moved: {names:?}");
    }
    let new_tag = git(&db, &["cat-file", "-p", "v1"]);
    assert_eq!(
        new_tag.lines().skip(1).collect::<Vec<_>>(),
        tag_message.lines().skip(1).collect::<Vec<_>>()
    );
    assert_eq!(git(&db, &["cat-file", "-t", "v1"]).trim(), "tag");
    // The push commands lease each ref on the id the remote had.
    let pushes: Vec<&str> = done["push_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(pushes.len(), 3, "{pushes:?}");
    for command in pushes {
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        git(&db, &args);
    }
    let remote = tmp.path().join("origin.git");
    assert_eq!(
        git(&remote, &["rev-parse", "main"]),
        git(&db, &["rev-parse", "main"])
    );
    assert_eq!(git(&remote, &["rev-parse", "v1"]), git(&db, &["rev-parse", "v1"]));
}

#[test]
fn refuses_a_dirty_tree_unpushed_commits_and_a_held_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let db = small_repo(tmp.path());
    let refs_before = refs(&db);

    write(&db, "v2/entity/person/ram-kc.json", "{}");
    let out = nes(&db, &["db", "purge-history"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    git(&db, &["checkout", "--", "."]);

    git(&db, &["commit", "--quiet", "--allow-empty", "-m", "Local only"]);
    let out = nes(&db, &["db", "purge-history"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Local only"),
        "{}",
        text(&out)
    );
    git(&db, &["reset", "--quiet", "--keep", "origin/main"]);

    let lock = db.join(".git/nes/run.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let holder = std::fs::File::create(&lock).unwrap();
    holder.lock().unwrap();
    let out = nes(&db, &["db", "purge-history"], None);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    drop(holder);
    assert_eq!(refs(&db), refs_before, "no ref moved");
    assert!(!values_in_history(&db).is_empty(), "nothing purged");
}

/// What a test compares after an abort: refs, HEAD, the index's entries and the files.
fn state(db: &Path) -> String {
    let mut files = String::new();
    for entry in walkdir::WalkDir::new(db).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(db)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel.starts_with(".git") || !entry.file_type().is_file() {
            continue;
        }
        files.push_str(&format!("{rel} {:?}\n", std::fs::read(entry.path()).unwrap()));
    }
    format!(
        "{}{}{}{}{}",
        refs(db),
        std::fs::read_to_string(db.join(".git/HEAD")).unwrap(),
        git(db, &["ls-files", "-s"]),
        git(db, &["status", "--porcelain"]),
        files
    )
}

const FAULTS: &[&str] = &[
    "purge-objects-written",
    "purge-journal-written",
    "purge-first-ref-moved",
    "purge-refs-moved",
    "purge-checked-out",
];

#[test]
fn an_interruption_at_each_point_is_undone_or_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let template = small_repo(tmp.path());
    let before = state(&template);
    let finished = {
        let dir = tmp.path().join("finished");
        copy_dir(tmp.path(), &dir);
        let db = dir.join("db");
        purge(&db, &[]);
        state(&db)
    };
    for fault in FAULTS {
        for way in ["--resume", "--abort"] {
            let dir = tmp.path().join(format!("{fault}{way}"));
            copy_dir(tmp.path(), &dir);
            let db = dir.join("db");
            let out = nes(&db, &["db", "purge-history"], Some(fault));
            assert!(!out.status.success(), "{fault}: {}", text(&out));
            let journal = db.join(".git/nes/purge/journal").exists();
            if !journal {
                assert_eq!(state(&db), before, "{fault}: nothing moved before the journal");
                let out = nes(&db, &["db", "purge-history", way], None);
                assert_eq!(
                    out.status.code(),
                    Some(2),
                    "{fault} {way}: nothing to recover: {}",
                    text(&out)
                );
                continue;
            }
            // Every writing command refuses and names the way out.
            let out = nes(
                &db,
                &[
                    "migrate",
                    "mark-applied",
                    "000-example-migration",
                    "--reason",
                    "x",
                ],
                None,
            );
            assert_eq!(out.status.code(), Some(1), "{fault}: {}", text(&out));
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("--resume"),
                "{}",
                text(&out)
            );
            ok(nes(&db, &["db", "purge-history", way], None));
            assert!(!db.join(".git/nes/purge/journal").exists());
            let expected = if way == "--resume" { &finished } else { &before };
            assert_eq!(&state(&db), expected, "{fault} {way}");
            fsck(&db);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in ["db", "origin.git"] {
        let status = Command::new("cp")
            .arg("-a")
            .arg(from.join(name))
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    }
    // The copy's remote is its own bare repository.
    let db = to.join("db");
    git(
        &db,
        &[
            "remote",
            "set-url",
            "origin",
            to.join("origin.git").to_str().unwrap(),
        ],
    );
}

#[test]
fn remap_pointer_moves_the_parents_gitlink() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("tool");
    std::fs::create_dir_all(&parent).unwrap();
    git(&parent, &["init", "--quiet", "-b", "main"]);
    common::set_identity(&parent);
    let db = small_repo(&parent);
    std::fs::write(parent.join("README.md"), "tool\n").unwrap();
    git(&parent, &["add", "README.md"]);
    git(
        &parent,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{},db", git(&db, &["rev-parse", "HEAD"]).trim()),
        ],
    );
    git(&parent, &["commit", "--quiet", "-m", "Add the data repository"]);
    let old = git(&db, &["rev-parse", "HEAD"]).trim().to_string();
    purge(&db, &[]);
    let new = git(&db, &["rev-parse", "HEAD"]).trim().to_string();
    assert_ne!(old, new);
    let out = ok(nes_in(&parent, Path::new("db"), &["db", "remap-pointer"], None));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("now points at"),
        "{}",
        text(&out)
    );
    let pointer = git(&parent, &["ls-tree", "HEAD", "db"]);
    assert!(pointer.contains(&format!("commit {new}")), "{pointer}");
    assert!(git(&parent, &["log", "-1", "--format=%s"]).starts_with("Point db at the purged history"));
    // Again: it already points there.
    let out = ok(nes_in(&parent, Path::new("db"), &["db", "remap-pointer"], None));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("already points"),
        "{}",
        text(&out)
    );
    // A map that does not know the pointer is refused.
    let other = tmp.path().join("other-map");
    std::fs::write(&other, format!("{} {new}\n", "1".repeat(40))).unwrap();
    git(
        &parent,
        &["update-index", "--cacheinfo", &format!("160000,{old},db")],
    );
    let out = nes_in(
        &parent,
        Path::new("db"),
        &["db", "remap-pointer", "--map", other.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
