//! Drift and dependency checks: edited migrations, out-of-order reads, conflicting writers.

mod common;

use common::migration;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nes::git::repo::DataRepo;
use nes::migration::deps::{self, Node};
use nes::migration::registry::Registry;
use nes::migration::runner::{RunOptions, Runner, Target};
use nes::prelude::*;
use tempfile::TempDir;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn nes(cwd: &Path, migrations: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nes"))
        .current_dir(cwd)
        .env("NES_MIGRATIONS_DIR", migrations)
        .env("NES_GIT_AUTHOR", "Nes Test <nes-test@example.org>")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn validate_reports_an_edited_migration_but_not_a_crlf_checkout() {
    let dir = TempDir::new().unwrap();
    let migrations = dir.path().join("migrations");
    let example = migrations.join("000-example-migration");
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/000-example-migration"),
        &example,
    );
    assert!(
        nes(dir.path(), &migrations, &["migrate", "run", "000", "--no-push"])
            .status
            .success()
    );
    assert!(nes(dir.path(), &migrations, &["migrate", "validate"])
        .status
        .success());

    // A checkout with CRLF line endings is the same migration.
    let csv = example.join("locations.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text.replace('\n', "\r\n")).unwrap();
    let out = nes(dir.path(), &migrations, &["migrate", "validate", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // A real edit is drift: named, with the commit that applied it, and `run` warns.
    std::fs::write(&csv, text.replace("Bagmati Province", "Bagmati")).unwrap();
    let out = nes(dir.path(), &migrations, &["migrate", "validate", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["drift"][0]["name"], "000-example-migration");
    assert_eq!(doc["drift"][0]["commit"].as_str().unwrap().len(), 40);
    let run = nes(dir.path(), &migrations, &["migrate", "run", "000", "--no-push"]);
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("edited after it ran"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A run records a `v2` checksum, which leaves the README out: fixing a typo there is no
/// drift, while an edit of a source still is. A commit recorded with a `v1` checksum (older
/// nes) is compared in v1, which covered the README, so there the same typo fix is drift.
#[test]
fn the_readme_is_outside_the_v2_checksum_and_inside_v1() {
    let dir = TempDir::new().unwrap();
    let migrations = dir.path().join("migrations");
    let example = migrations.join("000-example-migration");
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/000-example-migration"),
        &example,
    );
    let run = nes(dir.path(), &migrations, &["migrate", "run", "000", "--no-push"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let db = dir.path().join("database-repo");
    let message = common::git(&db, &["log", "-1", "--format=%B"]);
    let recorded = message
        .lines()
        .find_map(|l| l.strip_prefix("Nes-Checksum: "))
        .expect("a checksum trailer")
        .to_string();
    assert!(recorded.starts_with("v2:sha256:"), "{recorded}");
    let v1 = nes::migration::checksum::folder_checksum_v1(&example).unwrap();

    let readme = example.join("README.md");
    let text = std::fs::read_to_string(&readme).unwrap();
    std::fs::write(&readme, format!("{text}\nA typo fixed after the run.\n")).unwrap();
    let out = nes(dir.path(), &migrations, &["migrate", "validate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // The same commit as an older nes wrote it, with the v1 value of the unedited folder.
    let msg = dir.path().join("msg");
    std::fs::write(&msg, message.replace(&recorded, &v1)).unwrap();
    common::git(
        &db,
        &["commit", "--amend", "--quiet", "-F", msg.to_str().unwrap()],
    );
    let out = nes(dir.path(), &migrations, &["migrate", "validate", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["drift"][0]["recorded"], v1.as_str());
    assert!(doc["drift"][0]["current"]
        .as_str()
        .unwrap()
        .starts_with("v1:sha256:"));
    std::fs::write(&readme, &text).unwrap();
    assert!(nes(dir.path(), &migrations, &["migrate", "validate"])
        .status
        .success());

    // Back to the v2 record: a source edit is drift.
    std::fs::write(&msg, &message).unwrap();
    common::git(
        &db,
        &["commit", "--amend", "--quiet", "-F", msg.to_str().unwrap()],
    );
    assert!(nes(dir.path(), &migrations, &["migrate", "validate"])
        .status
        .success());
    let csv = example.join("locations.csv");
    let data = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, data.replace("Bagmati Province", "Bagmati")).unwrap();
    assert_eq!(
        nes(dir.path(), &migrations, &["migrate", "validate"])
            .status
            .code(),
        Some(1)
    );
}

fn province(ctx: &mut Context, slug: &str) -> Result<()> {
    let names = json!([{"kind": "PRIMARY", "en": {"full": slug}}]);
    ctx.put_entity(
        &format!("entity:location/province/{slug}"),
        json!({ "names": names }),
        "add",
    )?;
    Ok(())
}

fn reads_later(ctx: &mut Context) -> Result<()> {
    ctx.get_entity("entity:location/province/later")?;
    Ok(())
}
fn writes_later(ctx: &mut Context) -> Result<()> {
    province(ctx, "later")
}
fn writes_shared(ctx: &mut Context) -> Result<()> {
    province(ctx, "shared")
}
fn writes_shared_differently(ctx: &mut Context) -> Result<()> {
    let names = json!([{"kind": "PRIMARY", "en": {"full": "Shared, renamed"}}]);
    ctx.put_entity(
        "entity:location/province/shared",
        json!({ "names": names }),
        "rename",
    )?;
    Ok(())
}

#[test]
fn deps_warn_about_out_of_order_reads_and_conflicting_writers() {
    let dir = TempDir::new().unwrap();
    let repo = DataRepo::init(&dir.path().join("db"), None).unwrap();
    common::set_identity(repo.root());
    let names = [
        "001-reads-later",
        "002-writes-later",
        "003-writes-shared",
        "004-writes-shared-too",
    ];
    for name in names {
        std::fs::create_dir_all(dir.path().join("migrations").join(name)).unwrap();
    }
    let registry = Registry::new(vec![
        migration(names[0], reads_later),
        migration(names[1], writes_later),
        migration(names[2], writes_shared),
        migration(names[3], writes_shared_differently),
    ])
    .unwrap();
    let runner = Runner::new(&registry, dir.path().join("migrations"));
    let options = RunOptions {
        dry_run: true,
        progress: false,
        stream_logs: false,
        ..RunOptions::default()
    };
    let report = runner.run(&repo, &Target::AllPending, &options).unwrap();
    let nodes = report
        .migrations
        .into_iter()
        .map(|m| Node {
            prefix: m.name[..3].parse().unwrap(),
            name: m.name,
            pending: true,
            access: m.access,
        })
        .collect();
    let deps = deps::analyze(nodes).unwrap();
    assert!(
        deps.warnings
            .iter()
            .any(|w| w.contains("001-reads-later") && w.contains("later migration 002-writes-later")),
        "{:?}",
        deps.warnings
    );
    assert!(
        deps.warnings
            .iter()
            .any(|w| w.contains("003-writes-shared and 004-writes-shared-too both write")),
        "{:?}",
        deps.warnings
    );
    assert!(deps.cycles.is_empty());
    let _ = writes_later;
}

#[test]
fn applied_runs_record_what_they_read_and_wrote() {
    let dir = TempDir::new().unwrap();
    let repo = DataRepo::init(&dir.path().join("db"), None).unwrap();
    common::set_identity(repo.root());
    std::fs::create_dir_all(dir.path().join("migrations/002-writes-later")).unwrap();
    let registry = Registry::new(vec![migration("002-writes-later", writes_later)]).unwrap();
    let options = RunOptions {
        progress: false,
        stream_logs: false,
        push: false,
        ..RunOptions::default()
    };
    Runner::new(&registry, dir.path().join("migrations"))
        .run(&repo, &Target::AllPending, &options)
        .unwrap();
    let recorded = deps::recorded(&repo).unwrap();
    assert!(recorded["002-writes-later"]
        .writes
        .contains("entity:location/province/later"));
}
