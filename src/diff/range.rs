//! Which two commits a diff compares, and which documents it keeps, from the words a user
//! types: revisions (`HEAD~2`, `a1b2c3d`, `main..HEAD`), a migration name (its batch
//! commits), IDs (`entity:person/x`) and path prefixes (`v2/entity/location`).

use std::path::Path;

use anyhow::{bail, Result};

use crate::error::NesError;
use crate::git::ledger::{self, PYTHON_LOGS_DIR};
use crate::git::message::parse_trailers;
use crate::git::repo::DataRepo;

/// The commits compared: `from` (`None`: the empty tree) to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub from: Option<git2::Oid>,
    pub to: git2::Oid,
    /// What the user asked for, for headings: `002-ward-name-fix`, `HEAD~1..HEAD`.
    pub label: String,
}

/// Repository-relative path prefixes a diff keeps; empty keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    prefixes: Vec<String>,
}

impl Filter {
    /// Adds an ID (`entity:person/x`, an ID prefix like `entity:location/ward`) or a path
    /// prefix (`v2/entity/person`): the documents and their version files.
    pub fn add(&mut self, spec: &str) {
        let stem = match spec.split_once(':') {
            Some((kind @ ("entity" | "relationship" | "author"), rest)) => {
                format!("{kind}/{}", rest.replace(':', "/"))
            }
            _ => {
                let rel = spec.strip_prefix("v2/").unwrap_or(spec);
                rel.strip_suffix(".json").unwrap_or(rel).to_string()
            }
        };
        let stem = stem.trim_end_matches('/');
        if spec.contains(':') && is_full_id(spec) {
            self.prefixes.push(format!("v2/{stem}.json"));
            self.prefixes.push(format!("v2/version/{stem}/"));
        } else {
            self.prefixes.push(format!("v2/{stem}"));
            self.prefixes.push(format!("v2/version/{stem}"));
        }
    }

    /// Whether `path` is kept.
    pub fn keeps(&self, path: &str) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| path.starts_with(p.as_str()))
    }
}

fn is_full_id(spec: &str) -> bool {
    use crate::store::id::{AuthorId, ObjectId};
    ObjectId::parse(spec).is_ok() || AuthorId::parse(spec).is_ok()
}

/// Whether a word names documents rather than commits.
pub fn is_document_spec(word: &str) -> bool {
    ["entity:", "relationship:", "author:", "v2/", "v2"]
        .iter()
        .any(|p| word.starts_with(p))
}

/// Resolves `revs` (at most two revisions, or one `A..B`, or one migration name) to a range.
/// With none, the last run: from the parent of its first commit to HEAD.
pub fn resolve(repo: &DataRepo, revs: &[String]) -> Result<Range> {
    let git = repo.git();
    let head = repo
        .head_commit()?
        .ok_or_else(|| NesError::usage("the data repository has no commits yet: nothing to diff"))?
        .id();
    match revs {
        [] => last_run(repo, head),
        [one] => {
            if let Some((a, b)) = one.split_once("..") {
                let b = if b.is_empty() { "HEAD" } else { b };
                return Ok(Range {
                    from: Some(commit(git, a)?),
                    to: commit(git, b)?,
                    label: one.clone(),
                });
            }
            if let Some(range) = migration(repo, one)? {
                return Ok(range);
            }
            Ok(Range {
                from: Some(commit(git, one)?),
                to: head,
                label: format!("{one}..HEAD"),
            })
        }
        [a, b] => Ok(Range {
            from: Some(commit(git, a)?),
            to: commit(git, b)?,
            label: format!("{a}..{b}"),
        }),
        _ => Err(NesError::usage("give at most two revisions (FROM and TO) before the IDs or paths").into()),
    }
}

fn commit(git: &git2::Repository, spec: &str) -> Result<git2::Oid> {
    git_commit(git, spec).ok_or_else(|| {
        NesError::usage(format!(
            "`{spec}` is not a commit of the data repository, nor a migration in its history"
        ))
        .hint("name a commit (`HEAD~1`, a hash), a migration that ran (`nes migrate status`), or an ID (`entity:…`) / path (`v2/…`)")
        .into()
    })
}

fn git_commit(git: &git2::Repository, spec: &str) -> Option<git2::Oid> {
    git.revparse_single(spec)
        .ok()?
        .peel_to_commit()
        .ok()
        .map(|c| c.id())
}

/// The ledger's name for `word`: the name itself or its unique numeric prefix (`002`).
fn find_migration(repo: &DataRepo, word: &str) -> Result<Option<ledger::LedgerEntry>> {
    let ledger = ledger::read_ledger(repo)?;
    if let Some(entry) = ledger.get(word) {
        return Ok(Some(entry.clone()));
    }
    let matches: Vec<_> = ledger
        .entries
        .values()
        .filter(|e| e.name.split('-').next() == Some(word))
        .collect();
    Ok(match matches.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    })
}

