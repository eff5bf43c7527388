//! Source readers for migration code: CSV, JSON, JSON Lines and spreadsheets, always
//! relative to the migration's folder and never outside it.
//!
//! Every failure is a [`ReadError`] naming the file as the migration named it, so a message
//! points at the migration's own source rather than at an absolute path on one machine.
//!
//! Choices worth knowing when writing a migration:
//! - CSV: the first row is the header; a leading UTF-8 BOM is dropped, nothing is trimmed,
//!   blank lines are skipped (the csv crate's default) and every row must have as many
//!   fields as the header. [`read_csv`] refuses duplicate header names, since a map row
//!   would silently keep only one of them.
//! - JSON: a leading UTF-8 BOM is dropped. JSON Lines skips blank lines.
//! - Spreadsheets: the first row of the used range is the header; an empty header cell
//!   becomes `column_<n>` (`n` the 1-based sheet column, so `column_3` is column C);
//!   duplicate header names are refused. Cells keep their stored type: integers stay
//!   integers and floats stay floats (`3.0` is not turned into `3`), booleans are booleans,
//!   empty cells are `null`, dates are `YYYY-MM-DD` strings, date-times
//!   `YYYY-MM-DDTHH:MM:SS` (milliseconds dropped), durations `H:MM:SS`. A cell holding an
//!   error (`#DIV/0!`, `#N/A`...) is a [`ReadError`] at its row and column. Fully empty
//!   trailing rows are skipped; empty rows in the middle are kept (all `null`), so row
//!   positions still match what a reviewer sees in the sheet.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use calamine::{Data, ExcelDateTime, Range, Reader};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A reader failure: the file, where in it (line/row, column when known) and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", location(*.line, *.column))]
pub struct ReadError {
    /// The path as the migration named it, relative to its folder.
    pub file: String,
    /// 1-based line (CSV, JSON, JSON Lines) or spreadsheet row.
    pub line: Option<u64>,
    /// 1-based column: the byte column for JSON (as serde_json counts), the field number
    /// for CSV, the sheet column (A = 1) for spreadsheets.
    pub column: Option<u64>,
    pub message: String,
}

fn location(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl ReadError {
    /// An error about the whole file, with no position in it.
    pub fn new(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// An error at a 1-based line (or row) and, when known, column.
    pub fn at(file: &str, line: u64, column: Option<u64>, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            column,
            ..Self::new(file, message)
        }
    }
}

/// A CSV row: header → value.
pub type CsvRow = BTreeMap<String, String>;

/// A spreadsheet row: header → cell, typed (string, number, bool, null for empty;
/// dates as `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` strings).
pub type SheetRow = BTreeMap<String, Value>;

/// How to read a CSV file.
#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    /// Field delimiter (`b','` by default; real sources use `b'|'`).
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self { delimiter: b',' }
    }
}

const BOM: char = '\u{feff}';

/// Resolves `name` inside `dir`, refusing absolute paths, `..` and symlinks that escape.
///
/// Returns the canonical path of the file. `name` must name a regular file (or a symlink to
/// one) that, once every symlink is resolved, still lies inside the canonical `dir`.
pub fn resolve_source(dir: &Path, name: &str) -> Result<PathBuf, ReadError> {
    check_relative(name)?;
    let root = dir.canonicalize().map_err(|e| {
        ReadError::new(
            name,
            format!("cannot open the migration folder {}: {e}", dir.display()),
        )
    })?;
    let joined = root.join(name);
    if fs::symlink_metadata(&joined).is_err() {
        return Err(ReadError::new(name, format!("not found in {}", dir.display())));
    }
    let target = joined
        .canonicalize()
        .map_err(|e| ReadError::new(name, format!("cannot resolve: {e}")))?;
    if !target.starts_with(&root) {
        return Err(ReadError::new(name, "resolves outside the migration folder"));
    }
    if !target.is_file() {
        return Err(ReadError::new(name, "not a regular file"));
    }
    Ok(target)
}

/// Refuses names that could leave the folder before any symlink is even looked at.
fn check_relative(name: &str) -> Result<(), ReadError> {
    if name.is_empty() {
        return Err(ReadError::new(name, "empty source file name"));
    }
    for component in Path::new(name).components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {
                return Err(ReadError::new(
                    name,
                    "absolute paths are refused: name a file inside the migration folder",
                ))
            }
            Component::ParentDir => {
                return Err(ReadError::new(
                    name,
                    "`..` is refused: name a file inside the migration folder",
                ))
            }
            Component::CurDir | Component::Normal(_) => {}
        }
    }
    Ok(())
}

fn read_bytes(dir: &Path, name: &str) -> Result<Vec<u8>, ReadError> {
    let path = resolve_source(dir, name)?;
    fs::read(&path).map_err(|e| ReadError::new(name, format!("cannot read: {e}")))
}

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

