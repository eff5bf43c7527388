//! Printing: errors like cargo's, warnings, tables and JSON documents.

use serde::Serialize;

use crate::error;
use crate::git::push::PushOutcome;
use crate::migration::runner::{MigrationReport, Outcome, RunReport};
use crate::migration::status::MigrationStatus;

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// `error: <message>`, its causes, and `help: <next step>` on stderr.
pub fn print_error(err: &anyhow::Error, color: bool) {
    eprintln!("{} {err}", paint("error:", "1;31", color));
    for cause in err.chain().skip(1) {
        eprintln!("  {} {cause}", paint("caused by:", "1", color));
    }
    if let Some(hint) = error::hint(err) {
        eprintln!("{} {hint}", paint("help:", "1;36", color));
    }
}

/// `warning: <message>` on stderr.
pub fn warn(message: &str, color: bool) {
    eprintln!("{} {message}", paint("warning:", "1;33", color));
}

/// `note: <message>` on stderr: something the user should know that is not a problem.
pub fn note(message: &str, color: bool) {
    eprintln!("{} {message}", paint("note:", "1;36", color));
}

/// One JSON document on stdout.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `{"schema_version": 1, "migrations": [...]}`.
#[derive(Serialize)]
pub struct MigrationList<'a> {
    pub schema_version: u32,
    pub migrations: &'a [MigrationStatus],
}

/// Migrations as `{"schema_version": 1, "migrations": [...]}`, or as a table.
pub fn migrations(rows: &[MigrationStatus], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        json(&MigrationList {
            schema_version: crate::migration::runner::SCHEMA_VERSION,
            migrations: rows,
        })
    } else {
        migration_table(rows);
        Ok(())
    }
}

/// A plain table of migrations: prefix, name, status, date, author, description.
pub fn migration_table(rows: &[MigrationStatus]) {
    if rows.is_empty() {
        println!("no migrations");
        return;
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:<12}  {:<10}  {:<20}  DESCRIPTION",
        "NAME", "STATUS", "DATE", "AUTHOR"
    );
    for r in rows {
        println!(
            "{:<width$}  {:<12}  {:<10}  {:<20}  {}",
            r.name,
            r.status.as_str(),
            r.date.as_deref().unwrap_or("-"),
            truncate(r.author.as_deref().unwrap_or("-"), 20),
            r.description.as_deref().unwrap_or("-"),
        );
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

/// The human summary of a run.
/// With `verbose`, the time of each phase and every added, changed and deleted file are
/// listed too.
pub fn run_summary(report: &RunReport, color: bool, verbose: bool) {
    for w in &report.warnings {
        warn(w, color);
    }
    if let Some(l) = report
        .landing
        .as_ref()
        .filter(|l| l.start == "fast-forward" || l.start == "replayed")
    {
        let from = l.started_from.as_deref().unwrap_or_default();
        println!(
            "started from {}/{} at {} ({})",
            l.remote,
            l.branch,
            &from[..12.min(from.len())],
            l.start
        );
    }
    if report.migrations.is_empty() {
        println!("nothing to run: no pending migrations");
    }
    for m in &report.migrations {
        migration_summary(m, report.dry_run, color);
        if verbose {
            if !m.phases.is_empty() {
                let phases: Vec<String> = m
                    .phases
                    .iter()
                    .map(|p| format!("{} {:.2}s", p.phase, p.seconds))
                    .collect();
                println!("  phases: {}", phases.join(", "));
            }
            for f in &m.files {
                println!("    {:<7} {}", format!("{:?}", f.change).to_lowercase(), f.path);
            }
        }
    }
    if let Some(l) = &report.landing {
        if report.push.is_none() && !l.applied_elsewhere.is_empty() {
            println!(
                "nothing pushed: another run applied {} on {}/{} first",
                l.applied_elsewhere.join(", "),
                l.remote,
                l.branch
            );
        }
    }
    let attempts = report.landing.as_ref().map_or(1, |l| l.push_attempts);
    match &report.push {
        Some(PushOutcome::Pushed { remote, branch }) if attempts > 1 => println!(
            "pushed {branch} to {remote} (attempt {attempts}: the remote had moved, the migrations ran again on its head)"
        ),
        Some(PushOutcome::Pushed { remote, branch }) => println!("pushed {branch} to {remote}"),
        Some(PushOutcome::NoRemote) => println!("not pushed: the data repository has no remote"),
        Some(PushOutcome::Rejected { remote, .. }) => println!("push to {remote} REJECTED (see below)"),
        None => {}
    }
    if let Some(commit) = &report.submodule_commit {
        println!(
            "recorded the new data repository commit in the parent repository ({})",
            &commit[..12]
        );
    }
}

fn migration_summary(m: &MigrationReport, dry_run: bool, color: bool) {
    let (word, code) = match m.status {
        Outcome::Completed => ("completed", "1;32"),
        Outcome::Failed => ("FAILED", "1;31"),
        Outcome::Skipped => ("skipped", "1;33"),
    };
    let mode = if dry_run { " (dry run)" } else { "" };
    println!(
        "{} {}{mode} in {:.2}s",
        paint(word, code, color),
        m.name,
        m.duration_seconds
    );
    if let Some(reason) = &m.reason {
        println!("  {reason}");
        return;
    }
    let s = &m.stats;
    println!(
        "  entities: {} created, {} updated, {} deleted; relationships: {} created, {} updated, {} deleted; \
         versions: {}",
        s.entities_created,
        s.entities_updated,
        s.entities_deleted,
        s.relationships_created,
        s.relationships_updated,
        s.relationships_deleted,
        s.versions_created
    );
    if s.snapshots_redacted > 0 {
        println!("  snapshots redacted: {}", s.snapshots_redacted);
    }
    if !m.commits.is_empty() {
        println!(
            "  {} commit(s), last {}",
            m.commits.len(),
            &m.commits[m.commits.len() - 1][..12]
        );
    }
    if dry_run && m.status == Outcome::Completed {
        println!("  would change {} file(s); nothing was written", m.files.len());
    }
    for (i, e) in m.error.iter().enumerate() {
        if i == 0 {
            println!("  error: {e}");
        } else {
            println!("    caused by: {e}");
        }
    }
    if m.status == Outcome::Failed {
        println!("  the working tree was restored; nothing was committed");
    }
}
