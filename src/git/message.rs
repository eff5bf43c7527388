//! Batch commit messages and their machine-readable trailers.

use std::fmt::Write as _;
use std::time::Duration;

use crate::stats::Stats;

/// Trailer keys, shared by the writer and the parser.
pub const TRAILER_MIGRATION: &str = "Nes-Migration";
/// See [`TRAILER_MIGRATION`].
pub const TRAILER_BATCH: &str = "Nes-Batch";
/// See [`TRAILER_MIGRATION`].
pub const TRAILER_RUN: &str = "Nes-Run";
/// See [`TRAILER_MIGRATION`].
pub const TRAILER_CHECKSUM: &str = "Nes-Checksum";
/// See [`TRAILER_MIGRATION`].
pub const TRAILER_BASELINE: &str = "Nes-Baseline";
/// See [`TRAILER_MIGRATION`].
pub const TRAILER_REVERT: &str = "Nes-Revert";

/// What every batch commit of one run says about it.
#[derive(Debug, Clone)]
pub struct CommitMeta {
    /// `004-source-election-constituencies`.
    pub migration: String,
    pub description: String,
    pub author: String,
    pub date: String,
    pub stats: Stats,
    pub duration: Duration,
    pub run_id: String,
    /// `v2:sha256:<hex>` (older commits: `v1:…`), see `migration::checksum`.
    pub checksum: String,
}

/// The message of batch `batch` (1-based) of `total`; a single batch has no "(Batch 1/1)".
pub fn batch_message(meta: &CommitMeta, batch: usize, total: usize) -> String {
    let mut msg = format!("Migration: {}", meta.migration);
    if total > 1 {
        let _ = write!(msg, " (Batch {batch}/{total})");
    }
    msg.push_str("\n\n");
    let description = meta.description.trim();
    if !description.is_empty() {
        msg.push_str(description);
        msg.push_str("\n\n");
    }
    let _ = writeln!(msg, "Author: {}", one_line(&meta.author));
    let _ = writeln!(msg, "Date: {}", one_line(&meta.date));
    for (label, count) in meta.stats.labelled() {
        let _ = writeln!(msg, "{label}: {count}");
    }
    // Only redactions rewrite earlier versions; other runs' messages keep their lines.
    if meta.stats.snapshots_redacted > 0 {
        let _ = writeln!(msg, "Snapshots redacted: {}", meta.stats.snapshots_redacted);
    }
    let _ = writeln!(msg, "Duration: {:.1}s", meta.duration.as_secs_f64());
    msg.push('\n');
    let _ = writeln!(msg, "{TRAILER_MIGRATION}: {}", meta.migration);
    let _ = writeln!(msg, "{TRAILER_BATCH}: {batch}/{total}");
    let _ = writeln!(msg, "{TRAILER_RUN}: {}", one_line(&meta.run_id));
    let _ = writeln!(msg, "{TRAILER_CHECKSUM}: {}", one_line(&meta.checksum));
    msg
}

/// The message of the empty commit `mark-applied` makes: the migration counts as applied
/// (a baseline) without having run here.
pub fn baseline_message(migration: &str, run_id: &str, checksum: Option<&str>, reason: &str) -> String {
    let mut msg = format!("Migration: {migration} (marked applied)\n\n");
    let reason = reason.trim();
    if !reason.is_empty() {
        msg.push_str(reason);
        msg.push_str("\n\n");
    }
    let _ = writeln!(msg, "{TRAILER_MIGRATION}: {migration}");
    let _ = writeln!(msg, "{TRAILER_BATCH}: 1/1");
    let _ = writeln!(msg, "{TRAILER_RUN}: {}", one_line(run_id));
    if let Some(checksum) = checksum {
        let _ = writeln!(msg, "{TRAILER_CHECKSUM}: {}", one_line(checksum));
    }
    let _ = writeln!(msg, "{TRAILER_BASELINE}: true");
    msg
}

/// The `Nes-Revert: NAME` trailer line (with its newline), for a commit that undoes `migration`.
pub fn revert_trailer(migration: &str) -> String {
    format!("{TRAILER_REVERT}: {migration}\n")
}