/// Reads a CSV file with a header row (UTF-8, with or without BOM).
///
/// Duplicate header names are refused: the row map could keep only one of the values.
pub fn read_csv(dir: &Path, name: &str, options: CsvOptions) -> Result<Vec<CsvRow>, ReadError> {
    let bytes = read_bytes(dir, name)?;
    let mut reader = csv_reader(&bytes, options);
    let headers = csv_headers(&mut reader, name)?;
    if let Some(dup) = first_duplicate(headers.iter()) {
        return Err(ReadError::at(name, 1, None, format!("duplicate header `{dup}`")));
    }
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| csv_error(name, &headers, e))?;
            Ok(headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect())
        })
        .collect()
}

/// Reads a CSV file into typed rows (serde, by header name).
pub fn read_csv_as<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
    options: CsvOptions,
) -> Result<Vec<T>, ReadError> {
    let bytes = read_bytes(dir, name)?;
    let mut reader = csv_reader(&bytes, options);
    let headers = csv_headers(&mut reader, name)?;
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| csv_error(name, &headers, e))?;
            // The BOM-free headers are passed explicitly: the reader's own still carry it.
            record
                .deserialize(Some(&headers))
                .map_err(|e| csv_error(name, &headers, e))
        })
        .collect()
}

fn csv_reader(bytes: &[u8], options: CsvOptions) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(true)
        .from_reader(bytes)
}

/// The header row, with a leading BOM removed from its first name.
fn csv_headers(reader: &mut csv::Reader<&[u8]>, name: &str) -> Result<csv::StringRecord, ReadError> {
    let headers = reader
        .headers()
        .map_err(|e| csv_error(name, &csv::StringRecord::new(), e))?;
    Ok(headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if i == 0 {
                h.strip_prefix(BOM).unwrap_or(h)
            } else {
                h
            }
        })
        .collect())
}

fn csv_error(name: &str, headers: &csv::StringRecord, err: csv::Error) -> ReadError {
    let line = err.position().map(csv::Position::line);
    let (column, message) = match err.kind() {
        csv::ErrorKind::Utf8 { err, .. } => (
            Some(err.field() as u64 + 1),
            format!("{}invalid UTF-8", field_label(headers, err.field())),
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => (
            None,
            format!("wrong number of fields: expected {expected_len} (as in the header), found {len}"),
        ),
        csv::ErrorKind::Deserialize { err, .. } => {
            let field = err.field().and_then(|f| usize::try_from(f).ok());
            let label = field.map(|f| field_label(headers, f)).unwrap_or_default();
            (field.map(|f| f as u64 + 1), format!("{label}{}", err.kind()))
        }
        _ => (None, err.to_string()),
    };
    match line {
        Some(line) => ReadError::at(name, line, column, message),
        None => ReadError::new(name, message),
    }
}

/// `field 3 (`name`): ` for messages, the header name when there is one.
fn field_label(headers: &csv::StringRecord, index: usize) -> String {
    match headers.get(index) {
        Some(header) => format!("field {} (`{header}`): ", index + 1),
        None => format!("field {}: ", index + 1),
    }
}

fn first_duplicate<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = BTreeSet::new();
    names.into_iter().find(|n| !seen.insert(*n))
}

// ---------------------------------------------------------------------------------------
// JSON and JSON Lines
// ---------------------------------------------------------------------------------------

/// Reads a JSON document.
pub fn read_json(dir: &Path, name: &str) -> Result<Value, ReadError> {
    read_json_as(dir, name)
}

/// Reads a JSON document into a typed value.
pub fn read_json_as<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<T, ReadError> {
    let bytes = read_bytes(dir, name)?;
    serde_json::from_slice(strip_bom(&bytes)).map_err(|e| json_error(name, None, &e))
}

/// Reads JSON Lines: one document per non-empty line.
///
/// Lines may end in LF or CRLF; lines holding only whitespace are skipped.
pub fn read_jsonl(dir: &Path, name: &str) -> Result<Vec<Value>, ReadError> {
    let bytes = read_bytes(dir, name)?;
    strip_bom(&bytes)
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(i, line)| serde_json::from_slice(line).map_err(|e| json_error(name, Some(i as u64 + 1), &e)))
        .collect()
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Turns a serde_json error into a positioned [`ReadError`].
///
/// `jsonl_line` is the file line when the document was parsed alone (JSON Lines): serde's
/// own line is then always 1 and only its column is kept.
fn json_error(name: &str, jsonl_line: Option<u64>, err: &serde_json::Error) -> ReadError {
    let message = json_message(err);
    // serde_json reports 0 for what it does not know: the line on I/O errors, the column
    // at the very start of a line (an empty document).
    let column = (err.line() > 0 && err.column() > 0).then_some(err.column() as u64);
    match (jsonl_line, err.line()) {
        (Some(line), _) => ReadError::at(name, line, column, message),
        (None, 0) => ReadError::new(name, message),
        (None, line) => ReadError::at(name, line as u64, column, message),
    }
}

