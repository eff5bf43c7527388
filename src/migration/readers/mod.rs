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
//! - Strict by default: a NUL byte in a CSV or JSON file, a key twice in one JSON object
//!   (Python's `json` keeps the last silently; a source with both values is ambiguous, so
//!   nes refuses it), and an empty file are errors naming the file and line;
//!   [`ReadOptions::allow_empty`] accepts an empty file on purpose.
//! - Every reader has limits ([`ReadOptions`]): the file's size, rows, columns, cells,
//!   string length, JSON depth, a workbook's decompressed parts and shared strings, and the
//!   memory of what it returns. Past one, the error names the limit and how to raise it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

mod delimited;
mod json;
mod limits;
mod sheet;

pub use delimited::{read_csv, read_csv_as};
pub use json::{read_json, read_json_as, read_jsonl};
use limits::over_limit;
pub use limits::ReadOptions;
pub use sheet::read_excel;

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

/// The bytes of a source file, refused when over [`ReadOptions::max_file_bytes`] (checked
/// before reading, and while reading in case the file grows) and, for a text source, when
/// empty (unless allowed) or holding a NUL byte. `None` for an allowed empty file.
fn read_source(
    dir: &Path,
    name: &str,
    options: &ReadOptions,
    text: bool,
) -> Result<Option<Vec<u8>>, ReadError> {
    let path = resolve_source(dir, name)?;
    let file = fs::File::open(&path).map_err(|e| ReadError::new(name, format!("cannot read: {e}")))?;
    let limit = options.max_file_bytes;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > limit {
        return Err(over_limit(
            name,
            None,
            &format!("its size ({size} bytes)"),
            limit,
            "max_file_bytes",
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::new(name, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(over_limit(name, None, "its size", limit, "max_file_bytes"));
    }
    if !text {
        return Ok(Some(bytes));
    }
    if let Some(at) = memchr_nul(&bytes) {
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        return Err(ReadError::at(
            name,
            line,
            None,
            "holds a NUL byte: not a text file (or a corrupted one)",
        ));
    }
    if strip_bom(&bytes).iter().all(u8::is_ascii_whitespace) {
        if options.allow_empty {
            return Ok(None);
        }
        return Err(ReadError::new(
            name,
            format!(
                "the file is empty; if that is expected, read it with `ctx.source(\"{name}\").allow_empty()`"
            ),
        ));
    }
    Ok(Some(bytes))
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn first_duplicate<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = BTreeSet::new();
    names.into_iter().find(|n| !seen.insert(*n))
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
}
