//! `v2/migration-logs/NNN-name/metadata.json`, as the original Python tool writes it
//! (FORMAT.md §7), for data repositories that tool still reads (`run --write-migration-logs`).
//!
//! The bytes follow Python's `json.dump(obj, f, indent=2)`: keys in insertion order,
//! `ensure_ascii` (anything outside printable ASCII as `\uXXXX`), `", "`/`": "` separators
//! with two-space indentation, floats as Python's `repr`, and no trailing newline.

use anyhow::{Context as _, Result};

use crate::git::ledger::PYTHON_LOGS_DIR;
use crate::stats::Stats;

/// What one completed run logs.
#[derive(Debug, Clone)]
pub struct PythonLog<'a> {
    pub migration: &'a str,
    pub author: &'a str,
    /// The migration's DATE, `YYYY-MM-DD`.
    pub date: &'a str,
    pub description: &'a str,
    /// Naive local time, as Python's `datetime.now().isoformat()`.
    pub executed_at: chrono::NaiveDateTime,
    /// Wall-clock seconds, written with Python's float `repr`.
    pub duration_seconds: f64,
    pub stats: Stats,
    /// Whether a `changes.diff` sits beside it; nes writes none, so its runs say `false`.
    pub has_diff: bool,
}

/// Repository-relative path of the log of `migration`.
pub fn metadata_path(migration: &str) -> String {
    format!("{PYTHON_LOGS_DIR}/{migration}/metadata.json")
}

/// A rendered JSON value, kept as text so the layout is exactly Python's.
enum Json {
    Raw(String),
    Object(Vec<(&'static str, Json)>),
}

/// The bytes of `metadata.json`.
pub fn metadata_json(log: &PythonLog<'_>) -> Result<String> {
    let date = chrono::NaiveDate::parse_from_str(log.date, "%Y-%m-%d")
        .with_context(|| format!("DATE `{}` of {} is not YYYY-MM-DD", log.date, log.migration))?;
    let s = &log.stats;
    let summary = format!(
        "Created {} entities, {} relationships, and {} versions",
        s.entities_created, s.relationships_created, s.versions_created
    );
    let doc = Json::Object(vec![
        ("migration_name", string(log.migration)),
        ("author", string(log.author)),
        ("date", string(&format!("{}T00:00:00", date.format("%Y-%m-%d")))),
        ("description", string(log.description)),
        ("executed_at", string(&python_isoformat(log.executed_at))),
        ("duration_seconds", Json::Raw(python_float(log.duration_seconds))),
        ("status", string("completed")),
        (
            "changes",
            Json::Object(vec![
                ("entities_created", Json::Raw(s.entities_created.to_string())),
                (
                    "relationships_created",
                    Json::Raw(s.relationships_created.to_string()),
                ),
                ("versions_created", Json::Raw(s.versions_created.to_string())),
                ("summary", string(&summary)),
                ("has_diff", Json::Raw(log.has_diff.to_string())),
            ]),
        ),
    ]);
    let mut out = String::new();
    render(&doc, 0, &mut out);
    Ok(out)
}

fn render(value: &Json, depth: usize, out: &mut String) {
    match value {
        Json::Raw(text) => out.push_str(text),
        Json::Object(fields) => {
            out.push('{');
            for (i, (key, field)) in fields.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&"  ".repeat(depth + 1));
                out.push_str(&ascii_json_string(key));
                out.push_str(": ");
                render(field, depth + 1, out);
            }
            if !fields.is_empty() {
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
            }
            out.push('}');
        }
    }
}

fn string(s: &str) -> Json {
    Json::Raw(ascii_json_string(s))
}

/// A JSON string literal with Python's `ensure_ascii`: everything outside `' '..='~'` that
/// has no short escape becomes `\uXXXX` (UTF-16 code units, lowercase hex).
pub fn ascii_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Python's `repr(float)`: shortest round-trip digits, always with a `.0` or an exponent,
/// exponent notation below 1e-4 and from 1e16 (two-digit, signed exponent).
pub fn python_float(x: f64) -> String {
    let abs = x.abs();
    if x != 0.0 && x.is_finite() && !(1e-4..1e16).contains(&abs) {
        let text = format!("{x:e}");
        let (mantissa, exponent) = text.split_once('e').expect("{:e} has an exponent");
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    format!("{x:?}")
}

/// `datetime.isoformat()` of a naive time: microseconds only when non-zero.
pub fn python_isoformat(t: chrono::NaiveDateTime) -> String {
    use chrono::Timelike as _;
    if t.nanosecond() / 1000 == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_match_python_repr() {
        assert_eq!(python_float(0.001981019973754883), "0.001981019973754883");
        assert_eq!(python_float(11.499788999557495), "11.499788999557495");
        assert_eq!(python_float(2.0), "2.0");
        assert_eq!(python_float(0.0), "0.0");
        assert_eq!(python_float(1.5e-5), "1.5e-05");
        assert_eq!(python_float(0.0001), "0.0001");
    }

    #[test]
    fn strings_are_ascii_escaped() {
        assert_eq!(
            ascii_json_string("नेपाल"),
            "\"\\u0928\\u0947\\u092a\\u093e\\u0932\""
        );
        assert_eq!(
            ascii_json_string("a\"b\\\u{1}\u{7f}😀"),
            "\"a\\\"b\\\\\\u0001\\u007f\\ud83d\\ude00\""
        );
    }

    #[test]
    fn isoformat_omits_zero_microseconds() {
        let t = chrono::NaiveDate::from_ymd_opt(2025, 11, 9)
            .unwrap()
            .and_hms_micro_opt(6, 1, 2, 502_539)
            .unwrap();
        assert_eq!(python_isoformat(t), "2025-11-09T06:01:02.502539");
        let whole = chrono::NaiveDate::from_ymd_opt(2025, 11, 9)
            .unwrap()
            .and_hms_opt(6, 1, 2)
            .unwrap();
        assert_eq!(python_isoformat(whole), "2025-11-09T06:01:02");
    }
}
