//! `nes migrate preview`.

use super::{output, read_repo, runner, GlobalArgs};
use crate::error::{ExitCode, NesError};
use crate::migration::preview;
use crate::migration::registry::Registry;
use crate::migration::runner::{RunOptions, Target};
use crate::migration::status::Status;

/// Dry-run migrations and report what they would change, as a pull-request comment
/// (markdown) or JSON. Nothing in the data repository changes.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Migrations to preview (names or prefixes).
    pub names: Vec<String>,
    /// Preview the migrations whose folders changed since this ref of the tool repository
    /// (e.g. `origin/main`); also fails on prefixes clashing with that ref.
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    pub format: Format,
    /// Same as `--format json`.
    #[arg(long)]
    pub json: bool,
    /// Also write the markdown comment to this file (CI uploads it as an artifact).
    #[arg(long, value_name = "FILE")]
    pub markdown_file: Option<std::path::PathBuf>,
    /// Also write the JSON report, with every document's diff, to this file.
    #[arg(long, value_name = "FILE")]
    pub json_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

pub fn exec(g: &GlobalArgs, registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    let runner = runner(g, registry)?;
    let repo = read_repo(g)?;
    let mut names = args.names;
    let mut clashes = Vec::new();
    if let Some(base) = &args.changed_since {
        // A changed folder this binary does not contain is already reported as not compiled
        // (and, when it clashes, as a duplicate prefix); preview what can run.
        names.extend(
            preview::changed_since(&g.migrations_dir, base)?
                .into_iter()
                .filter(|n| registry.find(n).is_some()),
        );
        clashes = preview::duplicate_prefixes(&g.migrations_dir, base)?;
        // History decides: migrations it shows applied may share a prefix (the service's
        // two 007s); a clash with any other is the pull request's to fix.
        let statuses = runner.statuses(&repo)?;
        let applied = |name: &str| {
            statuses
                .iter()
                .any(|s| s.name == name && matches!(s.status, Status::Applied | Status::Unpushed))
        };
        clashes.retain(|(a, b)| !(applied(a) && applied(b)));
    } else if names.is_empty() {
        return Err(NesError::usage("name the migrations to preview, or pass --changed-since REF").into());
    }
    names.sort();
    names.dedup();
    let options = RunOptions {
        dry_run: true,
        force: true,
        allow_out_of_order: true,
        progress: false,
        stream_logs: !g.quiet,
        continue_on_failure: true,
        ..RunOptions::default()
    };
    // A clash stops every run (`nes migrate run` refuses it too): report it alone.
    let mut report = if names.is_empty() || !clashes.is_empty() {
        crate::migration::runner::RunReport {
            schema_version: crate::migration::runner::SCHEMA_VERSION,
            dry_run: true,
            migrations: Vec::new(),
            push: None,
            landing: None,
            submodule_commit: None,
            warnings: runner.warnings()?,
        }
    } else {
        runner.run(&repo, &Target::Named(names), &options)?
    };
    for (a, b) in &clashes {
        report.warnings.push(format!("{a} and {b} share a prefix"));
    }
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        #[serde(flatten)]
        report: &'a crate::migration::runner::RunReport,
        duplicate_prefixes: &'a [(String, String)],
    }
    let doc = Doc {
        report: &report,
        duplicate_prefixes: &clashes,
    };
    let markdown = preview::render_markdown(&report, &clashes);
    if let Some(path) = &args.markdown_file {
        write_file(path, markdown.as_bytes())?;
    }
    if let Some(path) = &args.json_file {
        write_file(path, &serde_json::to_vec_pretty(&doc)?)?;
    }
    if args.json || args.format == Format::Json {
        output::json(&doc)?;
    } else {
        print!("{markdown}");
    }
    Ok(if report.failed() || !clashes.is_empty() {
        ExitCode::Failure
    } else {
        ExitCode::Success
    })
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
