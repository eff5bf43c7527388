//! Spreadsheet sources (xlsx, xlsm, xlsb, xls, ods) through calamine, made safe for
//! hostile files: a zip-based workbook's parts are measured decompressed and its declared
//! shared-string count checked before calamine sees them, and an xlsx sheet is streamed
//! cell by cell so that no table is allocated before its size has passed the limits.

use std::io::{Cursor, Read as _};
use std::path::Path;

use calamine::{Cell, Data, DataRef, ExcelDateTime, Range, Reader, Xlsx};
use serde_json::Value;

use super::limits::{over_limit, Budget};
use super::{first_duplicate, read_source, resolve_source, ReadError, ReadOptions, SheetRow};

/// Reads a sheet (the first when `sheet` is `None`) of an xlsx/xls/ods file; the first row
/// is the header.
///
/// See the module documentation of [`super`] for how headers and cells are typed.
pub fn read_excel(
    dir: &Path,
    name: &str,
    sheet: Option<&str>,
    options: &ReadOptions,
) -> Result<Vec<SheetRow>, ReadError> {
    let path = resolve_source(dir, name)?;
    let Some(bytes) = read_source(dir, name, options, false)? else {
        return Ok(Vec::new());
    };
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if bytes.starts_with(b"PK\x03\x04") {
        check_zip_parts(name, &bytes, options)?;
    }
    // A malformed workbook must be an error for the migration, not a crash of the whole
    // run: calamine has panicked on hostile files before, so a panic is caught here.
    let range = std::panic::catch_unwind(|| load_range(name, &extension, bytes, sheet, options))
        .map_err(|_| ReadError::new(name, "cannot read the workbook: the file is malformed"))??;
    sheet_rows(name, &range, options)
}

