//! Previews for pull requests: which migration folders a branch changed, prefix clashes
//! against the base branch, and the report rendered as a pull-request comment.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::naming;
use super::runner::{FileReport, MigrationReport, Outcome, RunReport};
use crate::diff::{self, source::FnState, Diff};
use crate::store::backend::Backend;

/// The hidden marker by which the workflow finds (and updates) its own comment.
pub const COMMENT_MARKER: &str = "<!-- nes-migration-preview -->";

/// Longest comment rendered, in characters: below GitHub's 65,536 with room to spare.
pub const MAX_COMMENT_CHARS: usize = 60_000;

/// Where the comment says the full report is when it had to leave something out.
pub const FULL_REPORT: &str = "the job summary and the `preview.json` artifact";

/// Log lines shown per migration in the comment.
const LOG_LINES: usize = 50;

/// What a dry run changed: `files` it reported, compared between their content before the
/// migration (`before`) and after it (`after`).
pub fn dry_run_diff(
    files: &[FileReport],
    before: std::collections::HashMap<String, Option<Vec<u8>>>,
    after: &dyn Backend,
) -> Result<Diff> {
    let old = FnState(|p: &str| match before.get(p) {
        Some(content) => Ok(content.clone()),
        None => Ok(after.read(p)?),
    });
    let new = FnState(|p: &str| Ok(after.read(p)?));
    let paths = files.iter().map(|f| Ok(f.path.clone()));
    diff::collect(paths, &old, &new, &diff::Options::default())
}

/// Names of migration folders that differ between `base` and the working tree of the tool
/// repository holding `migrations_dir` (committed or not).
pub fn changed_since(migrations_dir: &Path, base: &str) -> Result<Vec<String>> {
    let (repo, prefix) = tool_repo(migrations_dir)?;
    let tree = base_tree(&repo, base)?;
    let mut opts = git2::DiffOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .pathspec(&prefix);
    let diff = repo
        .diff_tree_to_workdir_with_index(Some(&tree), Some(&mut opts))
        .context("comparing migrations with the base")?;
    let mut names = BTreeSet::new();
    for delta in diff.deltas() {
        for file in [delta.old_file().path(), delta.new_file().path()]
            .into_iter()
            .flatten()
        {
            let rel = file.to_string_lossy();
            if let Some(folder) = rel
                .strip_prefix(&format!("{prefix}/"))
                .and_then(|r| r.split('/').next())
            {
                if rel.matches('/').count() > prefix.matches('/').count() + 1 {
                    names.insert(folder.to_string());
                }
            }
        }
    }
    // Deleted folders cannot be previewed.
    Ok(names
        .into_iter()
        .filter(|n| migrations_dir.join(n).is_dir())
        .collect())
}

/// Pairs of folders, one at `base` and one now (or both now), that share a prefix under
/// different names: two migrations written in parallel and merged with the same number.
pub fn duplicate_prefixes(migrations_dir: &Path, base: &str) -> Result<Vec<(String, String)>> {
    let (repo, prefix) = tool_repo(migrations_dir)?;
    let tree = base_tree(&repo, base)?;
    let mut at_base = Vec::new();
    if let Ok(entry) = tree.get_path(Path::new(&prefix)) {
        let sub = entry.to_object(&repo)?.peel_to_tree()?;
        at_base.extend(sub.iter().filter_map(|e| e.name().map(str::to_string)));
    }
    let now: Vec<String> = super::discover::folders(migrations_dir)?
        .into_iter()
        .map(|f| f.name)
        .collect();
    let mut clashes = BTreeSet::new();
    let all: BTreeSet<&String> = at_base.iter().chain(now.iter()).collect();
    for a in &all {
        for b in &all {
            let (Ok((pa, _)), Ok((pb, _))) = (naming::parse_folder_name(a), naming::parse_folder_name(b))
            else {
                continue;
            };
            if a < b && pa == pb {
                clashes.insert(((*a).clone(), (*b).clone()));
            }
        }
    }
    Ok(clashes.into_iter().collect())
}

fn tool_repo(migrations_dir: &Path) -> Result<(git2::Repository, String)> {
    let dir = migrations_dir
        .canonicalize()
        .with_context(|| format!("migrations directory {} not found", migrations_dir.display()))?;
    let repo = git2::Repository::discover(&dir)
        .with_context(|| format!("{} is not inside a Git repository", dir.display()))?;
    let workdir = repo
        .workdir()
        .context("the tool repository has no working tree")?
        .canonicalize()?;
    let prefix = dir
        .strip_prefix(&workdir)
        .context("migrations directory outside the repository")?;
    Ok((repo, prefix.to_string_lossy().replace('\\', "/")))
}

fn base_tree<'r>(repo: &'r git2::Repository, base: &str) -> Result<git2::Tree<'r>> {
    let object = repo
        .revparse_single(base)
        .with_context(|| format!("base `{base}` not found in the tool repository (fetch it first)"))?;
    Ok(object.peel_to_tree()?)
}

