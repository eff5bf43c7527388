//! `nes db audit`.

use super::{output, read_repo, GlobalArgs};
use crate::error::ExitCode;
use crate::privacy::audit::{audit_worktree, AuditReport};
use crate::progress;
use crate::store::privacy;

/// Where personal data is, per path of the privacy policy (model/privacy.toml).
///
/// For each path: how many documents and version snapshots of the working tree hold a value,
/// and with --history how many distinct blobs of the Git history do. Values are never printed
/// unless --show-values is given.
///
/// Redact with a migration (`ctx.redact`, see the contributor guide); take values out of
/// history with `nes db purge-history` (maintainer guide, "Taking personal data back").
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also count the distinct blobs reachable from any ref (every commit of every branch
    /// and tag) that hold a value: what a clone of the repository still gives away.
    #[arg(long)]
    pub history: bool,
    /// Print each value found, with its file (personal data on your terminal: take care).
    #[arg(long)]
    pub show_values: bool,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let repo = read_repo(g)?;
    let policy = privacy::policy();
    let mut report = AuditReport::new(policy, privacy::SOURCE_PATH, args.show_values);
    let started = std::time::Instant::now();
    let bar = progress::bar(!g.quiet && !args.json, 0, "audit: files read");
    audit_worktree(repo.root(), policy, &mut report, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if args.history {
        let bar = progress::bar(!g.quiet && !args.json, 0, "audit --history: blobs read");
        crate::privacy::history::audit_history(repo.git(), policy, &mut report, &|| bar.inc(1))?;
        bar.finish_and_clear();
    }
    if args.json {
        output::json(&report)?;
        return Ok(ExitCode::Success);
    }
    print_table(&report, args.show_values);
    let history = match report.history_blobs_scanned {
        Some(n) => format!(", {n} distinct blob(s) of history"),
        None => String::new(),
    };
    println!(
        "{} file(s){history} read in {:.2}s",
        report.files_scanned,
        started.elapsed().as_secs_f64()
    );
    if let Some(first) = report.unstructured.first() {
        println!(
            "{} other file(s) are not JSON but mention a field of the policy with a value (e.g. {first}): \
             nes cannot redact them field by field; see the maintainer guide, \"Taking personal data back\".",
            report.unstructured.len()
        );
    }
    if report.found_any() && !args.show_values {
        println!("Values are hidden (--show-values prints them). To take them back: maintainer guide, \"Taking personal data back\".");
    }
    Ok(ExitCode::Success)
}

fn print_table(report: &AuditReport, show_values: bool) {
    let width = report
        .rules
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let history = report.history_blobs_scanned.is_some();
    print!("{:<width$}  {:>9}  {:>9}", "path", "documents", "snapshots");
    println!("{}", if history { "  history blobs" } else { "" });
    for row in &report.rules {
        print!(
            "{:<width$}  {:>9}  {:>9}",
            row.label, row.documents, row.snapshots
        );
        match row.history_blobs {
            Some(n) => println!("  {n:>13}"),
            None => println!(),
        }
        if show_values {
            for v in &row.values {
                println!("    {}: {}", v.file, v.value);
            }
        }
    }
}
