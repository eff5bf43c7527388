//! `nes db verify`.

use super::{output, read_repo, GlobalArgs};
use crate::error::ExitCode;
use crate::verify::{verify_repo, VerifyOptions};

/// Check the data repository's integrity: every file parses, IDs match paths and follow the
/// grammar, documents match their schemas, IDs are unique, references resolve and version
/// chains are whole. Exits 1 when anything is found.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository-relative files or directories to check (default: all of `v2/`).
    pub paths: Vec<String>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
    /// Print at most this many violations per rule (all with --json).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
}

pub fn exec(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let repo = read_repo(g)?;
    let options = VerifyOptions {
        paths: args.paths,
        progress: !g.quiet && !args.json,
    };
    let started = std::time::Instant::now();
    let report = verify_repo(repo.root(), &options)?;
    if args.json {
        output::json(&report)?;
    } else {
        let mut last_rule = None;
        let mut shown = 0;
        for v in &report.violations {
            if last_rule != Some(v.rule) {
                println!("\n{:?}: {} violation(s)", v.rule, report.by_rule[&v.rule]);
                last_rule = Some(v.rule);
                shown = 0;
            }
            shown += 1;
            if shown <= args.limit {
                println!("  {}: {}", v.path, v.message);
            } else if shown == args.limit + 1 {
                println!("  ... (--limit or --json for all)");
            }
        }
        println!(
            "{} file(s) checked in {:.2}s: {}",
            report.files_checked,
            started.elapsed().as_secs_f64(),
            if report.is_clean() {
                "no violations".to_string()
            } else {
                format!("{} violation(s)", report.violations.len())
            }
        );
    }
    Ok(if report.is_clean() {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}
