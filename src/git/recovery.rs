//! Crash safety: the pre-run ref, the run journal, restoring the working tree and repair.
//!
//! Before a run writes anything, `<gitdir>/nes/run.json` records the run (and, once planned,
//! its batches and commit metadata; [`super::run_record`]) and `refs/nes/pre-run` where HEAD
//! was. Both are removed when the run ends; finding the ref means the run was interrupted.
//! The refs are the truth: a record that cannot be read is rebuilt from the run's commits.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::commit::{commit_batch_range, FileChange};
use super::index::{sync_index, BlobIds};
use super::message::{parse_trailers, CommitMeta};
use super::own_lock::{self, LockDirs};
use super::ref_update;
use super::repo::{DataRepo, Untracked};
use super::run_record::{self, Journal};
use crate::error::NesError;

pub use super::refs::PRE_RUN_REF;

/// Records the run, then the pre-run commit, before anything is written. In that order: a
/// pre-run ref always has its record beside it, and a record without the ref is the
/// leftover of a run that wrote nothing ([`clear_leftovers`] removes it).
pub fn record_pre_run(repo: &DataRepo, run_id: &str, migration: &str) -> Result<()> {
    let head = repo.head()?;
    run_record::write(repo, &run_record::new_run(migration, run_id, head.to_string()))?;
    ref_update::update(
        repo.git(),
        PRE_RUN_REF,
        ref_update::Expect::Any,
        head,
        &format!("nes: pre-run of {migration} ({run_id})"),
    )
}

/// Saves the batch plan before the first commit, so `repair` can finish the remaining batches.
pub fn save_plan(repo: &DataRepo, meta: &CommitMeta, batches: &[Vec<FileChange>]) -> Result<()> {
    let mut journal = run_record::read(repo)?.unwrap_or_else(|| {
        run_record::new_run(
            &meta.migration,
            &meta.run_id,
            repo.head().map(|h| h.to_string()).unwrap_or_default(),
        )
    });
    journal.meta = Some(run_record::stored_meta(meta));
    journal.batches = run_record::stored_batches(batches);
    run_record::write(repo, &journal)
}

/// Clears the pre-run ref, then the run record, after a run ended (committed, or restored).
pub fn finish_run(repo: &DataRepo) -> Result<()> {
    ref_update::delete(repo.git(), PRE_RUN_REF)?;
    run_record::remove(repo)
}

/// Removes what a crashed run left that no interrupted run needs: nes's own stale lock files
/// (a `<ref>.lock` or `index.lock` proved nes's, see [`super::own_lock`]), a run record
/// without its pre-run ref, the blob spill, a half-built index, a half-written pack and a
/// half-written ledger cache (a `status` racing this loses only its cache write, which it
/// ignores). Returns a line per
/// removal, to be said. Call it only holding the run lock (no nes runs).
pub fn clear_leftovers(repo: &DataRepo) -> Result<Vec<String>> {
    let mut said: Vec<String> = own_lock::clear_stale(&LockDirs::of(repo.git()))?
        .into_iter()
        .map(|lock| {
            format!(
                "removed {}, a lock file nes held when it was stopped",
                lock.display()
            )
        })
        .collect();
    if pre_run_commit(repo)?.is_none() && run_record::exists(repo) {
        let what = run_record::read(repo)?.map_or_else(
            || "an unreadable run record".to_string(),
            |j| {
                format!(
                    "the record of run {} of {}, which stopped before writing anything",
                    j.run_id, j.migration
                )
            },
        );
        run_record::remove(repo)?;
        said.push(format!("removed {what}"));
    }
    let nes = repo.nes_dir()?;
    for (leftover, what) in [
        ("spill", "the blob spill"),
        ("index.new", "a half-built git index"),
        ("ledger-cache.json.tmp", "a half-written ledger cache"),
    ] {
        let path = nes.join(leftover);
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path).is_ok()
        } else {
            path.exists() && fs::remove_file(&path).is_ok()
        };
        if removed {
            said.push(format!("removed {what} of a stopped run ({})", path.display()));
        }
    }
    // Only a run writes a pack, and none runs.
    for pack in half_written_packs(repo) {
        if fs::remove_file(&pack).is_ok() {
            said.push(format!(
                "removed a half-written pack of a stopped run ({})",
                pack.display()
            ));
        }
    }
    Ok(said)
}

