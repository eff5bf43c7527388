//! The old → new commit map a purge writes: one `old new` line per commit, parents first,
//! as git-filter-repo's `commit-map` (without its header line). A commit the purge left as
//! it was maps to itself.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use git2::Oid;

use crate::error::NesError;
use crate::git::repo::DataRepo;

/// `<gitdir>/nes/purge/commit-map`.
pub fn default_path(repo: &DataRepo) -> Result<PathBuf> {
    Ok(repo.nes_dir()?.join("purge").join("commit-map"))
}

/// The default map of the data repository at `db_repo`, found without opening it as a
/// [`DataRepo`] (the parent's command reads it from outside).
pub fn default_for(db_repo: &Path) -> Result<PathBuf> {
    let git = git2::Repository::open(db_repo).map_err(|e| {
        NesError::usage(format!(
            "cannot open the data repository {}: {e}",
            db_repo.display()
        ))
        .hint("name the commit map with --map, or the data repository with --db-repo")
    })?;
    Ok(git.path().join("nes").join("purge").join("commit-map"))
}

/// Writes the map of `order` (old ids, parents first) through `commits`, synced.
pub fn write(path: &Path, order: &[Oid], commits: &HashMap<Oid, Oid>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut text = String::with_capacity(order.len() * 82);
    for old in order {
        text.push_str(&format!("{old} {}\n", commits[old]));
    }
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Reads a commit map written by [`write`] (or by git-filter-repo: its header is skipped).
pub fn read(path: &Path) -> Result<HashMap<Oid, Oid>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        NesError::usage(format!("cannot read the commit map {}: {e}", path.display()))
            .hint("`nes db purge-history` writes it (default .git/nes/purge/commit-map of the data repository); name it with --map")
    })?;
    let mut map = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        let (Some(old), Some(new), None) = (words.next(), words.next(), words.next()) else {
            anyhow::bail!("{}:{}: expected `old new`, found {line:?}", path.display(), n + 1);
        };
        if old == "old" && new == "new" {
            continue;
        }
        let parse = |s: &str| {
            Oid::from_str(s)
                .with_context(|| format!("{}:{}: {s:?} is not a commit id", path.display(), n + 1))
        };
        map.insert(parse(old)?, parse(new)?);
    }
    Ok(map)
}
