//! Hostile and broken inputs: each refused with an error naming the file and the problem
//! (and, for a limit, how to raise it), the run failed, and the data repository byte for
//! byte as it was: HEAD, refs, index, working tree, `.git/nes/`, objects. The files are
//! written here: spreadsheets with rust_xlsxwriter (and re-zipped where a part must be
//! hostile), text files as raw bytes.

mod common;

use std::io::{Cursor, Read as _, Write as _};
use std::path::Path;

use common::snapshot::Snapshot;
use common::{fixture, migration};
use nes::error::{exit_code, ExitCode};
use nes::migration::registry::{MigrationFn, Registry};
use nes::migration::runner::{Outcome, RunOptions, Runner, Target};
use nes::prelude::*;

fn options() -> RunOptions {
    RunOptions {
        progress: false,
        stream_logs: false,
        push: false,
        ..RunOptions::default()
    }
}

/// Writes an entity from each row: if a hostile read were accepted, the run would write.
fn write_rows<T: std::fmt::Debug>(ctx: &mut Context, rows: &[T]) -> Result<()> {
    for (i, _) in rows.iter().enumerate() {
        ctx.create_entity(
            &format!("entity:location/province/row-{i:04}"),
            json!({"names": [{"kind": "PRIMARY", "en": {"full": format!("Row {i}")}}]}),
            "from a hostile source",
        )?;
    }
    Ok(())
}

fn reads_xlsx(ctx: &mut Context) -> Result<()> {
    let rows = ctx.read_excel("source.xlsx", None)?;
    write_rows(ctx, &rows)
}

fn reads_csv(ctx: &mut Context) -> Result<()> {
    let rows = ctx.read_csv("source.csv")?;
    write_rows(ctx, &rows)
}

fn reads_csv_allowing_empty(ctx: &mut Context) -> Result<()> {
    let rows = ctx.source("source.csv").allow_empty().csv()?;
    write_rows(ctx, &rows)
}

fn reads_csv_with_a_small_file_limit(ctx: &mut Context) -> Result<()> {
    let rows = ctx.source("source.csv").max_file_bytes(1024).csv()?;
    write_rows(ctx, &rows)
}

fn reads_json(ctx: &mut Context) -> Result<()> {
    let doc = ctx.read_json("source.json")?;
    write_rows(ctx, doc.as_array().map_or(&[][..], Vec::as_slice))
}

const NAME: &str = "001-hostile";

/// Runs `migrate` over a migration folder holding `source` as `file`, and asserts that it
/// failed with every one of `expected` in its error and left the repository untouched.
fn refused(migrate: MigrationFn, file: &str, source: &[u8], expected: &[&str]) {
    let f = fixture(&[NAME]);
    std::fs::write(f.migrations.join(NAME).join(file), source).unwrap();
    settle(&f.repo);
    let before = Snapshot::of(f.repo.root());
    let registry = Registry::new(vec![migration(NAME, migrate)]).unwrap();
    let report = Runner::new(&registry, &f.migrations)
        .run(&f.repo, &Target::AllPending, &options())
        .unwrap();
    // `nes migrate run` exits 1 on a failed migration.
    assert!(report.failed());
    let m = &report.migrations[0];
    assert_eq!(m.status, Outcome::Failed);
    let error = m.error.join(": ");
    assert!(error.contains(file), "{error}");
    for want in expected {
        assert!(error.contains(want), "expected `{want}` in: {error}");
    }
    before.assert_unchanged(f.repo.root());
}

/// Brings the repository to the state any user's is in before a run: git has refreshed
/// its index once (`git status`), and the ledger cache, a pure function of history, exists.
fn settle(repo: &nes::git::repo::DataRepo) {
    common::git(repo.root(), &["status", "--porcelain"]);
    nes::git::ledger::read_ledger(repo).unwrap();
}

/// An xlsx written by rust_xlsxwriter: a header and one row, plus `extra` cells.
fn workbook(extra: &[(u32, u16, &str)]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "name").unwrap();
    sheet.write_string(1, 0, "Bagmati").unwrap();
    for (row, col, text) in extra {
        sheet.write_string(*row, *col, *text).unwrap();
    }
    book.save_to_buffer().unwrap()
}