/// The packs nes was writing (`tmp_nes_<pid>_<n>.*`; git names its own `tmp_pack_*`).
fn half_written_packs(repo: &DataRepo) -> Vec<PathBuf> {
    let packs = repo.git().commondir().join("objects").join("pack");
    let Ok(entries) = fs::read_dir(&packs) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("tmp_nes_"))
        .map(|e| e.path())
        .collect()
}

/// Whether a stopped run left a record or files under `.git/nes` that [`clear_leftovers`]
/// would remove (besides lock files, see [`stale_locks`]).
pub fn has_leftovers(repo: &DataRepo) -> Result<bool> {
    let nes = repo.git_dir().join("nes");
    Ok((pre_run_commit(repo)?.is_none() && run_record::exists(repo))
        || nes.join("spill").exists()
        || nes.join("index.new").exists()
        || nes.join("ledger-cache.json.tmp").exists()
        || nes.join("locks").exists()
        || !half_written_packs(repo).is_empty())
}

/// The lock files a stopped nes left (nothing is removed: `status` takes no lock).
pub fn stale_locks(repo: &DataRepo) -> Vec<PathBuf> {
    own_lock::stale_locks(&LockDirs::of(repo.git()))
}

/// Puts the given repository-relative paths back as they are at HEAD (deleting those HEAD
/// does not have). Used when a migration fails before committing.
pub fn restore_paths(repo: &DataRepo, paths: &[String]) -> Result<()> {
    let git = repo.git();
    let mut head = repo.head_lookup()?;
    for path in paths {
        let full = repo.root().join(path);
        let blob = match head.entry(path)? {
            Some((id, mode)) if is_file_mode(mode) => Some((git.find_blob(id)?, mode)),
            _ => None,
        };
        match blob {
            Some((blob, mode)) => restore_file(&full, blob.content(), mode)?,
            None => {
                remove_file(&full)?;
                remove_empty_parents(repo.root(), &full);
            }
        }
    }
    Ok(())
}

/// Whether a tree entry's mode is a file's (regular, executable or symlink).
fn is_file_mode(mode: i32) -> bool {
    [
        git2::FileMode::Blob,
        git2::FileMode::BlobExecutable,
        git2::FileMode::Link,
    ]
    .into_iter()
    .any(|m| i32::from(m) == mode)
}

