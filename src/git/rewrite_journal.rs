//! The journal of a history rewrite (`nes db purge-history`): every ref it moves, with its
//! old and new id, written and synced before the first ref moves and removed once the
//! rewritten history is checked out and verified.
//!
//! While it exists the repository is half-way between two histories, so every command that
//! takes the run lock refuses ([`refusal`]) and names the two ways out: finish the rewrite,
//! or put every ref back. It lives in `git` (not with the purge) because the lock, the
//! crash report and the purge all need it.

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use super::repo::DataRepo;
use crate::error::NesError;

/// One ref the rewrite moves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefMove {
    /// Full name, `refs/heads/main`.
    pub name: String,
    /// Hex ids before and after the rewrite.
    pub old: String,
    pub new: String,
}

/// What a rewrite needs to finish or undo itself after an interruption.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RewriteJournal {
    pub refs: Vec<RefMove>,
    /// HEAD's branch (`refs/heads/main`): the one checked out after the refs move.
    pub head_ref: String,
    /// What the rewriting command wants back to check its result (e.g. the ledger it must
    /// leave unchanged); opaque here.
    pub note: serde_json::Value,
}

/// `<gitdir>/nes/purge/journal`.
pub fn path(repo: &DataRepo) -> Result<PathBuf> {
    Ok(repo.nes_dir()?.join("purge").join("journal"))
}

/// Writes the journal and syncs it and its directory: a crash after this call finds it.
pub fn write(repo: &DataRepo, journal: &RewriteJournal) -> Result<()> {
    let path = path(repo)?;
    let dir = path.parent().expect("the journal has a directory");
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join("journal.tmp");
    let bytes = serde_json::to_vec_pretty(journal)?;
    crate::fault::step(|| format!("write {}", tmp.display()));
    let mut file = fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    crate::fault::step(|| format!("rename {} into place", tmp.display()));
    fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))?;
    Ok(())
}

/// The journal of an unfinished rewrite, if one is there.
pub fn read(repo: &DataRepo) -> Result<Option<RewriteJournal>> {
    let path = path(repo)?;
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
            format!(
                "{} is damaged; it lists the refs an interrupted `nes db purge-history` moved",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Removes the journal: the rewrite is finished or undone.
pub fn remove(repo: &DataRepo) -> Result<()> {
    let path = path(repo)?;
    crate::fault::step(|| format!("unlink {}", path.display()));
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// The one-line state and its commands, for `status` and refusals.
pub const RECOVER: &str =
    "`nes db purge-history --resume` finishes it, `nes db purge-history --abort` puts every ref back";

/// The error of a command that would write while a rewrite is unfinished; `None` when
/// there is no journal.
pub fn refusal(repo: &DataRepo) -> Option<NesError> {
    let path = path(repo).ok()?;
    path.exists().then(|| {
        NesError::failed(format!(
            "a history rewrite (`nes db purge-history`) was interrupted: {} lists the refs it moves",
            path.display()
        ))
        .hint(format!("{RECOVER}; then run this command again"))
    })
}
