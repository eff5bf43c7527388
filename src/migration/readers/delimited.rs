//! CSV sources: a header row, then rows as header → value maps or typed records.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::limits::{over_limit, Budget};
use super::{first_duplicate, read_source, CsvRow, ReadError, ReadOptions};

const BOM: char = '\u{feff}';

/// Reads a CSV file with a header row (UTF-8, with or without BOM).
///
/// Duplicate header names are refused: the row map could keep only one of the values.
pub fn read_csv(dir: &Path, name: &str, options: &ReadOptions) -> Result<Vec<CsvRow>, ReadError> {
    let Some(bytes) = read_source(dir, name, options, true)? else {
        return Ok(Vec::new());
    };
    let mut reader = csv_reader(&bytes, options);
    let headers = csv_headers(&mut reader, name, options)?;
    if let Some(dup) = first_duplicate(headers.iter()) {
        return Err(ReadError::at(name, 1, None, format!("duplicate header `{dup}`")));
    }
    let mut limits = RowLimits::new(name, options, headers.len());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(name, &headers, e))?;
        let line = record.position().map(csv::Position::line);
        limits.row(&record, line)?;
        let mut row = CsvRow::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            limits.budget.charge(h.len() + v.len(), line)?;
            row.insert(h.to_owned(), v.to_owned());
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Reads a CSV file into typed rows (serde, by header name).
pub fn read_csv_as<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
    options: &ReadOptions,
) -> Result<Vec<T>, ReadError> {
    let Some(bytes) = read_source(dir, name, options, true)? else {
        return Ok(Vec::new());
    };
    let mut reader = csv_reader(&bytes, options);
    let headers = csv_headers(&mut reader, name, options)?;
    let mut limits = RowLimits::new(name, options, headers.len());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(name, &headers, e))?;
        let line = record.position().map(csv::Position::line);
        limits.row(&record, line)?;
        // What the typed row holds is not known; its fields' bytes are the estimate.
        limits.budget.charge(record.as_slice().len(), line)?;
        // The BOM-free headers are passed explicitly: the reader's own still carry it.
        rows.push(
            record
                .deserialize(Some(&headers))
                .map_err(|e| csv_error(name, &headers, e))?,
        );
    }
    Ok(rows)
}

/// The row, cell and memory limits of one CSV read, checked row by row.
struct RowLimits<'a> {
    name: &'a str,
    options: &'a ReadOptions,
    columns: u64,
    rows: u64,
    budget: Budget<'a>,
}

impl<'a> RowLimits<'a> {
    fn new(name: &'a str, options: &'a ReadOptions, columns: usize) -> Self {
        Self {
            name,
            options,
            columns: columns as u64,
            rows: 0,
            budget: Budget::new(name, options),
        }
    }

    fn row(&mut self, record: &csv::StringRecord, line: Option<u64>) -> Result<(), ReadError> {
        self.rows += 1;
        let o = self.options;
        if self.rows > o.max_rows {
            return Err(over_limit(
                self.name,
                line,
                "the number of rows",
                o.max_rows,
                "max_rows",
            ));
        }
        if self.rows.saturating_mul(self.columns) > o.max_cells {
            return Err(over_limit(
                self.name,
                line,
                "the number of cells (rows × columns)",
                o.max_cells,
                "max_cells",
            ));
        }
        if let Some(field) = record.iter().find(|f| f.len() as u64 > o.max_cell_bytes) {
            return Err(over_limit(
                self.name,
                line,
                &format!("a field's length ({} bytes)", field.len()),
                o.max_cell_bytes,
                "max_cell_bytes",
            ));
        }
        Ok(())
    }
}

fn csv_reader<'b>(bytes: &'b [u8], options: &ReadOptions) -> csv::Reader<&'b [u8]> {
    csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(true)
        .from_reader(bytes)
}

/// The header row, with a leading BOM removed from its first name.
fn csv_headers(
    reader: &mut csv::Reader<&[u8]>,
    name: &str,
    options: &ReadOptions,
) -> Result<csv::StringRecord, ReadError> {
    let headers = reader
        .headers()
        .map_err(|e| csv_error(name, &csv::StringRecord::new(), e))?;
    if headers.len() as u64 > options.max_columns {
        return Err(over_limit(
            name,
            Some(1),
            &format!("the number of columns ({})", headers.len()),
            options.max_columns,
            "max_columns",
        ));
    }
    if let Some(long) = headers.iter().find(|h| h.len() as u64 > options.max_cell_bytes) {
        return Err(over_limit(
            name,
            Some(1),
            &format!("a header's length ({} bytes)", long.len()),
            options.max_cell_bytes,
            "max_cell_bytes",
        ));
    }
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
