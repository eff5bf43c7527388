//! The ledger: which migrations ran, read from the data repository's history alone.
//!
//! The walk reads commit messages only (never trees or diffs): parsing a commit header from
//! the object database is cheap, and the `Nes-*` trailers carry everything the ledger needs.
//! The commits that carry trailers are cached in `<gitdir>/nes/ledger-cache.json` with the
//! HEAD they were read at; when HEAD has moved forward only the new commits are walked.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{Context as _, Result};

use super::message::{parse_trailers, Trailers};
use super::repo::DataRepo;

/// Where the original Python tool recorded its runs, at HEAD.
pub const PYTHON_LOGS_DIR: &str = "v2/migration-logs";

/// How the history records a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recorded {
    /// Every batch 1..n of one run is reachable from HEAD.
    Applied,
    /// Some but not all batches of a run are reachable: needs `nes migrate repair`.
    Partial,
}

/// What the history says about one migration name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LedgerEntry {
    /// `004-source-election-constituencies`.
    pub name: String,
    pub recorded: Recorded,
    /// Commits of the run that counts, oldest first (hex).
    pub commits: Vec<String>,
    pub run_id: Option<String>,
    /// Commit time of the last batch, RFC 3339.
    pub date: Option<String>,
    /// Commit author of the last batch.
    pub author: Option<String>,
    pub checksum: Option<String>,
    /// Recorded by `mark-applied` without running.
    pub baseline: bool,
    /// Recorded by the original Python tool (`v2/migration-logs/NNN-name/metadata.json`).
    pub python_log: bool,
    /// Some of its commits are not on the remote-tracking branch.
    pub unpushed: bool,
}

/// Every migration the history mentions, by name.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub entries: BTreeMap<String, LedgerEntry>,
}

impl Ledger {
    /// The entry of `name`, if the history records it (applied or partial).
    pub fn get(&self, name: &str) -> Option<&LedgerEntry> {
        self.entries.get(name)
    }

    /// Whether `name` is fully applied.
    pub fn is_applied(&self, name: &str) -> bool {
        self.get(name).is_some_and(|e| e.recorded == Recorded::Applied)
    }
}

/// Bumped whenever [`Marked`] changes shape, so an old cache is ignored.
const CACHE_VERSION: u32 = 1;

/// One commit carrying `Nes-*` trailers, in walk order (oldest first).
#[derive(serde::Serialize, serde::Deserialize)]
struct Marked {
    /// Hex id.
    oid: String,
    trailers: Trailers,
    author: String,
    /// Commit time: seconds since the epoch and the committer's offset in minutes.
    time: i64,
    offset_minutes: i32,
}

/// The marked commits reachable from `head`, as last computed.
#[derive(serde::Serialize, serde::Deserialize)]
struct LedgerCache {
    version: u32,
    head: String,
    marked: Vec<Marked>,
}

/// The commits of one run, as found in history.
struct Run {
    migration: String,
    run_id: String,
    total: u32,
    batches: HashSet<u32>,
    /// Indices into the marked commits, oldest first.
    commits: Vec<usize>,
    baseline: bool,
}

/// Reads the ledger from HEAD's history (a `Nes-Revert` later in history makes a migration
/// pending again) plus `v2/migration-logs/*/metadata.json` at HEAD.
pub fn read_ledger(repo: &DataRepo) -> Result<Ledger> {
    let Some(head) = repo.head_commit()? else {
        return Ok(Ledger::default());
    };
    let marked = marked_commits_cached(repo, head.id())?;
    let (runs, reverts) = group_runs(&marked);
    let unpushed = unpushed_commits(repo, head.id())?;
    let mut ledger = Ledger::default();
    for (migration, run) in latest_runs(&runs, &reverts) {
        ledger
            .entries
            .insert(migration.clone(), entry_for(run, &marked, &unpushed));
    }
    add_python_logs(repo, &head, &reverts, &mut ledger)?;
    Ok(ledger)
}

/// [`marked_commits`], through the cache: reused as is when HEAD has not moved, extended
/// with the new commits when HEAD moved forward, rebuilt otherwise (history rewritten).
fn marked_commits_cached(repo: &DataRepo, head: git2::Oid) -> Result<Vec<Marked>> {
    let git = repo.git();
    let path = repo.git_dir().join("nes").join("ledger-cache.json");
    let cached = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<LedgerCache>(&bytes).ok())
        .filter(|c| c.version == CACHE_VERSION);
    let marked = match cached {
        Some(cache) if cache.head == head.to_string() => return Ok(cache.marked),
        Some(cache) => match extended(git, cache, head)? {
            Some(marked) => marked,
            None => marked_commits(git, head, None)?.0,
        },
        None => marked_commits(git, head, None)?.0,
    };
    let cache = LedgerCache {
        version: CACHE_VERSION,
        head: head.to_string(),
        marked,
    };
    save_cache(&path, &cache);
    Ok(cache.marked)
}

