//! Canonical JSON: byte-identical to Python's
//! `json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False)` (FORMAT.md §2).

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};
use serde_json::Value;

/// Serialises `value` in the canonical form: sorted keys, 2-space indent, raw UTF-8,
/// Python float `repr`, no trailing newline.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter::new());
    // A `Value` has string keys and finite numbers only, and the writer is a Vec.
    value
        .serialize(&mut ser)
        .expect("serialising a Value into memory cannot fail");
    out
}

/// [`to_vec`] as a `String`.
pub fn to_string(value: &Value) -> String {
    String::from_utf8(to_vec(value)).expect("canonical JSON is UTF-8")
}

/// Parses a document, keeping integers and floats apart so they round-trip.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// Formats a float exactly as Python's `repr(float)` does: shortest round-trip digits,
/// fixed notation for decimal exponents in `[-4, 16)`, else `1e+16` / `1.5e-05` style.
///
/// Non-finite values cannot occur in a `Value`; they render as Python's `json` would.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-trip digits, like Python's `repr`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let body = if (-4..16).contains(&exp) {
        fixed_notation(&digits, exp)
    } else {
        sci_notation(&digits, exp)
    };
    format!("{sign}{body}")
}

/// `digits` × 10^(exp − len + 1) in plain decimals, always with a fractional part.
fn fixed_notation(digits: &str, exp: i32) -> String {
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        let zeros = "0".repeat(point.unsigned_abs() as usize);
        format!("0.{zeros}{digits}")
    } else {
        let point = point as usize;
        if point >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    }
}

/// `d[.ddd]e±XX`, the exponent with at least two digits.
fn sci_notation(digits: &str, exp: i32) -> String {
    let (first, rest) = digits.split_at(1);
    let exp_sign = if exp < 0 { '-' } else { '+' };
    let mantissa = if rest.is_empty() {
        first.to_string()
    } else {
        format!("{first}.{rest}")
    };
    format!("{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
}

/// serde_json's pretty printer with a 2-space indent and Python's float rendering.
///
/// String escaping needs no override: serde_json escapes exactly `"`, `\` and
/// U+0000–U+001F (short forms where they exist, else lowercase `\u00xx`), like Python.
struct PythonFormatter {
    inner: PrettyFormatter<'static>,
}

impl PythonFormatter {
    fn new() -> Self {
        Self {
            inner: PrettyFormatter::with_indent(b"  "),
        }
    }
}

impl Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_reprs() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (20300.0, "20300.0"),
            (241.15, "241.15"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.5e20, "1.5e+20"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (-2.5e-300, "-2.5e-300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.3, "0.3"),
            (1.0 / 3.0, "0.3333333333333333"),
            (100.0, "100.0"),
            (-1.25, "-1.25"),
            (0.00012345, "0.00012345"),
        ];
        for (x, want) in cases {
            assert_eq!(python_float_repr(*x), *want, "repr of {x:?}");
        }
    }

    #[test]
    fn layout_matches_python() {
        let v = json!({"b": [1, 2.0, {}], "a": {"z": [], "y": null, "x": true}, "é": "a/b\u{2028}\"\\\n\u{1}\u{7f}"});
        let want = "{\n  \"a\": {\n    \"x\": true,\n    \"y\": null,\n    \"z\": []\n  },\n  \"b\": [\n    1,\n    2.0,\n    {}\n  ],\n  \"é\": \"a/b\u{2028}\\\"\\\\\\n\\u0001\u{7f}\"\n}";
        assert_eq!(to_string(&v), want);
    }

    #[test]
    fn scalars_and_empties() {
        assert_eq!(to_string(&json!([])), "[]");
        assert_eq!(to_string(&json!({})), "{}");
        assert_eq!(to_string(&json!(-7)), "-7");
        assert_eq!(to_string(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(
            to_string(&json!("\u{8}\u{c}\t\r\u{1f}")),
            "\"\\b\\f\\t\\r\\u001f\""
        );
    }
}