/// Keeps a value on its trailer's line: a newline would end the trailer early.
fn one_line(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `Nes-*` trailers of a commit message.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Trailers {
    pub migration: Option<String>,
    /// `(n, total)` from `Nes-Batch: n/total`.
    pub batch: Option<(u32, u32)>,
    pub run: Option<String>,
    pub checksum: Option<String>,
    /// `Nes-Baseline: true` (recorded by `mark-applied`).
    pub baseline: bool,
    /// `Nes-Revert: NAME`.
    pub revert: Option<String>,
}

impl Trailers {
    /// Whether the message carries any `Nes-*` trailer.
    pub fn is_empty(&self) -> bool {
        *self == Trailers::default()
    }
}

/// Reads the trailers of the last paragraph of `message`.
pub fn parse_trailers(message: &str) -> Trailers {
    let mut trailers = Trailers::default();
    // Cheap exit for the free-form commits that make up most of a foreign history.
    if !message.contains("Nes-") {
        return trailers;
    }
    for line in last_paragraph(message).lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if value.is_empty() {
            continue;
        }
        if key.eq_ignore_ascii_case(TRAILER_MIGRATION) {
            trailers.migration = Some(value.to_string());
        } else if key.eq_ignore_ascii_case(TRAILER_BATCH) {
            trailers.batch = parse_batch(value);
        } else if key.eq_ignore_ascii_case(TRAILER_RUN) {
            trailers.run = Some(value.to_string());
        } else if key.eq_ignore_ascii_case(TRAILER_CHECKSUM) {
            trailers.checksum = Some(value.to_string());
        } else if key.eq_ignore_ascii_case(TRAILER_BASELINE) {
            trailers.baseline = value.eq_ignore_ascii_case("true");
        } else if key.eq_ignore_ascii_case(TRAILER_REVERT) {
            trailers.revert = Some(value.to_string());
        }
    }
    trailers
}

/// The text after the last blank line, ignoring trailing blank lines.
fn last_paragraph(message: &str) -> &str {
    let trimmed = message.trim_end();
    let mut start = 0;
    let mut offset = 0;
    for line in trimmed.split_inclusive('\n') {
        if line.trim().is_empty() {
            start = offset + line.len();
        }
        offset += line.len();
    }
    &trimmed[start..]
}

/// `"2/3"` → `(2, 3)`, requiring 1 ≤ n ≤ total.
fn parse_batch(value: &str) -> Option<(u32, u32)> {
    let (n, total) = value.split_once('/')?;
    let (n, total) = (n.trim().parse().ok()?, total.trim().parse().ok()?);
    (1..=total).contains(&n).then_some((n, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> CommitMeta {
        CommitMeta {
            migration: "004-source-election-constituencies".into(),
            description: "Source the 165 election constituencies.".into(),
            author: "Damodar Dahal".into(),
            date: "2025-11-12".into(),
            stats: Stats {
                entities_created: 165,
                versions_created: 165,
                ..Stats::default()
            },
            duration: Duration::from_millis(420),
            run_id: "r-1".into(),
            checksum: "v1:sha256:abcd".into(),
        }
    }

    #[test]
    fn multi_batch_message_has_exact_layout() {
        let expected = "Migration: 004-source-election-constituencies (Batch 2/3)\n\n\
Source the 165 election constituencies.\n\n\
Author: Damodar Dahal\nDate: 2025-11-12\nEntities created: 165\nEntities updated: 0\n\
Entities deleted: 0\nRelationships created: 0\nRelationships updated: 0\nRelationships deleted: 0\n\
Versions created: 165\nDuration: 0.4s\n\n\
Nes-Migration: 004-source-election-constituencies\nNes-Batch: 2/3\nNes-Run: r-1\n\
Nes-Checksum: v1:sha256:abcd\n";
        assert_eq!(batch_message(&meta(), 2, 3), expected);
    }

    #[test]
    fn single_batch_subject_has_no_batch_suffix() {
        let msg = batch_message(&meta(), 1, 1);
        assert!(msg.starts_with("Migration: 004-source-election-constituencies\n\n"));
        assert!(msg.contains("\nNes-Batch: 1/1\n"));
    }

    #[test]
    fn parses_own_trailers() {
        let t = parse_trailers(&batch_message(&meta(), 2, 3));
        assert_eq!(t.migration.as_deref(), Some("004-source-election-constituencies"));
        assert_eq!(t.batch, Some((2, 3)));
        assert_eq!(t.run.as_deref(), Some("r-1"));
        assert_eq!(t.checksum.as_deref(), Some("v1:sha256:abcd"));
        assert!(!t.baseline);
    }

    #[test]
    fn body_lines_are_not_trailers() {
        let t = parse_trailers("Subject\n\nNes-Migration: x\n\nSigned-off-by: a <a@b>\n");
        assert!(t.is_empty());
    }

    #[test]
    fn parses_baseline_and_revert() {
        let t = parse_trailers(&baseline_message("001-x", "r", None, "already in the data"));
        assert!(t.baseline);
        assert_eq!(t.batch, Some((1, 1)));
        let t = parse_trailers(&format!("Revert 001-x\n\n{}", revert_trailer("001-x")));
        assert_eq!(t.revert.as_deref(), Some("001-x"));
    }

    #[test]
    fn rejects_bad_batch() {
        assert_eq!(parse_batch("0/3"), None);
        assert_eq!(parse_batch("4/3"), None);
        assert_eq!(parse_batch("x"), None);
    }
}
