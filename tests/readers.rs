//! Source readers against files written here and the real migration sources in shared data.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use nes::migration::readers::{
    read_csv, read_csv_as, read_excel, read_json, read_json_as, read_jsonl, resolve_source, ReadError,
    ReadOptions,
};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde::Deserialize;
use serde_json::json;
use tempfile::TempDir;

/// A migration folder holding the given files.
fn folder(files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    dir
}

/// A real source folder from shared data, or `None` (the test then skips).
fn real_sources(migration: &str) -> Option<PathBuf> {
    common::shared_dir().map(|shared| shared.join("nes-format/sources").join(migration))
}

fn pipe() -> ReadOptions {
    ReadOptions::default().delimiter(b'|')
}

// --- resolve_source -------------------------------------------------------------------------

#[test]
fn resolves_files_inside_the_folder() {
    let dir = folder(&[("data/a.csv", b"x\n1\n")]);
    let path = resolve_source(dir.path(), "data/a.csv").unwrap();
    assert_eq!(path, dir.path().canonicalize().unwrap().join("data/a.csv"));
    assert!(resolve_source(dir.path(), "./data/a.csv").is_ok());
}

#[test]
fn refuses_parent_and_absolute_paths() {
    let dir = folder(&[("a.csv", b"x\n")]);
    for name in ["../x", "data/../../x", "/etc/passwd"] {
        let err = resolve_source(dir.path(), name).unwrap_err();
        assert_eq!(err.file, name);
        assert!(err.message.contains("refused"), "{err}");
    }
    // Even a `..` that would land back inside is refused: names must be plain.
    assert!(resolve_source(dir.path(), "sub/../a.csv").is_err());
}

#[cfg(unix)]
#[test]
fn refuses_symlinks_that_escape() {
    let outside = folder(&[("secret.csv", b"x\n1\n")]);
    let dir = folder(&[("inside.csv", b"x\n1\n")]);
    std::os::unix::fs::symlink(outside.path().join("secret.csv"), dir.path().join("link.csv")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linkdir")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("inside.csv"), dir.path().join("ok.csv")).unwrap();

    let err = read_csv(dir.path(), "link.csv", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.file, "link.csv");
    assert!(err.message.contains("outside"), "{err}");
    assert!(resolve_source(dir.path(), "linkdir/secret.csv").is_err());
    // A symlink that stays inside the folder is fine.
    assert_eq!(
        read_csv(dir.path(), "ok.csv", &ReadOptions::default())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn missing_file_is_named() {
    let dir = folder(&[]);
    let err = read_json(dir.path(), "nope.json", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.file, "nope.json");
    assert!(err.to_string().starts_with("nope.json: not found"), "{err}");
}

#[test]
fn a_directory_is_not_a_source() {
    let dir = folder(&[("sub/a.csv", b"x\n")]);
    assert!(resolve_source(dir.path(), "sub")
        .unwrap_err()
        .message
        .contains("not a regular file"));
}

// --- CSV ------------------------------------------------------------------------------------

#[test]
fn csv_quoted_fields_keep_delimiters_quotes_and_newlines() {
    let text = "name,note\n\"Doe, Jane\",\"said \"\"hi\"\"\"\n\"multi\nline\", padded \n";
    let dir = folder(&[("a.csv", text.as_bytes())]);
    let rows = read_csv(dir.path(), "a.csv", &ReadOptions::default()).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "Doe, Jane");
    assert_eq!(rows[0]["note"], "said \"hi\"");
    assert_eq!(rows[1]["name"], "multi\nline");
    // Nothing is trimmed.
    assert_eq!(rows[1]["note"], " padded ");
}

#[test]
fn csv_devanagari_and_bom() {
    let text = "\u{feff}नाम|संख्या\nनेपाल|१२३\n";
    let dir = folder(&[("np.csv", text.as_bytes())]);
    let rows = read_csv(dir.path(), "np.csv", &pipe()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].keys().collect::<Vec<_>>(), ["नाम", "संख्या"]);
    assert_eq!(rows[0]["नाम"], "नेपाल");
    assert_eq!(rows[0]["संख्या"], "१२३");
}

#[test]
fn csv_without_bom_and_crlf_lines() {
    let dir = folder(&[("a.csv", b"a,b\r\n1,2\r\n\r\n3,4\r\n")]);
    let rows = read_csv(dir.path(), "a.csv", &ReadOptions::default()).unwrap();
    // Blank lines are skipped, as the csv crate does by default.
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["b"], "4");
}

