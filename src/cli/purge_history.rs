//! `nes db purge-history`.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use super::{open_repo, output, GlobalArgs};
use crate::error::ExitCode;
use crate::privacy::purge::{self, PurgeOptions, PurgeReport};

/// Rewrite history so no commit holds personal data at the privacy policy's paths.
///
/// Every commit reachable from any ref is rewritten so that no file holds a value at the
/// paths of model/privacy.toml (all of them, or those given with --path).
/// Messages, authors, dates, trailers and empty commits are kept; the ledger must read the
/// same. Writes the old → new commit map and prints what to do next (force-push, the parent's
/// pointer, the host's copies, re-cloning). Run it with --dry-run first.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A policy path or label to purge (repeatable); none: every path of the policy.
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<String>,
    /// Where to write the old → new commit map (default: .git/nes/purge/commit-map).
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Report what would change; write nothing.
    #[arg(long, conflicts_with_all = ["resume", "abort"])]
    pub dry_run: bool,
    /// Finish a purge that was interrupted after it started moving refs.
    #[arg(long, conflicts_with = "abort")]
    pub resume: bool,
    /// Undo a purge that was interrupted: every ref back to its id before, the old HEAD checked out.
    #[arg(long)]
    pub abort: bool,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn exec(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let repo = open_repo(&g.db_repo)?;
    if args.resume || args.abort {
        let recovered = purge::recover(&repo, args.resume)?;
        if args.json {
            output::json(&serde_json::json!({"schema_version": 1, "recovered": recovered}))?;
        } else if args.resume {
            println!(
                "purge finished: {} ref(s) rewritten, checked out and verified",
                recovered.refs.len()
            );
        } else {
            println!(
                "purge undone: {} ref(s) back at their ids before it",
                recovered.refs.len()
            );
        }
        return Ok(ExitCode::Success);
    }
    let options = PurgeOptions {
        paths: args.paths,
        map: args.map,
        dry_run: args.dry_run,
        progress: !g.quiet && !args.json && std::io::stderr().is_terminal(),
    };
    let report = purge::purge(&repo, &options)?;
    if args.json {
        output::json(&serde_json::json!({"schema_version": 1, "purge": report}))?;
    } else {
        print_report(&report, &repo.root().display().to_string());
    }
    Ok(ExitCode::Success)
}

fn print_report(report: &PurgeReport, root: &str) {
    let c = &report.counts;
    let verb = if report.dry_run {
        "would rewrite"
    } else {
        "rewrote"
    };
    println!(
        "{verb} {} of {} commit(s), {} of {} JSON blob(s)",
        c.commits_rewritten, c.commits, c.blobs_changed, c.blobs_scanned
    );
    for p in &report.paths {
        println!("  {}: {} value(s) in {} blob(s)", p.rule, p.values, p.blobs);
    }
    if let Some(first) = &c.first_changed_commit {
        println!("first changed commit: {first}");
    }
    if report.refs.is_empty() {
        println!("nothing to purge: no commit holds a value at these paths");
        return;
    }
    let moved = if report.dry_run { "would move" } else { "moved" };
    for r in &report.refs {
        println!("  {moved} {}: {} -> {}", r.name, &r.old[..12], &r.new[..12]);
    }
    if report.dry_run {
        println!("dry run: nothing was written");
        return;
    }
    if let Some(map) = &report.map {
        println!("commit map (old new): {map}");
    }
    println!("\nverified: no value left in any reachable blob, git fsck --strict clean, ledger unchanged.");
    println!("Next steps (the old history is still on the remote, in forks and in every clone):");
    if report.push_commands.is_empty() {
        println!(
            "  1. no remote is configured: publish the rewritten refs wherever copies of the old ones live"
        );
    } else {
        println!(
            "  1. force-push every rewritten ref (each fails if the remote moved since your last fetch):"
        );
        for command in &report.push_commands {
            println!("       git -C {root} {}", command.trim_start_matches("git "));
        }
    }
    println!("  2. drop the old objects here: git -C {root} reflog expire --expire=now --all && git -C {root} gc --prune=now");
    println!(
        "  3. in the tool repository, move the submodule pointer: nes db remap-pointer --map <the map above>"
    );
    println!("  4. ask the host to purge what only it can: forks, pull-request refs (refs/pull/*) and cached views (GitHub support)");
    println!(
        "  5. everyone with a clone re-clones; a pull or push from an old clone brings the old history back"
    );
}