/// Measures every part of a zip-based workbook decompressed (its declared size may lie) and
/// checks the shared-string count an xlsx declares, which calamine reserves room for.
fn check_zip_parts(name: &str, bytes: &[u8], options: &ReadOptions) -> Result<(), ReadError> {
    let mut zip = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(zip) => zip,
        // Not a readable zip: calamine's own error says more.
        Err(_) => return Ok(()),
    };
    let limit = options.max_part_bytes;
    for i in 0..zip.len() {
        let Ok(mut part) = zip.by_index(i) else {
            continue;
        };
        let part_name = part.name().map(|n| n.into_owned()).unwrap_or_default();
        let shared_strings = part_name.ends_with("sharedStrings.xml");
        let mut head = Vec::new();
        if shared_strings {
            let _ = (&mut part).take(4096).read_to_end(&mut head);
        }
        let mut sink = std::io::sink();
        let rest = std::io::copy(&mut (&mut part).take(limit + 1), &mut sink).unwrap_or(0);
        let size = head.len() as u64 + rest;
        if size > limit {
            let what = format!("the decompressed size of its part `{part_name}`");
            return Err(over_limit(name, None, &what, limit, "max_part_bytes"));
        }
        if shared_strings {
            for attribute in ["uniqueCount", "count"] {
                if let Some(n) = declared_count(&head, attribute) {
                    if n > options.max_shared_strings {
                        let what = format!("the count of shared strings it declares ({attribute}=\"{n}\")");
                        return Err(over_limit(
                            name,
                            None,
                            &what,
                            options.max_shared_strings,
                            "max_shared_strings",
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The number in ` attribute="N"` of the `<sst` element at the start of `xml`.
fn declared_count(xml: &[u8], attribute: &str) -> Option<u64> {
    let text = String::from_utf8_lossy(xml);
    let sst = &text[text.find("<sst")?..];
    let sst = &sst[..sst.find('>').unwrap_or(sst.len())];
    let key = format!(" {attribute}=\"");
    let start = sst.find(&key)? + key.len();
    let digits: String = sst[start..].chars().take_while(char::is_ascii_digit).collect();
    // More digits than fit are more strings than any limit.
    Some(digits.parse().unwrap_or(u64::MAX))
}

fn load_range(
    name: &str,
    extension: &str,
    bytes: Vec<u8>,
    sheet: Option<&str>,
    options: &ReadOptions,
) -> Result<Range<Data>, ReadError> {
    let data = Cursor::new(bytes);
    match extension {
        "xlsx" | "xlsm" | "xlam" => {
            let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(data)
                .map_err(|e| ReadError::new(name, format!("cannot open the workbook: {e}")))?;
            let sheet_name = pick_sheet(name, &workbook.sheet_names(), sheet)?;
            stream_xlsx_sheet(name, &mut workbook, &sheet_name, options)
        }
        _ => {
            let mut workbook = open_other(name, extension, data)?;
            let sheet_name = pick_sheet(name, &workbook.sheet_names(), sheet)?;
            workbook
                .worksheet_range(&sheet_name)
                .map_err(|e| ReadError::new(name, format!("cannot read sheet `{sheet_name}`: {e}")))
        }
    }
}

/// Workbooks other than xlsx, by extension as `calamine::open_workbook_auto` chooses.
fn open_other(
    name: &str,
    extension: &str,
    data: Cursor<Vec<u8>>,
) -> Result<calamine::Sheets<Cursor<Vec<u8>>>, ReadError> {
    use calamine::{open_workbook_from_rs, Ods, Sheets, Xls, Xlsb};
    let opened = match extension {
        "xls" | "xla" => open_workbook_from_rs::<Xls<_>, _>(data)
            .map(Sheets::Xls)
            .map_err(calamine::Error::from),
        "xlsb" => open_workbook_from_rs::<Xlsb<_>, _>(data)
            .map(Sheets::Xlsb)
            .map_err(calamine::Error::from),
        "ods" => open_workbook_from_rs::<Ods<_>, _>(data)
            .map(Sheets::Ods)
            .map_err(calamine::Error::from),
        _ => calamine::open_workbook_auto_from_rs(data),
    };
    opened.map_err(|e| ReadError::new(name, format!("cannot open the workbook: {e}")))
}

fn pick_sheet(name: &str, sheets: &[String], wanted: Option<&str>) -> Result<String, ReadError> {
    match wanted {
        Some(wanted) if sheets.iter().any(|s| s == wanted) => Ok(wanted.to_owned()),
        Some(wanted) => Err(ReadError::new(
            name,
            format!(
                "no sheet named `{wanted}`; the sheets are: {}",
                quoted_list(sheets)
            ),
        )),
        None => sheets
            .first()
            .cloned()
            .ok_or_else(|| ReadError::new(name, "the workbook has no sheet")),
    }
}

/// The used cells of an xlsx sheet, one at a time, counted and measured; the dense table
/// is built only once its rows × columns have passed [`ReadOptions::max_cells`].
fn stream_xlsx_sheet(
    name: &str,
    workbook: &mut Xlsx<Cursor<Vec<u8>>>,
    sheet: &str,
    options: &ReadOptions,
) -> Result<Range<Data>, ReadError> {
    let read_error =
        |e: calamine::XlsxError| ReadError::new(name, format!("cannot read sheet `{sheet}`: {e}"));
    let mut reader = workbook.worksheet_cells_reader(sheet).map_err(read_error)?;
    let mut cells = Vec::new();
    let (mut top, mut left, mut bottom, mut right) = (u32::MAX, u32::MAX, 0, 0);
    let mut budget = Budget::new(name, options);
    while let Some(cell) = reader.next_cell().map_err(read_error)? {
        let (row, column) = cell.get_position();
        let text = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.len(),
            DataRef::SharedString(s) => s.len(),
            _ => 0,
        };
        if text as u64 > options.max_cell_bytes {
            let what = format!("a cell's length ({text} bytes)");
            return Err(over_limit(
                name,
                Some(u64::from(row) + 1),
                &what,
                options.max_cell_bytes,
                "max_cell_bytes",
            ));
        }
        if cells.len() as u64 >= options.max_cells {
            let what = "the number of cells it holds";
            return Err(over_limit(
                name,
                Some(u64::from(row) + 1),
                what,
                options.max_cells,
                "max_cells",
            ));
        }
        budget.charge(text, Some(u64::from(row) + 1))?;
        (top, left) = (top.min(row), left.min(column));
        (bottom, right) = (bottom.max(row), right.max(column));
        cells.push(Cell::new((row, column), Data::from(cell.get_value().clone())));
    }
    if cells.is_empty() {
        return Ok(Range::default());
    }
    // The header row is one of the rows.
    let rows = u64::from(bottom - top);
    check_shape(name, rows, u64::from(right - left) + 1, options)?;
    Ok(Range::from_sparse(cells))
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

fn sheet_rows(name: &str, range: &Range<Data>, options: &ReadOptions) -> Result<Vec<SheetRow>, ReadError> {
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
    check_shape(name, used as u64, headers.len() as u64, options)?;
    let mut budget = Budget::new(name, options);
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
                    let text = if let Value::String(s) = &value { s.len() } else { 0 };
                    budget.charge(header.len() + text, Some(line))?;
                    Ok((header.clone(), value))
                })
                .collect()
        })
        .collect()
}

/// Rows, columns and cells of the table a sheet gives, against their limits.
fn check_shape(name: &str, rows: u64, columns: u64, options: &ReadOptions) -> Result<(), ReadError> {
    if rows > options.max_rows {
        return Err(over_limit(
            name,
            None,
            &format!("the number of rows ({rows})"),
            options.max_rows,
            "max_rows",
        ));
    }
    if columns > options.max_columns {
        let what = format!("the number of columns ({columns})");
        return Err(over_limit(name, None, &what, options.max_columns, "max_columns"));
    }
    let cells = rows.saturating_mul(columns);
    if cells > options.max_cells {
        let what = format!("the number of cells ({rows} rows × {columns} columns)");
        return Err(over_limit(name, None, &what, options.max_cells, "max_cells"));
    }
    Ok(())
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
        let rows = sheet_rows("b.xlsx", &range, &ReadOptions::default()).unwrap();
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
        let err = sheet_rows("b.xlsx", &range, &ReadOptions::default()).unwrap_err();
        assert_eq!((err.line, err.column), (Some(3), Some(3)));
        assert!(err.message.contains("#DIV/0!"), "{err}");
    }

    #[test]
    fn duplicate_sheet_headers_are_refused() {
        let range = range_at_b2(&[&[Data::String("a".into()), Data::String("a".into())]]);
        assert!(sheet_rows("b.xlsx", &range, &ReadOptions::default())
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
