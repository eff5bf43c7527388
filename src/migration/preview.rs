//! Previews for pull requests: which migration folders a branch changed, prefix clashes
//! against the base branch, and the report rendered as a pull-request comment.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

use super::naming;
use super::runner::{MigrationReport, Outcome, RunReport};

/// The hidden marker by which the workflow finds (and updates) its own comment.
pub const COMMENT_MARKER: &str = "<!-- nes-migration-preview -->";

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

/// The preview as a pull-request comment: a short table, then details folded below.
pub fn render_markdown(report: &RunReport, clashes: &[(String, String)]) -> String {
    let mut out = String::new();
    let title = if report.dry_run {
        "Migration preview"
    } else {
        "Migration run"
    };
    writeln!(out, "{COMMENT_MARKER}\n## {title}\n").unwrap();
    if report.migrations.is_empty() && clashes.is_empty() {
        out.push_str("No migration changed.\n");
        return out;
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
    for m in &report.migrations {
        details(&mut out, m);
    }
    out
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
    if !m.by_kind.is_empty() {
        out.push_str("| Kind | Created | Updated | Deleted | Examples |\n|---|---|---|---|---|\n");
        for (kind, c) in &m.by_kind {
            let samples: Vec<String> = c.samples.iter().map(|s| s.replace('|', "\\|")).collect();
            writeln!(
                out,
                "| `{kind}` | {} | {} | {} | {} |",
                c.created,
                c.updated,
                c.deleted,
                samples.join(", ")
            )
            .unwrap();
        }
        out.push('\n');
    }
    if !m.files.is_empty() {
        const SHOWN: usize = 50;
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
    if !m.logs.is_empty() {
        out.push_str("\n**Log**\n\n```\n");
        for line in &m.logs {
            writeln!(out, "{line}").unwrap();
        }
        out.push_str("```\n");
    }
    out.push_str("\n</details>\n");
}
