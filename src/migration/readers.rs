//! Source readers for migration code: CSV, JSON, JSON Lines and spreadsheets, always
//! relative to the migration's folder and never outside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// Resolves `name` inside `dir`, refusing absolute paths, `..` and symlinks that escape.
pub fn resolve_source(dir: &Path, name: &str) -> Result<PathBuf, ReadError> {
    todo!("{dir:?}{name}")
}

/// Reads a CSV file with a header row (UTF-8, with or without BOM).
pub fn read_csv(dir: &Path, name: &str, options: CsvOptions) -> Result<Vec<CsvRow>, ReadError> {
    todo!("{dir:?}{name}{options:?}")
}

/// Reads a CSV file into typed rows (serde, by header name).
pub fn read_csv_as<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
    options: CsvOptions,
) -> Result<Vec<T>, ReadError> {
    todo!("{dir:?}{name}{options:?}")
}

/// Reads a JSON document.
pub fn read_json(dir: &Path, name: &str) -> Result<Value, ReadError> {
    todo!("{dir:?}{name}")
}

/// Reads a JSON document into a typed value.
pub fn read_json_as<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<T, ReadError> {
    todo!("{dir:?}{name}")
}

/// Reads JSON Lines: one document per non-empty line.
pub fn read_jsonl(dir: &Path, name: &str) -> Result<Vec<Value>, ReadError> {
    todo!("{dir:?}{name}")
}

/// Reads a sheet (the first when `sheet` is `None`) of an xlsx/xls/ods file; the first row
/// is the header.
pub fn read_excel(dir: &Path, name: &str, sheet: Option<&str>) -> Result<Vec<SheetRow>, ReadError> {
    todo!("{dir:?}{name}{sheet:?}")
}
