//! Git lock files (`<ref>.lock`, `index.lock`) that nes can prove its own after a crash.
//!
//! A git lock is a file created exclusively beside its target, written, then renamed over
//! the target or removed. One left by a killed process blocks every later writer, and only
//! its creator can tell that it is stale. So nes first writes a **record** under
//! `<gitdir>/nes/locks/` (named after the lock, holding the lock's content) and then
//! creates the lock as a hard link to it: `link` fails when the lock exists, as git's
//! `O_EXCL` open does, and the lock appears with its whole content at once. A lock that is
//! the same file (device and inode) as nes's record can only be nes's: no git process links
//! to a file in nes's directory. A record without its lock is a leftover of no consequence.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::error::NesError;
use crate::fault;

/// Where nes's lock records live, and the two directories a lock may be in.
#[derive(Debug, Clone)]
pub struct LockDirs {
    /// `<gitdir>`: HEAD, the index, `nes/`.
    pub git_dir: PathBuf,
    /// The common directory of linked worktrees (refs, logs); `git_dir` otherwise.
    pub common_dir: PathBuf,
}

impl LockDirs {
    /// The directories of `git`.
    pub fn of(git: &git2::Repository) -> Self {
        Self {
            git_dir: git.path().to_path_buf(),
            common_dir: git.commondir().to_path_buf(),
        }
    }

    fn records(&self) -> PathBuf {
        self.git_dir.join("nes").join("locks")
    }

    /// The record of `lock`: its path below a root, `/` and `%` escaped (`@common/` first
    /// when below the common directory of a linked worktree).
    fn record_of(&self, lock: &Path) -> Option<PathBuf> {
        let (prefix, rel) = match lock.strip_prefix(&self.git_dir) {
            Ok(rel) => ("", rel),
            Err(_) => ("@common%2F", lock.strip_prefix(&self.common_dir).ok()?),
        };
        let rel = rel.to_str()?.replace('%', "%25").replace('/', "%2F");
        Some(self.records().join(format!("{prefix}{rel}")))
    }

    /// The lock a record stands for.
    fn lock_of(&self, record: &Path) -> Option<PathBuf> {
        let name = record.file_name()?.to_str()?;
        let (root, name) = match name.strip_prefix("@common%2F") {
            Some(rest) => (&self.common_dir, rest),
            None => (&self.git_dir, name),
        };
        Some(root.join(name.replace("%2F", "/").replace("%25", "%")))
    }
}

/// A lock nes holds; removed (with its record) on drop unless committed.
pub struct OwnLock {
    lock: PathBuf,
    record: PathBuf,
    held: bool,
}

