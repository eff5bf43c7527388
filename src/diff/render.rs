//! A diff as text for a terminal and as markdown for a pull-request comment.

use std::fmt::Write as _;

use serde_json::Value;

use super::document::{DocChange, Status};
use super::fields::Change;
use super::personal::{PersonalCounts, REDACTED};
use super::summary::{Sample, Summary};
use super::Diff;
use crate::store::privacy;

/// Longest value shown inline; longer ones end in `…` (the JSON output has them whole).
pub const VALUE_CHARS: usize = 80;
/// Documents listed in a markdown section; the rest are counted.
pub const MARKDOWN_DOCUMENTS: usize = 20;
/// Field paths listed in a markdown section, over all kinds.
pub const MARKDOWN_PATHS: usize = 40;
/// Characters of the folded documents block of a markdown section.
pub const MARKDOWN_BLOCK_CHARS: usize = 12_000;

/// A JSON value on one line, cut at `max` characters.
pub fn value_preview(value: &Value, max: usize) -> String {
    let text = value.to_string();
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn sample_text(old: Option<&Value>, new: Option<&Value>) -> String {
    match (old, new) {
        (Some(o), Some(n)) => format!(
            "{} → {}",
            value_preview(o, VALUE_CHARS),
            value_preview(n, VALUE_CHARS)
        ),
        (None, Some(n)) => format!("added {}", value_preview(n, VALUE_CHARS)),
        (Some(o), None) => format!("removed {}", value_preview(o, VALUE_CHARS)),
        (None, None) => String::new(),
    }
}

/// A field change on one line: `old → new`, `added new`, `removed old`.
pub fn change_text(change: &Change) -> String {
    match change {
        Change::Changed { old, new } => sample_text(Some(old), Some(new)),
        Change::Added { new } => sample_text(None, Some(new)),
        Change::Removed { old } => sample_text(Some(old), None),
    }
}

/// The heading line of one document's change: `M entity:person/x  version 2 (A, "fix")`.
pub fn doc_heading(change: &DocChange) -> String {
    let mut line = format!("{} ", change.status.mark());
    if let Some(from) = &change.moved_from {
        write!(line, "{from} → ").unwrap();
    }
    line.push_str(&change.id);
    if let (Some(name), Status::Created | Status::Deleted) = (&change.name, change.status) {
        write!(line, " ({name})").unwrap();
    }
    if let Some(version) = &change.version {
        write!(line, "  {version}").unwrap();
    }
    line
}

/// One document's change, a heading and a line per field (`-`/`+` with `diff_marks`).
pub fn doc_text(change: &DocChange, diff_marks: bool, out: &mut String) {
    writeln!(out, "{}", doc_heading(change)).unwrap();
    for field in &change.fields {
        let path = &field.path;
        match (&field.change, diff_marks) {
            (Change::Changed { old, new }, true) => {
                writeln!(out, "-   {path}: {}", value_preview(old, VALUE_CHARS)).unwrap();
                writeln!(out, "+   {path}: {}", value_preview(new, VALUE_CHARS)).unwrap();
            }
            (Change::Added { new }, true) => {
                writeln!(out, "+   {path}: {}", value_preview(new, VALUE_CHARS)).unwrap()
            }
            (Change::Removed { old }, true) => {
                writeln!(out, "-   {path}: {}", value_preview(old, VALUE_CHARS)).unwrap()
            }
            (change, false) => writeln!(out, "    {path}: {}", change_text(change)).unwrap(),
        }
    }
}

/// The summary for a terminal: per kind the counts and the field paths, then versions,
/// bookkeeping and other files.
pub fn summary_text(summary: &Summary, all_fields: bool) -> String {
    let mut out = String::new();
    if summary.is_empty() {
        out.push_str("No changes.\n");
        return out;
    }
    for (kind, k) in &summary.by_kind {
        writeln!(
            out,
            "{kind}: {}",
            counts(k.created, k.updated, k.moved, k.deleted)
        )
        .unwrap();
        for sample in &k.samples {
            writeln!(out, "    {sample}").unwrap();
        }
        let width = k.paths.keys().map(|p| p.chars().count()).max().unwrap_or(0);
        for (path, p) in &k.paths {
            let example = p.samples.first().map(sample_line).unwrap_or_default();
            writeln!(out, "    {path:<width$}  {:>6}  e.g. {example}", p.documents).unwrap();
        }
    }
    let v = summary.versions;
    if v.added + v.changed + v.deleted > 0 {
        writeln!(
            out,
            "versions: {} added, {} changed, {} deleted",
            v.added, v.changed, v.deleted
        )
        .unwrap();
    }
    if !summary.personal.is_empty() {
        writeln!(out, "personal data ({}, values hidden):", privacy::SOURCE_PATH).unwrap();
        for (path, c) in &summary.personal {
            writeln!(out, "    {path}: {}", personal_counts(c)).unwrap();
        }
    }
    if !summary.bookkeeping.is_empty() {
        let fields: Vec<String> = summary
            .bookkeeping
            .iter()
            .map(|(f, n)| format!("{f} on {n}"))
            .collect();
        let hint = if all_fields {
            ""
        } else {
            " (--all-fields lists them)"
        };
        writeln!(out, "bookkeeping: {}{hint}", fields.join(", ")).unwrap();
    }
    if summary.other_files > 0 {
        writeln!(
            out,
            "other files: {} (e.g. {})",
            summary.other_files,
            summary.other_samples.join(", ")
        )
        .unwrap();
    }
    writeln!(out, "{} document(s) changed", summary.documents).unwrap();
    out
}

/// `removed from 12 documents; [redacted] → null in 30 snapshots`.
fn personal_counts(c: &PersonalCounts) -> String {
    let mut parts = Vec::new();
    for (n, what) in [
        (c.written, "written in"),
        (c.changed, "changed in"),
        (c.removed, "removed from"),
    ] {
        if n > 0 {
            parts.push(format!("{what} {n} document(s)"));
        }
    }
    if c.snapshots_redacted > 0 {
        parts.push(format!(
            "{REDACTED} → null in {} snapshot(s)",
            c.snapshots_redacted
        ));
    }
    parts.join("; ")
}

/// The "Personal data" section of a preview: counts per policy path, never values.
pub fn personal_markdown(summary: &Summary) -> String {
    let mut out = String::new();
    if summary.personal.is_empty() {
        return out;
    }
    writeln!(
        out,
        "**Personal data** (paths of `{}`; values are never shown)\n\n\
         | Path | Written | Changed | Removed | Redacted in earlier versions |\n|---|---|---|---|---|",
        privacy::SOURCE_PATH
    )
    .unwrap();
    for (path, c) in &summary.personal {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            code(path),
            c.written,
            c.changed,
            c.removed,
            c.snapshots_redacted
        )
        .unwrap();
    }
    out.push('\n');
    out
}