/// The cached commits plus those HEAD gained since, or `None` when the cached head is not an
/// ancestor of HEAD. It is one exactly when some new commit has it as a parent: the commit
/// just above it on any path down from HEAD is new. That test needs no separate
/// merge-base walk.
fn extended(git: &git2::Repository, cache: LedgerCache, head: git2::Oid) -> Result<Option<Vec<Marked>>> {
    let Ok(base) = git2::Oid::from_str(&cache.head) else {
        return Ok(None);
    };
    if git.find_commit(base).is_err() {
        return Ok(None);
    }
    let (new, reached_base) = marked_commits(git, head, Some(base))?;
    if !reached_base {
        return Ok(None);
    }
    let mut marked = cache.marked;
    marked.extend(new);
    Ok(Some(marked))
}

/// Writes the cache atomically; a failure only costs the next read a full walk.
fn save_cache(path: &std::path::Path, cache: &LedgerCache) {
    let tmp = path.with_extension("json.tmp");
    let written = path
        .parent()
        .is_some_and(|dir| std::fs::create_dir_all(dir).is_ok())
        && serde_json::to_vec(cache).is_ok_and(|bytes| {
            crate::fault::step(|| format!("create {}", tmp.display()));
            std::fs::write(&tmp, bytes).is_ok()
        })
        && {
            crate::fault::step(|| format!("rename {} to {}", tmp.display(), path.display()));
            std::fs::rename(&tmp, path).is_ok()
        };
    if !written {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Commits reachable from `head` (and not from `since`) that carry `Nes-*` trailers, oldest
/// first, and whether one of the walked commits has `since` as a parent.
fn marked_commits(
    git: &git2::Repository,
    head: git2::Oid,
    since: Option<git2::Oid>,
) -> Result<(Vec<Marked>, bool)> {
    let mut walk = git.revwalk()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
    walk.push(head)?;
    if let Some(since) = since {
        walk.hide(since)?;
    }
    let mut marked = Vec::new();
    let mut reached_since = false;
    for oid in walk {
        let oid = oid?;
        let commit = git.find_commit(oid)?;
        reached_since |= since.is_some_and(|since| commit.parent_ids().any(|p| p == since));
        let trailers = parse_trailers(&String::from_utf8_lossy(commit.message_bytes()));
        if trailers.is_empty() {
            continue;
        }
        let author = commit.author();
        marked.push(Marked {
            oid: oid.to_string(),
            author: format!(
                "{} <{}>",
                String::from_utf8_lossy(author.name_bytes()),
                String::from_utf8_lossy(author.email_bytes())
            ),
            time: commit.time().seconds(),
            offset_minutes: commit.time().offset_minutes(),
            trailers,
        });
    }
    Ok((marked, reached_since))
}

/// Runs keyed by run id, and the walk position of the last revert of each migration.
fn group_runs(marked: &[Marked]) -> (HashMap<String, Run>, HashMap<String, usize>) {
    let mut runs: HashMap<String, Run> = HashMap::new();
    let mut reverts = HashMap::new();
    for (pos, commit) in marked.iter().enumerate() {
        let t = &commit.trailers;
        if let Some(name) = &t.revert {
            reverts.insert(name.clone(), pos);
        }
        let (Some(migration), Some((n, total))) = (&t.migration, t.batch) else {
            continue;
        };
        // A commit without a run id is its own run.
        let run_id = t.run.clone().unwrap_or_else(|| commit.oid.clone());
        let run = runs
            .entry(format!("{migration}\0{run_id}"))
            .or_insert_with(|| Run {
                migration: migration.clone(),
                run_id,
                total,
                batches: HashSet::new(),
                commits: Vec::new(),
                baseline: false,
            });
        run.total = run.total.max(total);
        run.batches.insert(n);
        run.commits.push(pos);
        run.baseline |= t.baseline;
    }
    (runs, reverts)
}

/// For each migration, its most recent run, unless a revert came after it.
fn latest_runs<'a>(
    runs: &'a HashMap<String, Run>,
    reverts: &HashMap<String, usize>,
) -> BTreeMap<&'a String, &'a Run> {
    let mut latest: BTreeMap<&String, &Run> = BTreeMap::new();
    for run in runs.values() {
        let last = last_pos(run);
        let newer = latest
            .get(&run.migration)
            .is_none_or(|other| last > last_pos(other));
        if newer {
            latest.insert(&run.migration, run);
        }
    }
    latest.retain(|name, run| reverts.get(*name).is_none_or(|&revert| last_pos(run) > revert));
    latest
}

fn last_pos(run: &Run) -> usize {
    run.commits.last().copied().unwrap_or(0)
}

fn entry_for(run: &Run, marked: &[Marked], unpushed: &HashSet<String>) -> LedgerEntry {
    let complete = (1..=run.total).all(|n| run.batches.contains(&n));
    let commits: Vec<&Marked> = run.commits.iter().map(|&i| &marked[i]).collect();
    let last = commits.last().expect("a run has at least one commit");
    LedgerEntry {
        name: run.migration.clone(),
        recorded: if complete {
            Recorded::Applied
        } else {
            Recorded::Partial
        },
        commits: commits.iter().map(|c| c.oid.clone()).collect(),
        run_id: Some(run.run_id.clone()),
        date: rfc3339(last.time, last.offset_minutes),
        author: Some(last.author.clone()),
        checksum: commits.iter().rev().find_map(|c| c.trailers.checksum.clone()),
        baseline: run.baseline,
        python_log: false,
        unpushed: commits.iter().any(|c| unpushed.contains(&c.oid)),
    }
}

/// A commit time as RFC 3339 in its own offset.
fn rfc3339(seconds: i64, offset_minutes: i32) -> Option<String> {
    let offset = chrono::FixedOffset::east_opt(offset_minutes * 60)?;
    let utc = chrono::DateTime::from_timestamp(seconds, 0)?;
    Some(utc.with_timezone(&offset).to_rfc3339())
}

/// Commits on HEAD that the branch's remote-tracking ref does not have; empty without one
/// (nothing to push to, so nothing is "unpushed").
fn unpushed_commits(repo: &DataRepo, head: git2::Oid) -> Result<HashSet<String>> {
    let Some(upstream) = upstream_oid(repo)? else {
        return Ok(HashSet::new());
    };
    let mut walk = repo.git().revwalk()?;
    walk.push(head)?;
    walk.hide(upstream)?;
    walk.map(|oid| oid.map(|o| o.to_string()).map_err(Into::into))
        .collect()
}

/// The remote-tracking commit of the checked-out branch: its configured upstream, else
/// `refs/remotes/origin/<branch>`.
pub fn upstream_oid(repo: &DataRepo) -> Result<Option<git2::Oid>> {
    let branch = repo.branch()?;
    let git = repo.git();
    if let Ok(local) = git.find_branch(&branch, git2::BranchType::Local) {
        if let Ok(upstream) = local.upstream() {
            return Ok(upstream.get().target());
        }
    }
    match git.find_reference(&format!("refs/remotes/origin/{branch}")) {
        Ok(reference) => Ok(reference.resolve()?.target()),
        Err(_) => Ok(None),
    }
}

/// Adds the migrations the Python tool logged under `v2/migration-logs/` at HEAD.
fn add_python_logs(
    repo: &DataRepo,
    head: &git2::Commit<'_>,
    reverts: &HashMap<String, usize>,
    ledger: &mut Ledger,
) -> Result<()> {
    let git = repo.git();
    let tree = head.tree()?;
    let Ok(logs) = tree.get_path(std::path::Path::new(PYTHON_LOGS_DIR)) else {
        return Ok(());
    };
    let Ok(logs) = logs.to_object(git)?.into_tree() else {
        return Ok(());
    };
    for dir in logs.iter() {
        let Some(name) = dir.name().map(str::to_string) else {
            continue;
        };
        let Ok(subtree) = dir.to_object(git)?.into_tree() else {
            continue;
        };
        let Some(metadata) = subtree.get_name("metadata.json") else {
            continue;
        };
        if let Some(entry) = ledger.entries.get_mut(&name) {
            entry.python_log = true;
            continue;
        }
        // A Nes revert supersedes the Python tool's record of the same migration.
        if reverts.contains_key(&name) {
            continue;
        }
        let blob = metadata
            .to_object(git)?
            .peel_to_blob()
            .with_context(|| format!("{PYTHON_LOGS_DIR}/{name}/metadata.json"))?;
        ledger
            .entries
            .insert(name.clone(), python_entry(&name, blob.content()));
    }
    Ok(())
}

/// An applied entry from a Python `metadata.json` (its fields are informative only).
fn python_entry(name: &str, metadata: &[u8]) -> LedgerEntry {
    let json: serde_json::Value = serde_json::from_slice(metadata).unwrap_or_default();
    let field = |key: &str| json.get(key).and_then(|v| v.as_str()).map(str::to_string);
    LedgerEntry {
        name: name.to_string(),
        recorded: Recorded::Applied,
        commits: Vec::new(),
        run_id: None,
        date: field("executed_at"),
        author: field("author"),
        checksum: None,
        baseline: false,
        python_log: true,
        unpushed: false,
    }
}