/// The same zip with one part replaced (or added).
fn with_part(xlsx: &[u8], part: &str, content: &[u8]) -> Vec<u8> {
    let mut input = zip::ZipArchive::new(Cursor::new(xlsx)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for i in 0..input.len() {
        let mut entry = input.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        if name == part {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.start_file(name, options).unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.start_file(part, options).unwrap();
    out.write_all(content).unwrap();
    out.finish().unwrap().into_inner()
}

#[test]
fn a_sheet_spanning_the_whole_grid_is_refused_before_its_table_exists() {
    // Two cells at the grid's corners: a dense table of 1,048,576 × 16,384 cells (the
    // 5.8 GB abort this guards against), from a file of a few KB.
    let xlsx = workbook(&[(1_048_575, 16_383, "far")]);
    assert!(xlsx.len() < 20_000);
    refused(
        reads_xlsx,
        "source.xlsx",
        &xlsx,
        &["max_rows", "ctx.source(\"source.xlsx\")"],
    );
}

#[test]
fn a_part_that_decompresses_past_the_limit_is_refused() {
    // A sheet whose one tag name is 80 MiB of `a`: a few KB compressed.
    let mut sheet = b"<?xml version=\"1.0\"?><worksheet><".to_vec();
    sheet.extend(std::iter::repeat_n(b'a', 80 << 20));
    sheet.extend(b"/></worksheet>");
    let xlsx = with_part(&workbook(&[]), "xl/worksheets/sheet1.xml", &sheet);
    assert!(xlsx.len() < 1 << 20, "{}", xlsx.len());
    refused(
        reads_xlsx,
        "source.xlsx",
        &xlsx,
        &["xl/worksheets/sheet1.xml", "max_part_bytes"],
    );
}

#[test]
fn a_huge_declared_shared_string_count_is_refused() {
    let sst = br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="99999999999999"><si><t>name</t></si><si><t>Bagmati</t></si></sst>"#;
    let xlsx = with_part(&workbook(&[]), "xl/sharedStrings.xml", sst);
    refused(
        reads_xlsx,
        "source.xlsx",
        &xlsx,
        &["uniqueCount=\"99999999999999\"", "max_shared_strings"],
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let csv = format!("name\n{}", "Bagmati\n".repeat(200));
    refused(
        reads_csv_with_a_small_file_limit,
        "source.csv",
        csv.as_bytes(),
        &["size", "max_file_bytes"],
    );
}

#[test]
fn a_csv_with_a_nul_byte_is_refused_at_its_line() {
    refused(
        reads_csv,
        "source.csv",
        b"name\nBagmati\nKoshi\0\n",
        &["source.csv:3", "NUL byte"],
    );
}

#[test]
fn a_duplicate_json_key_is_refused_naming_the_key_and_line() {
    let json = b"[\n  {\"name\": \"Bagmati\",\n   \"name\": \"Koshi\"}\n]\n";
    refused(
        reads_json,
        "source.json",
        json,
        &["source.json:3", "duplicate key `name`"],
    );
}

#[test]
fn an_empty_file_is_refused_unless_allowed() {
    refused(
        reads_csv,
        "source.csv",
        b"",
        &["the file is empty", "allow_empty()"],
    );
    refused(
        reads_csv,
        "source.csv",
        b"\xEF\xBB\xBF \n",
        &["the file is empty"],
    );

    // Allowed on purpose: no rows, a run that writes nothing but its record.
    let f = fixture(&[NAME]);
    std::fs::write(f.migrations.join(NAME).join("source.csv"), b"").unwrap();
    let registry = Registry::new(vec![migration(NAME, reads_csv_allowing_empty)]).unwrap();
    let report = Runner::new(&registry, &f.migrations)
        .run(&f.repo, &Target::AllPending, &options())
        .unwrap();
    assert_eq!(
        report.migrations[0].status,
        Outcome::Completed,
        "{:?}",
        report.migrations[0].error
    );
}

/// Asserts that `err` is the preflight's refusal over the held `lock`: exit 3 (busy), the
/// lock and its holder named, and the hint saying which file to remove once it is stale.
fn assert_refused_over(err: &anyhow::Error, lock: &Path) {
    assert_eq!(exit_code(err), ExitCode::Busy, "{err:#}");
    let message = err.to_string();
    let name = lock.file_name().unwrap().to_string_lossy();
    assert!(
        message.contains(&*name) && message.contains("another git process"),
        "{message}"
    );
    assert!(
        nes::error::hint(err)
            .unwrap()
            .contains(&format!("remove {}", lock.display())),
        "{err:#}"
    );
}

#[test]
fn a_held_git_lock_refuses_the_run_before_anything_is_written() {
    let f = fixture(&[NAME]);
    std::fs::write(f.migrations.join(NAME).join("source.csv"), b"name\nBagmati\n").unwrap();
    let branch = common::git(f.repo.root(), &["symbolic-ref", "--short", "HEAD"]);
    let registry = Registry::new(vec![migration(NAME, reads_csv)]).unwrap();
    let git_dir = f.repo.git_dir();
    // What git itself takes to change the index, HEAD, the branch and the packed refs.
    for lock in [
        git_dir.join("index.lock"),
        git_dir.join("HEAD.lock"),
        git_dir.join(format!("refs/heads/{}.lock", branch.trim())),
        git_dir.join("packed-refs.lock"),
    ] {
        std::fs::write(&lock, b"").unwrap();
        let before = Snapshot::of(f.repo.root());
        let err = Runner::new(&registry, &f.migrations)
            .run(&f.repo, &Target::AllPending, &options())
            .expect_err("the run is refused");
        assert_refused_over(&err, &lock);
        before.assert_unchanged(f.repo.root());
        std::fs::remove_file(&lock).unwrap();
    }

    // Once the other process is done, the same run goes through.
    let report = Runner::new(&registry, &f.migrations)
        .run(&f.repo, &Target::AllPending, &options())
        .unwrap();
    assert_eq!(report.migrations[0].status, Outcome::Completed);
    assert!(Path::new(&f.repo.root().join("v2/entity/location/province/row-0000.json")).is_file());
}

/// The git directory a migration below takes `index.lock` in, as another git process would.
static LOCK_DURING_RUN: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

fn takes_the_index_lock_while_it_runs(ctx: &mut Context) -> Result<()> {
    let rows = ctx.read_csv("source.csv")?;
    write_rows(ctx, &rows)?;
    let git_dir = LOCK_DURING_RUN.lock().unwrap().clone().unwrap();
    std::fs::write(git_dir.join("index.lock"), b"")?;
    Ok(())
}

#[test]
fn a_git_lock_taken_while_the_migration_runs_refuses_the_commit_and_restores_the_tree() {
    let f = fixture(&[NAME]);
    std::fs::write(
        f.migrations.join(NAME).join("source.csv"),
        b"name\nBagmati\nGandaki\n",
    )
    .unwrap();
    settle(&f.repo);
    let lock = f.repo.git_dir().join("index.lock");
    *LOCK_DURING_RUN.lock().unwrap() = Some(f.repo.git_dir().to_path_buf());
    let before = Snapshot::of(f.repo.root());
    let registry = Registry::new(vec![migration(NAME, takes_the_index_lock_while_it_runs)]).unwrap();
    let err = Runner::new(&registry, &f.migrations)
        .run(&f.repo, &Target::AllPending, &options())
        .expect_err("the run is refused after the migration wrote its files");
    assert_refused_over(&err, &lock);
    // The files the migration wrote are gone, no commit, ref, run lock or journal is left:
    // with the other process's lock gone, the repository is the one the run started from.
    assert!(lock.is_file(), "the other process's lock is not nes's to remove");
    std::fs::remove_file(&lock).unwrap();
    before.assert_unchanged(f.repo.root());
}
