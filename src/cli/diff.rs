//! `nes diff`.

use std::io::Write as _;

use super::{read_repo, GlobalArgs};
use crate::diff::{self, range, render, Options, TreeState};
use crate::error::ExitCode;

const AFTER_HELP: &str = "\
What is compared:
  nes diff                      the last run: parent of its first batch commit → HEAD
  nes diff 002-ward-name-fix    that migration's batch commits (a name or its number)
  nes diff REV                  REV → HEAD
  nes diff FROM TO, FROM..TO    any two commits of the data repository
Then IDs or path prefixes keep only those documents:
  nes diff 005 entity:person/ram-sharma v2/entity/location/ward
IDs start with entity:, relationship: or author:, paths with v2/; anything else after
`--` is a filter too.

Output: one block per document (A created, M updated, R moved, D deleted) with its field
changes as JSON paths, then the summary per kind and field path. Bookkeeping that every
update rewrites (version_summary, updated_at, created_at) is counted, not listed, unless
--all-fields. New version files appear as the version they record, not as files.";

/// Show what changed inside each entity, relationship and author between two data commits.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// Revisions (FROM [TO], FROM..TO, or a migration name), then IDs or path prefixes.
    #[arg(value_name = "REV_OR_ID")]
    pub words: Vec<String>,
    /// IDs or path prefixes, when they could be mistaken for revisions.
    #[arg(last = true, value_name = "ID_OR_PATH")]
    pub paths: Vec<String>,
    /// Only the summary: counts per kind and per field path.
    #[arg(long)]
    pub stat: bool,
    /// One JSON document: the range, every document's change and the summary.
    #[arg(long)]
    pub json: bool,
    /// Also list bookkeeping fields (version_summary, updated_at, created_at).
    #[arg(long)]
    pub all_fields: bool,
    /// Exit with 1 when there are differences, 0 when there are none (like `git diff`).
    #[arg(long)]
    pub exit_code: bool,
}

pub fn exec(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    match run(g, args) {
        // `nes diff | head` closed the pipe: what was asked for has been shown.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::Success)
        }
        other => other,
    }
}

fn run(g: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let repo = read_repo(g)?;
    let mut revs = Vec::new();
    let mut filter = range::Filter::default();
    let mut in_filters = false;
    for word in &args.words {
        in_filters |= range::is_document_spec(word);
        if in_filters {
            filter.add(word);
        } else {
            revs.push(word.clone());
        }
    }
    for p in &args.paths {
        filter.add(p);
    }
    let range = range::resolve(&repo, &revs)?;
    let git = repo.git();
    let old_tree = range.from.map(|c| git.find_commit(c)?.tree()).transpose()?;
    let new_tree = git.find_commit(range.to)?.tree()?;
    let paths = diff::source::changed_paths(git, old_tree.as_ref(), Some(&new_tree), |p| filter.keeps(p))?;
    let old = TreeState::new(git, old_tree).with_known(paths.iter().map(|c| (c.path.clone(), c.old)));
    let new = TreeState::new(git, Some(new_tree)).with_known(paths.iter().map(|c| (c.path.clone(), c.new)));
    let paths: Vec<String> = paths.into_iter().map(|c| c.path).collect();
    let options = Options {
        all_fields: args.all_fields,
    };
    let from = range.from.map(|c| c.to_string());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = if args.json {
        write!(
            out,
            "{{\"schema_version\":1,\"label\":{},\"from\":{},\"to\":{},\"documents\":[",
            serde_json::to_string(&range.label)?,
            serde_json::to_string(&from)?,
            serde_json::to_string(&range.to.to_string())?
        )?;
        let mut first = true;
        let summary = diff::diff(paths.into_iter().map(Ok), &old, &new, &options, &mut |c| {
            if !std::mem::take(&mut first) {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut out, &c)?;
            Ok(())
        })?;
        writeln!(out, "],\"summary\":{}}}", serde_json::to_string(&summary)?)?;
        summary
    } else {
        if !g.quiet {
            let from = from
                .as_deref()
                .map_or("(empty)".to_string(), |f| f[..10].to_string());
            writeln!(
                out,
                "# {}: {from}..{}\n",
                range.label,
                &range.to.to_string()[..10]
            )?;
        }
        let stat = args.stat;
        let summary = diff::diff(paths.into_iter().map(Ok), &old, &new, &options, &mut |c| {
            if !stat {
                let mut text = String::new();
                render::doc_text(&c, false, &mut text);
                out.write_all(text.as_bytes())?;
            }
            Ok(())
        })?;
        if !stat && !summary.is_empty() {
            writeln!(out)?;
        }
        out.write_all(render::summary_text(&summary, args.all_fields).as_bytes())?;
        summary
    };
    out.flush()?;
    Ok(if args.exit_code && !summary.is_empty() {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
}