fn sample_line(s: &Sample) -> String {
    format!("{}: {}", s.id, sample_text(s.old.as_ref(), s.new.as_ref()))
}

fn counts(created: usize, updated: usize, moved: usize, deleted: usize) -> String {
    let parts: Vec<String> = [
        (created, "created"),
        (updated, "updated"),
        (moved, "moved"),
        (deleted, "deleted"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, w)| format!("{n} {w}"))
    .collect();
    parts.join(", ")
}

/// Text for a markdown table cell: pipes escaped, newlines flattened.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Inline code that survives any content (backticks inside become a longer fence).
fn code(text: &str) -> String {
    let fence = if text.contains('`') { "`` " } else { "`" };
    let close = if text.contains('`') { " ``" } else { "`" };
    format!("{fence}{}{close}", cell(text))
}

/// A diff as markdown: kinds, field paths with examples, and the first documents in a
/// folded `diff` block. Its size is bounded by the caps above, not by the change.
pub fn markdown(diff: &Diff, full_report: &str) -> String {
    let mut out = kinds_markdown(diff);
    let s = &diff.summary;
    if s.is_empty() {
        return out;
    }
    out.push_str(&personal_markdown(s));
    let mut rows: Vec<_> = s
        .by_kind
        .iter()
        .flat_map(|(kind, k)| k.paths.iter().map(move |(path, p)| (kind, path, p)))
        .collect();
    if !rows.is_empty() {
        out.push_str("**Fields changed**\n\n| Kind | Field | Documents | Example |\n|---|---|---|---|\n");
        rows.sort_by(|a, b| {
            b.2.documents
                .cmp(&a.2.documents)
                .then((a.0, a.1).cmp(&(b.0, b.1)))
        });
        for (kind, path, p) in rows.iter().take(MARKDOWN_PATHS) {
            let example = p
                .samples
                .first()
                .map(|x| {
                    format!(
                        "{}: {}",
                        code(&x.id),
                        code(&sample_text(x.old.as_ref(), x.new.as_ref()))
                    )
                })
                .unwrap_or_default();
            writeln!(out, "| `{kind}` | {} | {} | {example} |", code(path), p.documents).unwrap();
        }
        if rows.len() > MARKDOWN_PATHS {
            let more = rows.len() - MARKDOWN_PATHS;
            writeln!(out, "\n… and {more} more field paths: see {full_report}.").unwrap();
        }
        out.push('\n');
    }
    let v = s.versions;
    let mut notes = Vec::new();
    if v.added + v.changed + v.deleted > 0 {
        notes.push(format!("{} version file(s) added", v.added));
    }
    if v.changed > 0 {
        notes.push(format!("{} earlier version file(s) rewritten", v.changed));
    }
    for (field, n) in &s.bookkeeping {
        notes.push(format!("`{field}` updated on {n} document(s)"));
    }
    if s.other_files > 0 {
        notes.push(format!("{} other file(s)", s.other_files));
    }
    if !notes.is_empty() {
        writeln!(out, "Also: {}.\n", notes.join("; ")).unwrap();
    }
    let mut block = String::new();
    let mut shown = 0;
    for change in diff.documents.iter().take(MARKDOWN_DOCUMENTS) {
        let mut text = String::new();
        doc_text(change, true, &mut text);
        if shown > 0 && block.chars().count() + text.chars().count() > MARKDOWN_BLOCK_CHARS {
            break;
        }
        block.push_str(&text);
        shown += 1;
    }
    let total = diff.documents.len();
    writeln!(
        out,
        "<details><summary>Documents ({shown} of {total})</summary>\n\n```diff"
    )
    .unwrap();
    // One huge document is cut too; a fence inside a value must not close the block.
    let block: String = block.chars().take(MARKDOWN_BLOCK_CHARS).collect();
    out.push_str(&block.replace("```", "'''"));
    if !block.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("```\n\n");
    if total > shown {
        writeln!(
            out,
            "… and {} more documents: see {full_report}.\n",
            total - shown
        )
        .unwrap();
    }
    out.push_str("</details>\n");
    out
}

/// The per-kind counts alone: what a section shrinks to when the comment is full.
pub fn kinds_markdown(diff: &Diff) -> String {
    let mut out = String::new();
    if diff.summary.is_empty() {
        out.push_str("No changes to the data.\n");
        return out;
    }
    out.push_str("| Kind | Created | Updated | Moved | Deleted |\n|---|---|---|---|---|\n");
    for (kind, k) in &diff.summary.by_kind {
        let (c, u, m, d) = (k.created, k.updated, k.moved, k.deleted);
        writeln!(out, "| `{kind}` | {c} | {u} | {m} | {d} |").unwrap();
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_values_are_cut() {
        let v = json!("x".repeat(200));
        let p = value_preview(&v, 20);
        assert_eq!(p.chars().count(), 20);
        assert!(p.ends_with('…'));
        assert_eq!(value_preview(&json!(1), 20), "1");
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
