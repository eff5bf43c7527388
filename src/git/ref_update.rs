//! The refs nes moves (the checked-out branch, `refs/nes/pre-run`), written by nes itself as
//! git's files backend writes them: lock, check, rename, then the reflog. The lock is an
//! [`OwnLock`], so a crash at any instant leaves nothing that recovery cannot prove its own
//! (libgit2's ref transaction left a `<ref>.lock` only a person could remove).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::own_lock::{LockDirs, OwnLock};
use crate::fault;

/// Where a ref must be for [`update`] to move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Wherever it is, or nowhere.
    Any,
    /// Nowhere: it must not exist yet (an unborn branch).
    Absent,
    /// At this commit.
    At(git2::Oid),
}

/// Points `name` at `new`, provided it is where `expect` says (else fails, moving nothing).
/// Appends `log` to the ref's reflog as git would (and to HEAD's when HEAD is this branch).
pub fn update(git: &git2::Repository, name: &str, expect: Expect, new: git2::Oid, log: &str) -> Result<()> {
    let dirs = LockDirs::of(git);
    let file = ref_file(&dirs, name);
    if let Some(parent) = file.parent() {
        fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let lock = OwnLock::acquire(&dirs, lock_path(&file), format!("{new}\n").as_bytes())?;
    let current = current(git, name)?;
    let expected = match expect {
        Expect::Any => current,
        Expect::Absent => None,
        Expect::At(old) => Some(old),
    };
    if current != expected {
        lock.release()?;
        let show = |oid: Option<git2::Oid>| oid.map_or("nothing".to_string(), |o| o.to_string());
        anyhow::bail!(
            "{name} is at {}, not at {} as expected",
            show(current),
            show(expected)
        );
    }
    lock.commit(&file)?;
    append_reflog(git, &dirs, name, current, new, log)
}

/// Deletes `name` (and its reflog); nothing to do when it does not exist.
pub fn delete(git: &git2::Repository, name: &str) -> Result<()> {
    let dirs = LockDirs::of(git);
    let file = ref_file(&dirs, name);
    if fs::symlink_metadata(&file).is_ok() {
        let lock = OwnLock::acquire(&dirs, lock_path(&file), b"")?;
        fault::step(|| format!("unlink {}", file.display()));
        fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
        lock.release()?;
    }
    // Packed (by `git pack-refs` after a crash): rare enough for libgit2's transaction.
    if let Ok(mut packed) = git.find_reference(name) {
        packed.delete()?;
    }
    let log = dirs.common_dir.join("logs").join(name);
    if log.exists() {
        fault::step(|| format!("unlink {}", log.display()));
        fs::remove_file(&log).with_context(|| format!("cannot remove {}", log.display()))?;
    }
    for root in [dirs.common_dir.clone(), dirs.common_dir.join("logs")] {
        remove_empty_parents(&root, &root.join(name));
    }
    Ok(())
}

/// Where `name` lives as a loose ref.
pub fn ref_file(dirs: &LockDirs, name: &str) -> PathBuf {
    if name == "HEAD" {
        dirs.git_dir.join(name)
    } else {
        dirs.common_dir.join(name)
    }
}

/// The lock git takes to change `file`.
pub fn lock_path(file: &Path) -> PathBuf {
    let mut lock = file.as_os_str().to_owned();
    lock.push(".lock");
    PathBuf::from(lock)
}

/// What `name` points at now (loose or packed).
fn current(git: &git2::Repository, name: &str) -> Result<Option<git2::Oid>> {
    match git.refname_to_id(name) {
        Ok(oid) => Ok(Some(oid)),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {name}")),
    }
}

/// Appends the reflog entry git writes for a ref update: to the ref's log when it has one or
/// is a branch (`core.logAllRefUpdates`), and to HEAD's when HEAD points at the ref.
fn append_reflog(
    git: &git2::Repository,
    dirs: &LockDirs,
    name: &str,
    old: Option<git2::Oid>,
    new: git2::Oid,
    message: &str,
) -> Result<()> {
    let log_all = git
        .config()
        .and_then(|c| c.get_bool("core.logAllRefUpdates"))
        .unwrap_or(!git.is_bare());
    let mut logs = Vec::new();
    let own = dirs.common_dir.join("logs").join(name);
    if own.exists() || (log_all && name.starts_with("refs/heads/")) {
        logs.push(own);
    }
    let head_here = git
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().map(|t| t == name))
        .unwrap_or(false);
    if head_here {
        logs.push(dirs.git_dir.join("logs").join("HEAD"));
    }
    if logs.is_empty() {
        return Ok(());
    }
    let entry = reflog_entry(git, old, new, message);
    for log in logs {
        if let Some(parent) = log.parent() {
            fs::create_dir_all(parent)?;
        }
        fault::step(|| format!("append to {}", log.display()));
        // One write of the whole line: a kill leaves the line or nothing.
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(&entry))
            .with_context(|| format!("cannot write {}", log.display()))?;
    }
    Ok(())
}

/// `<old> <new> <name> <<email>> <time> <tz>\t<message>\n`, with the identity git (and
/// libgit2) would log: the configured one, else "unknown".
fn reflog_entry(git: &git2::Repository, old: Option<git2::Oid>, new: git2::Oid, message: &str) -> Vec<u8> {
    let who = git
        .signature()
        .or_else(|_| git2::Signature::now("unknown", "unknown"))
        .expect("a signature of plain names");
    let when = who.when();
    let offset = when.offset_minutes();
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs();
    let mut out = format!("{} {new} ", old.unwrap_or_else(git2::Oid::zero)).into_bytes();
    out.extend_from_slice(who.name_bytes());
    out.extend_from_slice(b" <");
    out.extend_from_slice(who.email_bytes());
    out.extend_from_slice(
        format!(
            "> {} {sign}{:02}{:02}\t{}\n",
            when.seconds(),
            offset / 60,
            offset % 60,
            message.replace('\n', " ").trim_end()
        )
        .as_bytes(),
    );
    out
}

/// Removes the directories above `path` that became empty, up to (not including) `root`.
fn remove_empty_parents(root: &Path, path: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