#[test]
fn csv_real_parties_pipe_delimited() {
    let Some(dir) = real_sources("003-source-2082-political-parties") else {
        return;
    };
    let rows = read_csv(&dir, "parties-2082.csv", &pipe()).unwrap();
    assert_eq!(rows.len(), 124);
    assert_eq!(rows[0]["सि.नं."], "१");
    assert_eq!(rows[0]["दलको नाम"], "नेपाल मजदुर किसान पार्टी");
    assert_eq!(rows[0]["दल दर्ता मिति"], "२०७३-८-३०");
    assert_eq!(rows[0].len(), 8);
}

#[test]
fn csv_real_constituencies_typed() {
    #[derive(Deserialize)]
    struct District {
        #[serde(rename = "DistrictName")]
        name: String,
        #[serde(rename = "SCConstID")]
        constituencies: u32,
    }
    let Some(dir) = real_sources("004-source-election-constituencies") else {
        return;
    };
    let rows: Vec<District> = read_csv_as(&dir, "constituencies.csv", &ReadOptions::default()).unwrap();
    assert_eq!(rows.len(), 77);
    assert_eq!(rows.iter().map(|d| d.constituencies).sum::<u32>(), 165);
    assert!(rows.iter().any(|d| d.name == "अछाम"));
}

#[derive(Debug, Deserialize, PartialEq)]
struct Party {
    name: String,
    seats: u32,
    #[serde(default)]
    national: Option<bool>,
}

#[test]
fn csv_typed_rows() {
    let text = "\u{feff}name,seats,national\n\"Party, A\",12,true\nपार्टी ख,0,\n";
    let dir = folder(&[("p.csv", text.as_bytes())]);
    let rows: Vec<Party> = read_csv_as(dir.path(), "p.csv", &ReadOptions::default()).unwrap();
    assert_eq!(
        rows,
        [
            Party {
                name: "Party, A".into(),
                seats: 12,
                national: Some(true)
            },
            Party {
                name: "पार्टी ख".into(),
                seats: 0,
                national: None
            },
        ]
    );
}

#[test]
fn csv_typed_error_names_line_and_header() {
    let dir = folder(&[("p.csv", b"name,seats\nA,1\nB,many\n")]);
    let err = read_csv_as::<Party>(dir.path(), "p.csv", &ReadOptions::default()).unwrap_err();
    assert_eq!((err.line, err.column), (Some(3), Some(2)));
    assert!(err.message.contains("`seats`"), "{err}");
    assert!(err.to_string().starts_with("p.csv:3:2: "), "{err}");
}

#[test]
fn csv_ragged_row_names_its_line() {
    let dir = folder(&[("r.csv", b"a,b\n1,2\n\"x\ny\",2\n1,2,3\n")]);
    let err = read_csv(dir.path(), "r.csv", &ReadOptions::default()).unwrap_err();
    // The quoted newline counts: the ragged record starts on line 5.
    assert_eq!(err.line, Some(5));
    assert!(err.message.contains("expected 2"), "{err}");
    assert!(err.message.contains("found 3"), "{err}");
}

#[test]
fn csv_invalid_utf8_names_line_and_field() {
    let dir = folder(&[("u.csv", b"a,b\n1,2\n3,\xff\xfe\n")]);
    let err = read_csv(dir.path(), "u.csv", &ReadOptions::default()).unwrap_err();
    assert_eq!((err.line, err.column), (Some(3), Some(2)));
    assert!(err.message.contains("invalid UTF-8"), "{err}");
    assert!(err.message.contains("`b`"), "{err}");
}