/// serde_json's message without its trailing " at line L column C": the position is
/// already carried by the [`ReadError`].
fn json_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    full.strip_suffix(&suffix).map(str::to_owned).unwrap_or(full)
}

// ---------------------------------------------------------------------------------------
// Spreadsheets
// ---------------------------------------------------------------------------------------

/// Reads a sheet (the first when `sheet` is `None`) of an xlsx/xls/ods file; the first row
/// is the header.
///
/// See the module documentation for how headers and cells are typed.
pub fn read_excel(dir: &Path, name: &str, sheet: Option<&str>) -> Result<Vec<SheetRow>, ReadError> {
    let path = resolve_source(dir, name)?;
    // A malformed workbook must be an error for the migration, not a crash of the whole
    // run: calamine has panicked on hostile files before, so a panic is caught here.
    let range = std::panic::catch_unwind(|| load_range(&path, name, sheet))
        .map_err(|_| ReadError::new(name, "cannot read the workbook: the file is malformed"))??;
    sheet_rows(name, &range)
}

fn load_range(path: &Path, name: &str, sheet: Option<&str>) -> Result<Range<Data>, ReadError> {
    let mut workbook = calamine::open_workbook_auto(path)
        .map_err(|e| ReadError::new(name, format!("cannot open the workbook: {e}")))?;
    let sheets = workbook.sheet_names();
    let sheet_name = match sheet {
        Some(wanted) if sheets.iter().any(|s| s == wanted) => wanted.to_owned(),
        Some(wanted) => {
            return Err(ReadError::new(
                name,
                format!(
                    "no sheet named `{wanted}`; the sheets are: {}",
                    quoted_list(&sheets)
                ),
            ))
        }
        None => sheets
            .first()
            .cloned()
            .ok_or_else(|| ReadError::new(name, "the workbook has no sheet"))?,
    };
    workbook
        .worksheet_range(&sheet_name)
        .map_err(|e| ReadError::new(name, format!("cannot read sheet `{sheet_name}`: {e}")))
}

fn quoted_list(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".to_owned();
    }
    names
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a range sits in its sheet, to report 1-based sheet rows and columns.
#[derive(Clone, Copy)]
struct Origin {
    row: u64,
    column: u64,
}

impl Origin {
    fn cell(self, row: usize, column: usize) -> (u64, u64) {
        (self.row + row as u64 + 1, self.column + column as u64 + 1)
    }
}

fn sheet_rows(name: &str, range: &Range<Data>) -> Result<Vec<SheetRow>, ReadError> {
    let Some((row0, col0)) = range.start() else {
        return Ok(Vec::new());
    };
    let origin = Origin {
        row: u64::from(row0),
        column: u64::from(col0),
    };
    let mut rows = range.rows();
    let Some(header_row) = rows.next() else {
        return Ok(Vec::new());
    };
    let headers = sheet_headers(name, origin, header_row)?;
    let body: Vec<&[Data]> = rows.collect();
    let used = body
        .iter()
        .rposition(|row| row.iter().any(|c| !matches!(c, Data::Empty)))
        .map_or(0, |i| i + 1);
    body[..used]
        .iter()
        .enumerate()
        .map(|(i, row)| {
            headers
                .iter()
                .zip(row.iter())
                .enumerate()
                .map(|(j, (header, cell))| {
                    let (line, column) = origin.cell(i + 1, j);
                    let value = cell_value(cell).map_err(|m| ReadError::at(name, line, Some(column), m))?;
                    Ok((header.clone(), value))
                })
                .collect()
        })
        .collect()
}

fn sheet_headers(name: &str, origin: Origin, row: &[Data]) -> Result<Vec<String>, ReadError> {
    let headers = row
        .iter()
        .enumerate()
        .map(|(j, cell)| {
            let (line, column) = origin.cell(0, j);
            let text = match cell_value(cell).map_err(|m| ReadError::at(name, line, Some(column), m))? {
                Value::Null => String::new(),
                Value::String(s) => s,
                other => other.to_string(),
            };
            Ok(if text.is_empty() {
                format!("column_{column}")
            } else {
                text
            })
        })
        .collect::<Result<Vec<_>, ReadError>>()?;
    if let Some(dup) = first_duplicate(headers.iter().map(String::as_str)) {
        return Err(ReadError::at(
            name,
            origin.row + 1,
            None,
            format!("duplicate header `{dup}`"),
        ));
    }
    Ok(headers)
}

