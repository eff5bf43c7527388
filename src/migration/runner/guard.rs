//! The guard: every file a run touched, and every reference into them, verified before
//! anything is committed.

use anyhow::Result;

/// Verifies every file the run touched, and every reference into them, before anything
/// is committed; a violation fails the migration.
///
/// It runs on a thread pool of its own: the batch commits are built beside it on rayon's
/// global pool, and sharing that pool made the build wait for the whole check (a 10k run
/// spent 0.25 s of its build phase idle).
pub(super) fn guard(root: &std::path::Path, present: Vec<String>, deleted: Vec<String>) -> Result<()> {
    let verify = || crate::verify::verify_changes(root, present, deleted);
    let checked = match rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("nes-guard-{i}"))
        .build()
    {
        Ok(pool) => pool.install(verify)?,
        Err(_) => verify()?,
    };
    if checked.is_clean() {
        return Ok(());
    }
    const SHOWN: usize = 20;
    let mut lines: Vec<String> = checked
        .violations
        .iter()
        .take(SHOWN)
        .map(|v| format!("  {}: {} ({:?})", v.path, v.message, v.rule))
        .collect();
    if checked.violations.len() > SHOWN {
        lines.push(format!("  ... and {} more", checked.violations.len() - SHOWN));
    }
    Err(anyhow::anyhow!(
        "{} violation(s) in the files this run wrote; nothing was committed:\n{}",
        checked.violations.len(),
        lines.join("\n")
    ))
}