#[test]
fn csv_duplicate_header_is_refused() {
    let dir = folder(&[("d.csv", b"a,a\n1,2\n")]);
    let err = read_csv(dir.path(), "d.csv", &ReadOptions::default()).unwrap_err();
    assert!(err.message.contains("duplicate header `a`"), "{err}");
}

#[test]
fn csv_header_only_and_empty_files() {
    let dir = folder(&[("h.csv", b"a,b\n"), ("e.csv", b"")]);
    assert!(read_csv(dir.path(), "h.csv", &ReadOptions::default())
        .unwrap()
        .is_empty());
    // An empty file is refused unless the migration says it may be empty.
    let err = read_csv(dir.path(), "e.csv", &ReadOptions::default()).unwrap_err();
    assert!(err.message.contains("the file is empty"), "{err}");
    assert!(err.message.contains(".allow_empty()"), "{err}");
    assert!(
        read_csv(dir.path(), "e.csv", &ReadOptions::default().allow_empty())
            .unwrap()
            .is_empty()
    );
}

// --- JSON and JSON Lines ----------------------------------------------------------------------

#[test]
fn json_documents_and_typed() {
    #[derive(Deserialize)]
    struct Doc {
        name: String,
    }
    let dir = folder(&[("a.json", "\u{feff}{\"name\": \"काठमाडौं\"}".as_bytes())]);
    assert_eq!(
        read_json(dir.path(), "a.json", &ReadOptions::default()).unwrap(),
        json!({"name": "काठमाडौं"})
    );
    assert_eq!(
        read_json_as::<Doc>(dir.path(), "a.json", &ReadOptions::default())
            .unwrap()
            .name,
        "काठमाडौं"
    );
}

#[test]
fn json_syntax_error_has_line_and_column() {
    let dir = folder(&[("bad.json", b"{\n  \"a\": 1,\n  \"b\": ]\n}\n")]);
    let err = read_json(dir.path(), "bad.json", &ReadOptions::default()).unwrap_err();
    assert_eq!((err.line, err.column), (Some(3), Some(8)));
    assert!(
        err.to_string().starts_with("bad.json:3:8: expected value"),
        "{err}"
    );
}

#[test]
fn json_type_error_has_position() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        n: u32,
    }
    let dir = folder(&[("t.json", b"{\n\"n\": \"x\"}")]);
    let err = read_json_as::<Doc>(dir.path(), "t.json", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.message.contains("invalid type"), "{err}");
}

#[test]
fn json_real_parties_data() {
    let Some(dir) = real_sources("003-source-2082-political-parties") else {
        return;
    };
    let value = read_json(&dir, "parties-data-en.json", &ReadOptions::default()).unwrap();
    assert!(value.is_object() || value.is_array());
}

#[test]
fn jsonl_real_projects() {
    let Some(dir) = real_sources("007-source-projects") else {
        return;
    };
    let rows = read_jsonl(&dir, "jica_projects.jsonl", &ReadOptions::default()).unwrap();
    assert_eq!(rows.len(), 15);
    assert_eq!(
        rows[0]["slug"],
        "jica-urban-transmission-and-distribution-system-improve-20220921"
    );
}

#[test]
fn jsonl_skips_blank_lines_and_names_the_broken_one() {
    let dir = folder(&[
        ("ok.jsonl", b"{\"a\":1}\r\n\n   \n{\"a\":2}\n"),
        ("bad.jsonl", b"{\"a\":1}\n\n{\"a\":2\n{\"a\":3}\n"),
    ]);
    assert_eq!(
        read_jsonl(dir.path(), "ok.jsonl", &ReadOptions::default()).unwrap(),
        [json!({"a": 1}), json!({"a": 2})]
    );
    let err = read_jsonl(dir.path(), "bad.jsonl", &ReadOptions::default()).unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(err.to_string().starts_with("bad.jsonl:3:"), "{err}");
}

// --- Spreadsheets -----------------------------------------------------------------------------