/// A cell as JSON, or the reason it cannot be one.
fn cell_value(cell: &Data) -> Result<Value, String> {
    Ok(match cell {
        Data::Empty => Value::Null,
        Data::String(s) => Value::String(s.clone()),
        Data::Bool(b) => Value::Bool(*b),
        Data::Int(i) => Value::from(*i),
        Data::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| format!("number {f} is not finite"))?,
        Data::DateTime(dt) => Value::String(format_excel_datetime(dt)),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Value::String(s.clone()),
        Data::Error(e) => return Err(format!("the cell holds the error {e}")),
    })
}

fn format_excel_datetime(dt: &ExcelDateTime) -> String {
    if dt.is_duration() {
        return format_duration(dt.as_f64());
    }
    let (year, month, day, hour, minute, second, _milli) = dt.to_ymd_hms_milli();
    if (hour, minute, second) == (0, 0, 0) {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")
    }
}

/// A duration stored as a fraction of days, as `H:MM:SS` (hours may exceed 24).
fn format_duration(days: f64) -> String {
    let total = (days * 86_400.0).round() as i64;
    let sign = if total < 0 { "-" } else { "" };
    let total = total.unsigned_abs();
    format!("{sign}{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_formats() {
        let e = ReadError::at("a.csv", 3, Some(2), "bad");
        assert_eq!(e.to_string(), "a.csv:3:2: bad");
        assert_eq!(ReadError::new("a.csv", "bad").to_string(), "a.csv: bad");
    }

    #[test]
    fn relative_names_only() {
        assert!(check_relative("a/b.csv").is_ok());
        assert!(check_relative("./b.csv").is_ok());
        assert!(check_relative("../b.csv").is_err());
        assert!(check_relative("a/../../b.csv").is_err());
        assert!(check_relative("/etc/passwd").is_err());
        assert!(check_relative("").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(1.5), "36:00:00");
        assert_eq!(format_duration(-1.0 / 24.0), "-1:00:00");
    }

    /// A range placed at B2 (row 2, column 2 of the sheet), as calamine gives for a sheet
    /// whose first row and column are blank.
    fn range_at_b2(rows: &[&[Data]]) -> Range<Data> {
        let width = rows.iter().map(|r| r.len()).max().unwrap() as u32;
        let mut range = Range::new((1, 1), (rows.len() as u32, width));
        for (i, row) in rows.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                range.set_value((i as u32 + 1, j as u32 + 1), cell.clone());
            }
        }
        range
    }

    #[test]
    fn sheet_rows_keep_middle_blank_rows_and_drop_trailing_ones() {
        let s = |v: &str| Data::String(v.to_owned());
        let range = range_at_b2(&[
            &[s("a"), Data::Int(2079), Data::Empty],
            &[s("x"), Data::Float(1.5), Data::Bool(true)],
            &[Data::Empty, Data::Empty, Data::Empty],
            &[s("y"), Data::Empty, Data::Empty],
            &[Data::Empty, Data::Empty, Data::Empty],
        ]);
        let rows = sheet_rows("b.xlsx", &range).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["a"], serde_json::json!("x"));
        assert_eq!(rows[0]["2079"], serde_json::json!(1.5));
        // Column D of the sheet: the range starts at B.
        assert_eq!(rows[0]["column_4"], serde_json::json!(true));
        assert!(rows[1].values().all(Value::is_null));
        assert_eq!(rows[2]["a"], serde_json::json!("y"));
    }

    #[test]
    fn error_cell_is_reported_at_its_sheet_position() {
        let range = range_at_b2(&[
            &[Data::String("a".into()), Data::String("b".into())],
            &[Data::Int(1), Data::Error(calamine::CellErrorType::Div0)],
        ]);
        let err = sheet_rows("b.xlsx", &range).unwrap_err();
        assert_eq!((err.line, err.column), (Some(3), Some(3)));
        assert!(err.message.contains("#DIV/0!"), "{err}");
    }

    #[test]
    fn duplicate_sheet_headers_are_refused() {
        let range = range_at_b2(&[&[Data::String("a".into()), Data::String("a".into())]]);
        assert!(sheet_rows("b.xlsx", &range)
            .unwrap_err()
            .message
            .contains("duplicate header `a`"));
    }

    #[test]
    fn non_finite_float_is_an_error() {
        assert!(cell_value(&Data::Float(f64::NAN)).is_err());
        assert_eq!(cell_value(&Data::Float(3.0)).unwrap(), serde_json::json!(3.0));
        assert_eq!(cell_value(&Data::Int(3)).unwrap(), serde_json::json!(3));
    }
}