/// The preview as a pull-request comment: a short table, then per migration what changes
/// inside the documents, folded. Never longer than [`MAX_COMMENT_CHARS`]: sections that do
/// not fit are left out, and a last line says which and where the full report is.
pub fn render_markdown(report: &RunReport, clashes: &[(String, String)]) -> String {
    let (mut out, sections) = head_and_sections(report, clashes);
    let mut left_out = Vec::new();
    // Room for the closing note, whatever it names.
    let reserve = 300 + report.migrations.iter().map(|m| m.name.len() + 4).sum::<usize>();
    let mut length = out.chars().count();
    // Every migration keeps at least its counts when they fit: a whole section is taken
    // only if the counts of all the sections after it still fit behind it.
    let compact_len: Vec<usize> = sections.iter().map(|(_, _, c)| c.chars().count()).collect();
    let mut compact_after: usize = compact_len.iter().sum();
    for (i, (name, full, compact)) in sections.into_iter().enumerate() {
        compact_after -= compact_len[i];
        let room = MAX_COMMENT_CHARS.saturating_sub(length + reserve);
        let chosen = if full.chars().count() + compact_after <= room {
            Some(full)
        } else if compact_len[i] <= room {
            left_out.push(name);
            Some(compact)
        } else {
            left_out.push(name);
            None
        };
        if let Some(text) = chosen {
            length += text.chars().count();
            out.push_str(&text);
        }
    }
    if !left_out.is_empty() {
        let names: Vec<String> = left_out.iter().map(|n| format!("`{n}`")).collect();
        writeln!(
            out,
            "\n> **Cut:** the comment is limited to {MAX_COMMENT_CHARS} characters; the details of {} are left out or shortened. \
             The full report is in {FULL_REPORT}.",
            names.join(", ")
        )
        .unwrap();
    }
    out
}

/// The comment's head (marker, title, table, warnings) and each migration's details.
/// Each section comes whole and compact (the counts only).
fn head_and_sections(
    report: &RunReport,
    clashes: &[(String, String)],
) -> (String, Vec<(String, String, String)>) {
    let mut out = String::new();
    let title = if report.dry_run {
        "Migration preview"
    } else {
        "Migration run"
    };
    writeln!(out, "{COMMENT_MARKER}\n## {title}\n").unwrap();
    if report.migrations.is_empty() && clashes.is_empty() {
        out.push_str("No migration changed.\n");
        return (out, Vec::new());
    }
    for (a, b) in clashes {
        writeln!(
            out,
            "> **Error:** `{a}` and `{b}` share a prefix; renumber one of them.\n"
        )
        .unwrap();
    }
    if !report.migrations.is_empty() {
        out.push_str("| Migration | Status | Duration | Created | Updated | Deleted | Files |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for m in &report.migrations {
            let s = &m.stats;
            writeln!(
                out,
                "| `{}` | {} | {:.2}s | {} | {} | {} | {} |",
                m.name,
                status_word(m),
                m.duration_seconds,
                s.entities_created + s.relationships_created,
                s.entities_updated + s.relationships_updated,
                s.entities_deleted + s.relationships_deleted,
                m.files.len()
            )
            .unwrap();
        }
    }
    for w in &report.warnings {
        writeln!(out, "\n> **Warning:** {w}").unwrap();
    }
    let sections = report
        .migrations
        .iter()
        .map(|m| {
            let mut full = String::new();
            details(&mut full, m);
            let mut compact = format!(
                "\n<details><summary><code>{}</code>: counts only</summary>\n\n",
                m.name
            );
            if let Some(diff) = &m.diff {
                compact.push_str(&diff::render::kinds_markdown(diff));
                // The privacy impact is never cut for room.
                compact.push_str(&diff::render::personal_markdown(&diff.summary));
            }
            compact.push_str("</details>\n");
            (m.name.clone(), full, compact)
        })
        .collect();
    (out, sections)
}

fn status_word(m: &MigrationReport) -> &'static str {
    match m.status {
        Outcome::Completed => "✅ ok",
        Outcome::Failed => "❌ failed",
        Outcome::Skipped => "⏭️ skipped",
    }
}

fn details(out: &mut String, m: &MigrationReport) {
    writeln!(
        out,
        "\n<details><summary><code>{}</code>: details</summary>\n",
        m.name
    )
    .unwrap();
    if !m.error.is_empty() {
        out.push_str("**Error**\n\n```\n");
        for (i, e) in m.error.iter().enumerate() {
            let lead = if i == 0 { "" } else { "caused by: " };
            writeln!(out, "{lead}{e}").unwrap();
        }
        out.push_str("```\n\n");
    }
    if let Some(reason) = &m.reason {
        writeln!(out, "{reason}\n").unwrap();
    }
    match &m.diff {
        Some(diff) => out.push_str(&diff::render::markdown(diff, FULL_REPORT)),
        None => files(out, m),
    }
    if !m.logs.is_empty() {
        out.push_str("\n**Log**\n\n```\n");
        for line in m.logs.iter().take(LOG_LINES) {
            writeln!(out, "{}", line.replace("```", "'''")).unwrap();
        }
        if m.logs.len() > LOG_LINES {
            writeln!(
                out,
                "... {} more lines in {FULL_REPORT}",
                m.logs.len() - LOG_LINES
            )
            .unwrap();
        }
        out.push_str("```\n");
    }
    out.push_str("\n</details>\n");
}

/// The files a migration changed, when there is no diff (it failed before finishing).
fn files(out: &mut String, m: &MigrationReport) {
    const SHOWN: usize = 50;
    if m.files.is_empty() {
        return;
    }
    writeln!(out, "**Files** ({}):\n\n```", m.files.len()).unwrap();
    for f in m.files.iter().take(SHOWN) {
        let mark = match f.change {
            crate::store::journal::ChangeKind::Added => "A",
            crate::store::journal::ChangeKind::Changed => "M",
            crate::store::journal::ChangeKind::Deleted => "D",
        };
        writeln!(out, "{mark} {}", f.path).unwrap();
    }
    if m.files.len() > SHOWN {
        writeln!(out, "... and {} more", m.files.len() - SHOWN).unwrap();
    }
    out.push_str("```\n");
}