/// Writes a two-sheet workbook: `Parties` (typed cells) then `Notes`.
fn write_workbook(path: &Path) {
    let mut workbook = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");

    let sheet = workbook.add_worksheet();
    sheet.set_name("Parties").unwrap();
    for (col, header) in ["name", "seats", "share", "national", "registered", "updated"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    sheet.write_string(1, 0, "नेपाली कांग्रेस").unwrap();
    sheet.write_number(1, 1, 89).unwrap();
    sheet.write_number(1, 2, 0.325).unwrap();
    sheet.write_boolean(1, 3, true).unwrap();
    let day = ExcelDateTime::from_ymd(2022, 9, 21).unwrap();
    sheet.write_datetime_with_format(1, 4, &day, &date).unwrap();
    let moment = ExcelDateTime::from_ymd(2023, 1, 2)
        .unwrap()
        .and_hms(13, 45, 30)
        .unwrap();
    sheet
        .write_datetime_with_format(1, 5, &moment, &datetime)
        .unwrap();
    // Row 3: an empty cell (seats) between filled ones.
    sheet.write_string(2, 0, "Party B").unwrap();
    sheet.write_number(2, 2, 1.5).unwrap();
    sheet.write_boolean(2, 3, false).unwrap();

    let notes = workbook.add_worksheet();
    notes.set_name("Notes").unwrap();
    notes.write_string(0, 0, "note").unwrap();
    notes.write_string(0, 2, "extra").unwrap();
    notes.write_string(1, 0, "first").unwrap();
    notes.write_string(1, 1, "untitled column").unwrap();
    workbook.save(path).unwrap();
}

fn workbook_folder() -> TempDir {
    let dir = folder(&[]);
    write_workbook(&dir.path().join("book.xlsx"));
    dir
}

#[test]
fn excel_first_sheet_typed_cells() {
    let dir = workbook_folder();
    let rows = read_excel(dir.path(), "book.xlsx", None, &ReadOptions::default()).unwrap();
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    assert_eq!(first["name"], json!("नेपाली कांग्रेस"));
    // xlsx stores every number as a float: calamine (and so we) keep it one.
    assert_eq!(first["seats"], json!(89.0));
    assert_eq!(first["share"], json!(0.325));
    assert_eq!(first["national"], json!(true));
    assert_eq!(first["registered"], json!("2022-09-21"));
    assert_eq!(first["updated"], json!("2023-01-02T13:45:30"));

    let second = &rows[1];
    assert_eq!(second["seats"], json!(null));
    assert_eq!(second["national"], json!(false));
    assert_eq!(second["registered"], json!(null));
    assert_eq!(second.len(), 6);
}

#[test]
fn excel_sheet_by_name_and_empty_header() {
    let dir = workbook_folder();
    let rows = read_excel(dir.path(), "book.xlsx", Some("Notes"), &ReadOptions::default()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["note"], json!("first"));
    // An empty header cell is named after its sheet column (B = 2).
    assert_eq!(rows[0]["column_2"], json!("untitled column"));
    assert_eq!(rows[0]["extra"], json!(null));
}

#[test]
fn excel_missing_sheet_lists_the_sheets() {
    let dir = workbook_folder();
    let err = read_excel(
        dir.path(),
        "book.xlsx",
        Some("Candidates"),
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.file, "book.xlsx");
    assert!(err.message.contains("`Candidates`"), "{err}");
    assert!(err.message.contains("`Parties`, `Notes`"), "{err}");
}

#[test]
fn excel_corrupt_file_is_a_clear_error() {
    // Deterministic pseudo-random bytes: a reproducible failure if this ever regresses.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let dir = folder(&[("broken.xlsx", &bytes), ("noext", &bytes)]);
    for name in ["broken.xlsx", "noext"] {
        let err: ReadError = read_excel(dir.path(), name, None, &ReadOptions::default()).unwrap_err();
        assert_eq!(err.file, name);
        assert!(err.message.starts_with("cannot open the workbook"), "{err}");
    }
}

#[test]
fn excel_escape_is_refused() {
    let dir = workbook_folder();
    let err = read_excel(dir.path(), "../book.xlsx", None, &ReadOptions::default()).unwrap_err();
    assert!(err.message.contains("refused"), "{err}");
}