/// The range of a migration's batch commits, when `word` names one that ran.
fn migration(repo: &DataRepo, word: &str) -> Result<Option<Range>> {
    let Some(entry) = find_migration(repo, word)? else {
        return Ok(None);
    };
    let git = repo.git();
    let (first, last) = match (entry.commits.first(), entry.commits.last()) {
        (Some(first), Some(last)) => (git2::Oid::from_str(first)?, git2::Oid::from_str(last)?),
        _ => match python_commit(repo, &entry.name)? {
            Some(c) => (c, c),
            None => bail!(
                "{} is recorded as applied, but no commit of it was found",
                entry.name
            ),
        },
    };
    Ok(Some(Range {
        from: first_parent(git, first)?,
        to: last,
        label: entry.name,
    }))
}

/// The commit that added the original Python tool's log of `name`.
fn python_commit(repo: &DataRepo, name: &str) -> Result<Option<git2::Oid>> {
    let git = repo.git();
    let path = format!("{PYTHON_LOGS_DIR}/{name}/metadata.json");
    let mut walk = git.revwalk()?;
    walk.push_head()?;
    walk.simplify_first_parent()?;
    for oid in walk {
        let c = git.find_commit(oid?)?;
        if adds(&c, &path)? {
            return Ok(Some(c.id()));
        }
    }
    Ok(None)
}

/// Whether `commit` has `path` and its first parent does not.
fn adds(commit: &git2::Commit<'_>, path: &str) -> Result<bool> {
    let has = |c: &git2::Commit<'_>| -> Result<bool> { Ok(c.tree()?.get_path(Path::new(path)).is_ok()) };
    Ok(has(commit)?
        && !commit
            .parent(0)
            .ok()
            .map(|p| has(&p))
            .transpose()?
            .unwrap_or(false))
}

fn first_parent(git: &git2::Repository, oid: git2::Oid) -> Result<Option<git2::Oid>> {
    let c = git.find_commit(oid)?;
    Ok(c.parent_ids().next())
}

/// The last run (its batches, from HEAD back along first parents) up to HEAD.
fn last_run(repo: &DataRepo, head: git2::Oid) -> Result<Range> {
    let git = repo.git();
    let mut walk = git.revwalk()?;
    walk.push(head)?;
    walk.simplify_first_parent()?;
    let mut run: Option<(String, String, git2::Oid)> = None;
    // Commits after the last run that no migration wrote (a queue bot, a scraper, a hand fix).
    let mut others = 0;
    for oid in walk {
        let c = git.find_commit(oid?)?;
        let trailers = parse_trailers(c.message().unwrap_or(""));
        match (&run, trailers.migration, trailers.run) {
            (None, Some(name), Some(id)) => run = Some((name, id, c.id())),
            (Some((name, id, _)), Some(n), Some(r)) if *name == n && *id == r => {
                run = Some((n, r, c.id()));
            }
            (Some(_), _, _) => break,
            (None, _, _) => {
                if let Some(name) = python_log_added(git, &c)? {
                    run = Some((name, String::new(), c.id()));
                    break;
                }
                others += 1;
            }
        }
    }
    let later = match others {
        0 => String::new(),
        1 => ", and 1 later commit by another writer".to_string(),
        n => format!(", and {n} later commits by other writers"),
    };
    let (label, from) = match run {
        Some((name, _, first)) => (format!("last run: {name}{later}"), first_parent(git, first)?),
        None => ("whole history (no migration has run)".to_string(), None),
    };
    Ok(Range {
        from,
        to: head,
        label,
    })
}

/// The migration whose Python log `commit` added, if any.
fn python_log_added(git: &git2::Repository, commit: &git2::Commit<'_>) -> Result<Option<String>> {
    let logs = |c: &git2::Commit<'_>| -> Result<Option<git2::Oid>> {
        Ok(c.tree()?
            .get_path(Path::new(PYTHON_LOGS_DIR))
            .ok()
            .map(|e| e.id()))
    };
    let Some(now) = logs(commit)? else {
        return Ok(None);
    };
    if commit.parent(0).ok().map(|p| logs(&p)).transpose()?.flatten() == Some(now) {
        return Ok(None);
    }
    // The log directory changed: name the folder whose metadata this commit added. A run
    // of the Python tool added one; a commit adding several is an import by another writer
    // (the 2026 sample brings five logs with the data of a queue bot and a scraper), and
    // no migration wrote it.
    let Ok(dir) = git.find_tree(now) else {
        return Ok(None);
    };
    let mut added = None;
    for entry in dir.iter() {
        let Some(name) = entry.name() else { continue };
        if adds(commit, &format!("{PYTHON_LOGS_DIR}/{name}/metadata.json"))? {
            if added.is_some() {
                return Ok(None);
            }
            added = Some(name.to_string());
        }
    }
    Ok(added)
}

/// The migration that wrote `commit`: its `Nes-Migration` trailer, or the Python log it
/// added.
pub fn migration_of(git: &git2::Repository, commit: &git2::Commit<'_>) -> Result<Option<String>> {
    if let Some(name) = parse_trailers(commit.message().unwrap_or("")).migration {
        return Ok(Some(name));
    }
    python_log_added(git, commit)
}