fn restore_file(full: &Path, content: &[u8], mode: i32) -> Result<()> {
    if let Some(parent) = full.parent() {
        fs::create_dir_all(parent)?;
    }
    // Skip identical files so their stat data, and thus the index, stays valid.
    if fs::read(full).is_ok_and(|current| current == content) {
        return Ok(());
    }
    fs::write(full, content).with_context(|| format!("cannot restore {}", full.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let bits = if mode == i32::from(git2::FileMode::BlobExecutable) {
            0o755
        } else {
            0o644
        };
        fs::set_permissions(full, fs::Permissions::from_mode(bits))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(())
}

fn remove_file(full: &Path) -> Result<()> {
    match fs::remove_file(full) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", full.display())),
    }
}

/// Removes the directories above `full` that became empty, up to (not including) `root`.
fn remove_empty_parents(root: &Path, full: &Path) {
    let mut dir = full.parent();
    while let Some(d) = dir {
        // `remove_dir` fails on a non-empty directory, which is where we stop.
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// A run interrupted before it finished, as found on disk.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Interrupted {
    pub migration: String,
    pub run_id: String,
    pub pre_run_commit: String,
    /// Batches committed so far, and how many were planned (0 when no plan was saved).
    pub committed_batches: usize,
    pub planned_batches: usize,
}

impl Interrupted {
    /// The migration, or what is known of it when its record is lost.
    pub fn name(&self) -> &str {
        if self.migration.is_empty() {
            "an unknown migration (its run record is lost and it committed nothing)"
        } else {
            &self.migration
        }
    }

    /// The one command that resolves it.
    pub fn repair_command(&self) -> String {
        if self.migration.is_empty() {
            "nes migrate repair --rollback".to_string()
        } else {
            format!("nes migrate repair {}", self.migration)
        }
    }
}

/// The interrupted run, if a pre-run ref is present. Its migration and run id come from the
/// run record or, when that is lost, from the trailers of the run's commits; both are empty
/// when neither names them (nothing of the run was committed then).
pub fn interrupted(repo: &DataRepo) -> Result<Option<Interrupted>> {
    let Some(pre_run) = pre_run_commit(repo)? else {
        return Ok(None);
    };
    let journal = match run_record::read(repo)? {
        Some(journal) => journal,
        None => record_from_history(repo, pre_run)?,
    };
    let committed = committed_batches(repo, pre_run, &journal.run_id)?;
    Ok(Some(Interrupted {
        migration: journal.migration,
        run_id: journal.run_id,
        pre_run_commit: pre_run.to_string(),
        committed_batches: committed.len(),
        planned_batches: journal.batches.len(),
    }))
}

/// What the commits since `pre_run` say of the run that made them (no plan: a run whose
/// record is lost can only be rolled back, or completed by running it again).
fn record_from_history(repo: &DataRepo, pre_run: git2::Oid) -> Result<Journal> {
    let mut journal = run_record::new_run("", "", pre_run.to_string());
    if let Some(head) = repo.head_commit()? {
        let git = repo.git();
        let mut walk = git.revwalk()?;
        walk.push(head.id())?;
        walk.hide(pre_run)?;
        for oid in walk {
            let trailers = parse_trailers(&String::from_utf8_lossy(git.find_commit(oid?)?.message_bytes()));
            if let (Some(migration), Some(run)) = (trailers.migration, trailers.run) {
                journal.migration = migration;
                journal.run_id = run;
                break;
            }
        }
    }
    Ok(journal)
}

fn pre_run_commit(repo: &DataRepo) -> Result<Option<git2::Oid>> {
    match repo.git().find_reference(PRE_RUN_REF) {
        Ok(reference) => Ok(Some(reference.peel_to_commit()?.id())),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Batch numbers of `run_id` committed since `pre_run` on HEAD's history.
fn committed_batches(repo: &DataRepo, pre_run: git2::Oid, run_id: &str) -> Result<Vec<u32>> {
    let Some(head) = repo.head_commit()? else {
        return Ok(Vec::new());
    };
    let git = repo.git();
    let mut walk = git.revwalk()?;
    walk.push(head.id())?;
    walk.hide(pre_run)?;
    let mut batches = Vec::new();
    for oid in walk {
        let trailers = parse_trailers(&String::from_utf8_lossy(git.find_commit(oid?)?.message_bytes()));
        if trailers.run.as_deref() == Some(run_id) {
            batches.extend(trailers.batch.map(|(n, _)| n));
        }
    }
    batches.sort_unstable();
    Ok(batches)
}

/// How `repair` resolves an interrupted run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairMode {
    /// Commit the remaining planned batches (needs the plan and the files in the working tree).
    Complete,
    /// Return branch, index and working tree to the pre-run commit.
    Rollback,
}

/// Resolves an interrupted run.
pub fn repair(repo: &DataRepo, mode: RepairMode, signature: &git2::Signature<'_>) -> Result<()> {
    let Some(pre_run) = pre_run_commit(repo)? else {
        return Err(NesError::usage("no interrupted run to repair")
            .hint("nothing to do: `nes migrate status` shows the state")
            .into());
    };
    match mode {
        RepairMode::Complete => complete(repo, pre_run, signature)?,
        RepairMode::Rollback => {
            rollback(repo, pre_run)?;
            remove_untracked(repo)?;
        }
    }
    finish_run(repo)
}

/// Commits the planned batches not yet committed, then syncs the index for the whole plan.
fn complete(repo: &DataRepo, pre_run: git2::Oid, signature: &git2::Signature<'_>) -> Result<()> {
    let journal = match run_record::read(repo)? {
        Some(journal) => journal,
        None => record_from_history(repo, pre_run)?,
    };
    let Some(meta) = journal.commit_meta().filter(|_| !journal.batches.is_empty()) else {
        return Err(NesError::usage(format!(
            "the interrupted run of {} saved no batch plan, so it cannot be completed",
            display_name(&journal)
        ))
        .hint("roll it back with `nes migrate repair --rollback`, then run the migration again")
        .into());
    };
    let batches = journal.file_batches();
    let committed = committed_batches(repo, pre_run, &journal.run_id)?;
    let expected: Vec<u32> = (1..=committed.len() as u32).collect();
    if committed != expected {
        return Err(NesError::usage(format!(
            "the history holds batches {committed:?} of run {}, not a prefix of the plan",
            journal.run_id
        ))
        .hint("roll it back with `nes migrate repair --rollback`")
        .into());
    }
    let done = committed.len().min(batches.len());
    let mut blob_ids = BlobIds::new();
    commit_batch_range(
        repo,
        &batches[done..],
        done + 1,
        batches.len(),
        &meta,
        signature,
        &mut blob_ids,
        &mut |_, _| {},
    )?;
    sync_index(repo, batches.iter().flatten(), &blob_ids)
}

/// Returns working tree, branch and index to `pre_run`, in that order, as `git reset --hard`
/// does but with the branch and the index written through nes's own locks (libgit2's reset
/// left lock files a killed rollback could not get past). Killed part-way, the pre-run ref
/// is still there and the rollback runs again.
fn rollback(repo: &DataRepo, pre_run: git2::Oid) -> Result<()> {
    let git = repo.git();
    let target = git.find_commit(pre_run)?;
    let tree = target.tree()?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.force().update_index(false);
    git.checkout_tree(target.as_object(), Some(&mut checkout))
        .with_context(|| format!("cannot check out {pre_run} in the data repository"))?;
    let branch = format!("refs/heads/{}", repo.branch()?);
    ref_update::update(
        git,
        &branch,
        ref_update::Expect::Any,
        pre_run,
        &format!("reset: moving to {pre_run}"),
    )
    .with_context(|| format!("cannot reset the data repository to {pre_run}"))?;
    // The index entries that differ from the pre-run tree, rewritten from the working tree.
    let index = git.index()?;
    let diff = git.diff_tree_to_index(Some(&tree), Some(&index), None)?;
    let mut changes = Vec::new();
    let mut known = BlobIds::new();
    for delta in diff.deltas() {
        let old = delta.old_file();
        let Some(path) = old.path().or(delta.new_file().path()).and_then(|p| p.to_str()) else {
            continue;
        };
        if old.exists() && is_file_mode(i32::from(old.mode())) {
            known.insert(path.to_string(), old.id());
            changes.push(FileChange::Write(path.to_string()));
        } else {
            changes.push(FileChange::Delete(path.to_string()));
        }
    }
    sync_index(repo, &changes, &known).context("cannot reset the git index")
}

/// Deletes untracked, non-ignored files and the directories they leave empty: the run
/// started from a clean tree, so they are its leftovers. Done here because a hard reset with
/// libgit2's `remove_untracked` left them in place in testing.
fn remove_untracked(repo: &DataRepo) -> Result<()> {
    let untracked: Vec<PathBuf> = match repo.git_status(Untracked::Files, usize::MAX)? {
        Some(entries) => entries
            .into_iter()
            // A directory still named whole holds a repository of its own: not the run's.
            .filter(|(code, path)| code == b"??" && !path.ends_with(b"/"))
            .map(|(_, path)| path_from_bytes(path))
            .collect(),
        None => {
            let mut opts = git2::StatusOptions::new();
            opts.include_untracked(true)
                .recurse_untracked_dirs(true)
                .include_ignored(false)
                .exclude_submodules(true);
            let statuses = repo.git().statuses(Some(&mut opts))?;
            statuses
                .iter()
                .filter(|s| s.status().contains(git2::Status::WT_NEW))
                .filter_map(|s| s.path().map(PathBuf::from))
                .collect()
        }
    };
    for path in untracked {
        let full = repo.root().join(&path);
        remove_file(&full)?;
        remove_empty_parents(repo.root(), &full);
    }
    Ok(())
}

/// A path git printed, byte for byte (paths need not be UTF-8).
#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt as _;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

fn display_name(journal: &Journal) -> &str {
    if journal.migration.is_empty() {
        "the migration"
    } else {
        &journal.migration
    }
}
