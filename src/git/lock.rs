//! The run lock: one run at a time per data repository.
//!
//! `<gitdir>/nes/run.lock` holds who runs (JSON) and stays OS-locked (`flock`-style, via
//! [`std::fs::File::try_lock`]) for the life of the process. The OS drops that lock when the
//! process dies, however it dies, so a file nobody has locked is a stale leftover of a crash,
//! while a locked one belongs to a live run.
//! `File::try_lock` (Rust 1.89) sets the crate's minimum Rust version.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use super::repo::DataRepo;
use crate::error::NesError;

/// Who holds (or held) the lock, as stored in the lock file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub command: String,
}

impl LockHolder {
    /// This process.
    fn current() -> Self {
        Self {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            command: std::env::args().collect::<Vec<_>>().join(" "),
        }
    }

    /// Pid, host, start and command, for messages.
    pub fn describe(&self) -> String {
        format!(
            "pid {} on {}, started {} ({})",
            self.pid, self.host, self.started_at, self.command
        )
    }
}

/// Held for the duration of a run; released on drop.
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Path of the lock file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove the file while still holding the OS lock, so no one can take a lock on a
        // file that is about to disappear; `acquire` re-checks the path after locking anyway.
        if let Some(git_dir) = self.path.parent().and_then(|nes| nes.parent()) {
            super::own_lock::remove_records_dir(git_dir);
        }
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Path of the lock file of `repo`.
pub fn lock_path(repo: &DataRepo) -> Result<PathBuf> {
    Ok(repo.nes_dir()?.join("run.lock"))
}

/// Takes the lock in the repository's git directory. When another live process holds it,
/// fails at once with [`crate::error::ExitCode::Busy`] naming the holder (pid, host, start).
/// A lock left by a process of this host that is gone, with no interrupted run, is taken
/// over (said on stderr); any other stale lock is reported, and removed only when `break_lock`.
///
/// While an interrupted history rewrite's journal exists ([`super::rewrite_journal`]), the
/// lock is taken and released again and the command refused with the way out.
pub fn acquire(repo: &DataRepo, break_lock: bool) -> Result<RunLock> {
    let lock = acquire_during_rewrite(repo, break_lock)?;
    if let Some(refusal) = super::rewrite_journal::refusal(repo) {
        drop(lock);
        return Err(refusal.into());
    }
    Ok(lock)
}

/// [`acquire`] for the history rewrite itself, which must take the lock to finish or undo
/// an interrupted rewrite.
pub fn acquire_during_rewrite(repo: &DataRepo, break_lock: bool) -> Result<RunLock> {
    let path = lock_path(repo)?;
    // Another process may delete the file between our open and our lock; retry on a new one.
    for _ in 0..10 {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(busy(&path, read_holder(&mut file)).into()),
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        if !same_file(&file, &path) {
            continue;
        }
        if let Some(stale) = read_holder(&mut file) {
            // We hold the OS lock, so its holder is gone. When it was a process of this host
            // that is no longer running and it left no interrupted run, nothing is in the way
            // but the file: take it over instead of asking for --break-lock.
            let interrupted = super::recovery::interrupted(repo).ok().flatten().is_some();
            if !break_lock && (interrupted || !dead_here(&stale)) {
                let _ = file.unlock();
                return Err(stale_error(repo, &path, &stale).into());
            }
            if !break_lock {
                eprintln!(
                    "note: took over a stale run lock left by {} (no longer running)",
                    stale.describe()
                );
            }
        }
        write_holder(&mut file, &LockHolder::current())?;
        return Ok(RunLock { file, path });
    }
    anyhow::bail!(
        "could not take the lock {} (it kept being replaced); try again",
        path.display()
    )
}

/// The holder of the run lock when it is a live process (or one this host cannot check):
/// `None` when no run lock is there or its holder is gone. Takes no lock, for `status`.
pub fn live_holder(repo: &DataRepo) -> Option<LockHolder> {
    let mut file = File::open(lock_path(repo).ok()?).ok()?;
    let holder = read_holder(&mut file)?;
    (!dead_here(&holder)).then_some(holder)
}

/// The holder recorded in the lock file; `None` when empty or unreadable.
fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    if text.trim().is_empty() {
        return None;
    }
    Some(serde_json::from_str(&text).unwrap_or_else(|_| LockHolder {
        pid: 0,
        host: "unknown".into(),
        started_at: "unknown".into(),
        command: format!("unreadable lock file: {}", text.trim()),
    }))
}

fn write_holder(file: &mut File, holder: &LockHolder) -> Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(serde_json::to_string_pretty(holder)?.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_data()?;
    Ok(())
}

fn busy(path: &std::path::Path, holder: Option<LockHolder>) -> NesError {
    let who = holder.map_or_else(|| "another process".to_string(), |h| h.describe());
    NesError::busy(format!("the data repository is locked by a running nes: {who}"))
        .hint(format!("wait for it to finish (lock file: {})", path.display()))
}

/// The refusal for a lock whose holder died. When that process left an interrupted run
/// behind, the run is what needs resolving (exit code 1, `nes migrate repair`, which takes
/// over the stale lock); otherwise only the lock is in the way (exit code 2, `--break-lock`).
fn stale_error(repo: &DataRepo, path: &std::path::Path, holder: &LockHolder) -> NesError {
    if let Ok(Some(run)) = super::recovery::interrupted(repo) {
        return NesError::failed(format!(
            "run {} of {} was interrupted ({} of {} batches committed); its process is no longer \
             running and left a stale run lock: {}",
            run.run_id,
            run.name(),
            run.committed_batches,
            run.planned_batches,
            holder.describe()
        ))
        .hint(format!(
            "resolve it with `{}` (it takes over the stale lock; \
             `nes migrate status` shows the state)",
            run.repair_command()
        ));
    }
    NesError::usage(format!(
        "a stale run lock was left by a process that is no longer running: {}",
        holder.describe()
    ))
    .hint(format!(
        "check `nes migrate status` for an interrupted run, then retry with --break-lock (removes {})",
        path.display()
    ))
}

/// Whether the lock's holder was a process of this host that is no longer running.
#[cfg(unix)]
fn dead_here(holder: &LockHolder) -> bool {
    let here = gethostname::gethostname().to_string_lossy().into_owned();
    let Ok(pid) = libc::pid_t::try_from(holder.pid) else {
        return false;
    };
    if holder.host != here || pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn dead_here(_holder: &LockHolder) -> bool {
    false
}

/// Whether `file` is still the file at `path` (not unlinked by a releasing holder).
#[cfg(unix)]
fn same_file(file: &File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &std::path::Path) -> bool {
    path.exists()
}
