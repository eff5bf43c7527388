//! The run lock: one run at a time per data repository.

use anyhow::Result;

use super::repo::DataRepo;

/// Held for the duration of a run; released on drop.
pub struct RunLock {
    _private: (),
}

/// Takes the lock in the repository's git directory. When another live process holds it,
/// fails at once with [`crate::error::ExitCode::Busy`] naming the holder (pid, host, start);
/// a lock left by a dead process is reported, and removed only when `break_lock`.
pub fn acquire(repo: &DataRepo, break_lock: bool) -> Result<RunLock> {
    todo!("{}{break_lock}", repo.root().display())
}