impl OwnLock {
    /// Creates `lock` holding `content`, recorded first. Fails with exit code 3 when the
    /// lock exists, naming the command that removes it if no git process is running.
    pub fn acquire(dirs: &LockDirs, lock: PathBuf, content: &[u8]) -> Result<Self> {
        let record = dirs
            .record_of(&lock)
            .with_context(|| format!("{} is outside the git directory", lock.display()))?;
        // Checked first so that the record of a lock held (or left) stays as it is.
        if fs::symlink_metadata(&lock).is_ok() {
            return Err(held_by_other(&lock).into());
        }
        let records = dirs.records();
        if !records.is_dir() {
            fs::create_dir_all(&records).with_context(|| format!("cannot create {}", records.display()))?;
        }
        fault::step(|| format!("create lock record {}", record.display()));
        // A record left by a crash without its lock is replaced.
        let _ = fs::remove_file(&record);
        fs::write(&record, content).with_context(|| format!("cannot write {}", record.display()))?;
        fault::step(|| format!("link {}", lock.display()));
        if let Err(e) = fs::hard_link(&record, &lock) {
            let _ = fs::remove_file(&record);
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                return Err(held_by_other(&lock).into());
            }
            return Err(e).with_context(|| format!("cannot create {}", lock.display()));
        }
        Ok(Self {
            lock,
            record,
            held: true,
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.lock
    }

    /// Renames the lock over `target`, then drops the record.
    pub fn commit(mut self, target: &Path) -> Result<()> {
        fault::step(|| format!("rename {} to {}", self.lock.display(), target.display()));
        fs::rename(&self.lock, target)
            .with_context(|| format!("cannot move {} to {}", self.lock.display(), target.display()))?;
        self.held = false;
        fault::step(|| format!("unlink lock record {}", self.record.display()));
        remove_record(&self.record)
    }

    /// Removes the lock, then its record.
    pub fn release(mut self) -> Result<()> {
        fault::step(|| format!("unlink {}", self.lock.display()));
        remove(&self.lock)?;
        self.held = false;
        fault::step(|| format!("unlink lock record {}", self.record.display()));
        remove_record(&self.record)
    }
}

impl Drop for OwnLock {
    fn drop(&mut self) {
        if self.held {
            let _ = fs::remove_file(&self.lock);
            let _ = remove_record(&self.record);
        }
    }
}

/// The refusal for a lock nes cannot prove its own.
pub fn held_by_other(lock: &Path) -> NesError {
    NesError::busy(format!(
        "{} exists: another git process is using the data repository",
        lock.display()
    ))
    .hint(format!(
        "wait for it to finish; if no git process is running, it crashed: remove {} (`rm '{}'`)",
        lock.display(),
        lock.display()
    ))
}

/// Whether `lock` exists and is nes's own (the same file as its record).
pub fn is_own(dirs: &LockDirs, lock: &Path) -> bool {
    dirs.record_of(lock)
        .is_some_and(|record| same_file(&record, lock))
}

/// Removes the locks a dead nes left (those that are the same file as their record) and
/// every record; returns the locks removed. Call it only holding the run lock.
pub fn clear_stale(dirs: &LockDirs) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dirs.records()) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dirs.records().display())),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let record = entry?.path();
        if let Some(lock) = dirs.lock_of(&record).filter(|lock| same_file(&record, lock)) {
            remove(&lock)?;
            removed.push(lock);
        }
        remove(&record)?;
    }
    let _ = fs::remove_dir(dirs.records());
    Ok(removed)
}

/// The records present (for `status`, which takes no lock and removes nothing).
pub fn stale_locks(dirs: &LockDirs) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dirs.records()) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let record = e.path();
            dirs.lock_of(&record).filter(|lock| same_file(&record, lock))
        })
        .collect()
}

/// Removes `record`. Its directory stays for the next lock (a `mkdir` and `rmdir` per
/// batch commit cost the commit phase a tenth under a busy disk); the run lock's release
/// removes it ([`remove_records_dir`]).
fn remove_record(record: &Path) -> Result<()> {
    remove(record)
}

/// Removes `<gitdir>/nes/locks/` when empty: a command that held the run lock leaves
/// nothing behind.
pub fn remove_records_dir(git_dir: &Path) {
    let _ = fs::remove_dir(git_dir.join("nes").join("locks"));
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (fs::symlink_metadata(a), fs::symlink_metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_a: &Path, _b: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(root: &Path) -> LockDirs {
        LockDirs {
            git_dir: root.to_path_buf(),
            common_dir: root.to_path_buf(),
        }
    }

    #[test]
    fn record_names_round_trip() {
        let d = dirs(Path::new("/r/.git"));
        for rel in ["refs/heads/main.lock", "index.lock", "refs/heads/a%2Fb.lock"] {
            let lock = d.git_dir.join(rel);
            let record = d.record_of(&lock).unwrap();
            assert_eq!(record.parent().unwrap(), d.records());
            assert_eq!(d.lock_of(&record).unwrap(), lock);
        }
    }

    #[test]
    fn a_lock_of_nes_is_proved_and_cleared_one_of_git_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dirs(dir.path());
        fs::create_dir_all(dir.path().join("refs/heads")).unwrap();
        let ours = dir.path().join("refs/heads/main.lock");
        let lock = OwnLock::acquire(&d, ours.clone(), b"x\n").unwrap();
        assert_eq!(fs::read(&ours).unwrap(), b"x\n");
        // Held: a second taker is refused.
        assert!(OwnLock::acquire(&d, ours.clone(), b"y\n").is_err());
        assert!(is_own(&d, &ours));
        std::mem::forget(lock); // a crash: neither lock nor record removed
        let theirs = dir.path().join("index.lock");
        fs::write(&theirs, b"").unwrap();
        assert!(!is_own(&d, &theirs));
        assert_eq!(stale_locks(&d), vec![ours.clone()]);
        assert_eq!(clear_stale(&d).unwrap(), vec![ours.clone()]);
        assert!(!ours.exists() && theirs.exists() && !d.records().exists());
    }
}
