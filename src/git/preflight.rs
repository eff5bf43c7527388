//! What a run needs from the data repository, checked before it writes anything: no other
//! git process holding the index or the branch, a writable git directory and working tree,
//! and room on the disk. A refusal here leaves the repository exactly as it was.
//!
//! Checked twice: before the run starts (nothing written yet), and again before its batches
//! are built, when the size of what it wrote is known and another git process may have
//! started in the meantime.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::own_lock::{self, LockDirs};
use super::ref_update;
use super::repo::DataRepo;
use crate::error::NesError;

/// Room kept free on the disk beyond what a run is expected to write: git, the index and
/// the page cache need some too.
pub const DISK_MARGIN: u64 = 64 << 20;

/// Refuses, naming the file or directory and what to do, when the repository cannot take a
/// run that will write about `needed` more bytes into its git directory.
pub fn check(repo: &DataRepo, needed: u64) -> Result<()> {
    let git_dir = repo.git_dir();
    let branch = repo.branch()?;
    let dirs = LockDirs::of(repo.git());
    for lock in [
        git_dir.join("index.lock"),
        git_dir.join("HEAD.lock"),
        ref_update::lock_path(&ref_update::ref_file(&dirs, &format!("refs/heads/{branch}"))),
        dirs.common_dir.join("packed-refs.lock"),
    ] {
        // One a stopped nes left is removed once the run lock is held.
        if fs_exists(&lock) && !own_lock::is_own(&dirs, &lock) {
            return Err(own_lock::held_by_other(&lock).into());
        }
    }
    for dir in [
        git_dir.join("objects"),
        git_dir.join("refs"),
        git_dir.to_path_buf(),
        repo.root().to_path_buf(),
    ] {
        if !writable(&dir) {
            return Err(
                NesError::usage(format!("{} is not writable by this user", dir.display()))
                    .hint("run nes as the data repository's owner, or fix the permissions")
                    .into(),
            );
        }
    }
    if let Some(free) = free_bytes(git_dir) {
        let wanted = needed.saturating_add(DISK_MARGIN);
        if free < wanted {
            return Err(NesError::usage(format!(
                "only {} free on the disk of {}; the run needs about {}",
                mib(free),
                git_dir.display(),
                mib(wanted)
            ))
            .hint("free some space (`git gc` in the data repository may help), then run again")
            .into());
        }
    }
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

#[cfg(unix)]
fn c_path(path: &Path) -> Option<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt as _;
    std::ffi::CString::new(path.as_os_str().as_bytes()).ok()
}

/// Whether this process may create files in `dir` (`access(2)`, which honours the effective
/// user, ACLs and read-only mounts).
#[cfg(unix)]
fn writable(dir: &Path) -> bool {
    c_path(dir).is_some_and(|p| unsafe { libc::access(p.as_ptr(), libc::W_OK) } == 0)
}

#[cfg(not(unix))]
fn writable(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly())
}

/// Bytes available to this user on the filesystem of `path`; `None` where it cannot be known.
#[cfg(unix)]
fn free_bytes(path: &Path) -> Option<u64> {
    let p = c_path(path)?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `p` is a NUL-terminated path and `stat` is a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(p.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    // Both are 32-bit on some targets.
    #[allow(clippy::useless_conversion)]
    Some(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
}

#[cfg(not(unix))]
fn free_bytes(_path: &Path) -> Option<u64> {
    None
}

/// The bytes of the files a run left in the working tree: an upper bound of what its pack
/// adds to the git directory (a pack holds them compressed).
pub fn written_bytes(root: &Path, paths: &[String]) -> u64 {
    paths
        .iter()
        .map(|p| -> PathBuf { root.join(p) })
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Whether anything (even a dangling symlink) is at `path`.
fn fs_exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}
