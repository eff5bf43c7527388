//! Which files to check, and checking them in parallel.

use std::collections::{BTreeSet, HashSet};
use std::fs::FileType;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use walkdir::WalkDir;

use super::check::{chain_key, Checker, File, Outcome};
use super::cross::Acc;
use super::{Rule, Violation};
use crate::error::NesError;
use crate::store::json;
use crate::store::layout::DATA_DIR;
use crate::store::model;

/// `v2/migration-logs/` belongs to the original Python tool and holds no documents.
const LOGS: &str = "v2/migration-logs";

/// A progress spinner on stderr, only when asked for and stderr is a terminal.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn new(enabled: bool) -> Self {
        if !enabled || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} verify: {human_pos} files ({per_sec})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self(Some(bar))
    }

    fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Repository-relative path with `/` separators.
fn repo_relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let text = rel.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        text.into_owned()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// Every file below `dir` (a directory of `root`), skipping `migration-logs/`, streamed.
fn files_under(root: &Path, dir: PathBuf) -> impl Iterator<Item = walkdir::Result<String>> + Send + '_ {
    WalkDir::new(dir)
        .into_iter()
        .filter_entry(move |e| !(e.file_type().is_dir() && repo_relative(root, e.path()) == LOGS))
        .filter(|e| e.as_ref().map_or(true, |e| !e.file_type().is_dir()))
        .map(move |e| e.map(|e| repo_relative(root, e.path())))
}

/// Directories that hold NES documents below `v2/`, and so mark a document written
/// outside it when they stand at the repository root.
const DOCUMENT_DIRS: &[&str] = &["author", "entity", "relationship", "version"];

/// Files that look like NES documents but lie outside `v2/` (`entity/…` at the root, as
/// a scraper wrote them): the service never reads them. Other repository files
/// (`README.md`, `.nes/`) are not data and are not listed.
pub fn misplaced(root: &Path) -> anyhow::Result<Vec<Violation>> {
    let mut out = Vec::new();
    for dir in DOCUMENT_DIRS {
        let path = root.join(dir);
        if !path.is_dir() {
            continue;
        }
        for file in files_under(root, path) {
            let file = file?;
            out.push(Violation {
                rule: Rule::Misplaced,
                message: format!(
                    "a NES document outside {DATA_DIR}/, which the service never reads; move it to \
                     {DATA_DIR}/{file} if it is data (then verify it there), or remove it"
                ),
                path: file,
            });
        }
    }
    Ok(out)
}

/// What [`files_under`] yields, folded in parallel: every directory below `dir` is listed
/// by a rayon task of its own (the version tree has a directory per object, so there is
/// plenty to share out), and its files are folded with `fold` into per-task `T`s joined
/// with `merge`. `fold` is also given the entry's type, which is not followed if a link.
fn par_fold_files<T, F, M>(root: &Path, dir: &Path, fold: &F, merge: &M) -> anyhow::Result<T>
where
    T: Send + Default,
    F: Fn(T, String, FileType) -> anyhow::Result<T> + Sync,
    M: Fn(T, T) -> T + Sync,
{
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let ty = entry
            .file_type()
            .with_context(|| format!("reading {}", entry.path().display()))?;
        let path = entry.path();
        if !ty.is_dir() {
            files.push((repo_relative(root, &path), ty));
        } else if repo_relative(root, &path) != LOGS {
            dirs.push(path);
        }
    }
    let (here, below) = rayon::join(
        || {
            files
                .into_par_iter()
                .try_fold(T::default, |acc, (path, ty)| fold(acc, path, ty))
                .try_reduce(T::default, |a, b| Ok(merge(a, b)))
        },
        || {
            dirs.into_par_iter()
                .map(|d| par_fold_files(root, &d, fold, merge))
                .try_reduce(T::default, |a, b| Ok(merge(a, b)))
        },
    );
    Ok(merge(here?, below?))
}

/// Checks all of `v2/`, listing and checking directories in parallel.
pub fn check_all(checker: &Checker, progress: &Progress) -> anyhow::Result<Acc> {
    let root = checker.root;
    let data = root.join(DATA_DIR);
    if !data.is_dir() {
        return Ok(Acc::default()); // a fresh data repository has no documents yet
    }
    let fold = |acc: Acc, path: String, _| {
        progress.inc();
        anyhow::Ok(acc.add(checker.check_file(&path)))
    };
    par_fold_files(root, &data, &fold, &Acc::merge)
}

/// The regular files that references can point at (entities and authors), for
/// [`Checker::with_known`] in whole-repository runs. Links are left out: they are
/// resolved on disk, as before.
pub fn reference_targets(root: &Path) -> anyhow::Result<HashSet<String>> {
    let mut known = HashSet::new();
    for dir in ["entity", "author"] {
        let full = root.join(DATA_DIR).join(dir);
        if !full.is_dir() {
            continue;
        }
        let fold = |mut acc: Vec<String>, path, ty: FileType| {
            if ty.is_file() {
                acc.push(path);
            }
            anyhow::Ok(acc)
        };
        let merge = |mut a: Vec<String>, b: Vec<String>| {
            a.extend(b);
            a
        };
        known.extend(par_fold_files(root, &full, &fold, &merge)?);
    }
    Ok(known)
}

/// Checks the listed files that exist.
pub fn check_listed(checker: &Checker, files: &[String], progress: &Progress) -> Acc {
    check_present(checker, files, |p| checker.exists(p), progress)
}

/// [`check_listed`] of the files for which `exists` is true.
pub fn check_present(
    checker: &Checker,
    files: &[String],
    exists: impl Fn(&str) -> bool + Sync,
    progress: &Progress,
) -> Acc {
    files
        .par_iter()
        .filter(|p| exists(p))
        .map(|p| {
            progress.inc();
            checker.check_file(p)
        })
        .fold(Acc::default, Acc::add)
        .reduce(Acc::default, Acc::merge)
}

/// A user-given repository-relative path, tidied; `None` outside `v2/` or inside
/// `migration-logs/`.
pub fn normalize(path: &str) -> Option<String> {
    let path = path.replace('\\', "/");
    let path = path.trim_start_matches("./").trim_end_matches('/');
    let inside = path.starts_with("v2/") && !path.starts_with("v2/migration-logs/");
    inside.then(|| path.to_string())
}

/// Whether a repository-relative path is a version file's.
pub fn is_version(path: &str) -> bool {
    path.starts_with("v2/version/")
}

/// The files of `paths` (files or directories), for `verify_repo` with paths.
pub fn expand(root: &Path, paths: &[String]) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    for given in paths {
        let tidy = given.replace('\\', "/");
        let tidy = tidy.trim_start_matches("./").trim_end_matches('/');
        if tidy.split('/').any(|s| s == "..") || Path::new(tidy).is_absolute() {
            return Err(
                NesError::usage(format!("`{given}` must be a path inside the data repository")).into(),
            );
        }
        // The repository root or `v2` itself mean all documents.
        let tidy = if matches!(tidy, "" | "." | "v2") {
            DATA_DIR
        } else {
            tidy
        };
        let full = root.join(tidy);
        if full.is_dir() && tidy == DATA_DIR {
            files.extend(files_under(root, full).collect::<walkdir::Result<Vec<_>>>()?);
        } else if let Some(inside) = normalize(tidy) {
            if full.is_dir() {
                files.extend(files_under(root, full).collect::<walkdir::Result<Vec<_>>>()?);
            } else if full.is_file() {
                files.push(inside);
            } else {
                return Err(NesError::usage(format!("`{given}` does not exist")).into());
            }
        } else {
            let msg = format!(
                "`{given}` is not under v2/ (migration-logs/ excluded); only NES documents are verified"
            );
            return Err(NesError::usage(msg).into());
        }
    }
    Ok(files)
}

/// Adds to `files` the rest of each one's version chain: the object file and every
/// version file, so that chain rules see whole chains.
pub fn with_chains(root: &Path, files: Vec<String>) -> Vec<String> {
    let keys = chain_keys(&files);
    let mut all: BTreeSet<String> = files.into_iter().collect();
    all.extend(chain_files(root, &keys, &|_| false));
    all.into_iter().collect()
}

/// [`with_chains`] for files known to exist (`present`, a run's journal says so), with the
/// chains of `gone` (deleted version files) too: every path returned exists, so checking
/// them needs no [`Checker::exists`] first.
pub fn present_with_chains(root: &Path, present: Vec<String>, gone: &[String]) -> Vec<String> {
    let mut keys = chain_keys(&present);
    keys.extend(chain_keys(gone));
    let mut all: BTreeSet<String> = present.into_iter().collect();
    let listed = chain_files(root, &keys, &|object| all.contains(object));
    all.extend(listed);
    all.into_iter().collect()
}

/// The version-chain keys (`entity/person/ram`) of `files`.
fn chain_keys(files: &[String]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|f| chain_key(f.strip_prefix("v2/").unwrap_or(f)))
        .collect()
}

/// The object file and version files of each chain, from the working tree, listed on all
/// cores; an object file for which `known` is true is taken as it is, unchecked.
fn chain_files(root: &Path, keys: &BTreeSet<String>, known: &(dyn Fn(&str) -> bool + Sync)) -> Vec<String> {
    keys.par_iter()
        .flat_map_iter(|key| {
            let mut found = Vec::new();
            let object = format!("{DATA_DIR}/{key}.json");
            if known(&object) || root.join(&object).is_file() {
                found.push(object);
            }
            let dir = format!("{DATA_DIR}/version/{key}");
            if let Ok(entries) = std::fs::read_dir(root.join(&dir)) {
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if name.ends_with(".json") && entry.file_type().is_ok_and(|t| t.is_file()) {
                        found.push(format!("{dir}/{name}"));
                    }
                }
            }
            found
        })
        .collect()
}

/// Files that still refer to deleted (touched, now missing) entities or authors.
///
/// Entities are referred to by entity and relationship documents, authors by version
/// files (`author.id`). Only files whose bytes mention a deleted ID are parsed.
pub fn references_into(checker: &Checker, deleted: &[String]) -> anyhow::Result<Vec<Violation>> {
    let entities: BTreeSet<String> = deleted
        .iter()
        .filter_map(|p| p.strip_prefix("v2/entity/")?.strip_suffix(".json"))
        .map(|short| format!("entity:{short}"))
        .collect();
    let authors: BTreeSet<String> = deleted
        .iter()
        .filter_map(|p| p.strip_prefix("v2/author/")?.strip_suffix(".json"))
        .map(|slug| format!("author:{slug}"))
        .collect();
    let mut dirs = Vec::new();
    if !entities.is_empty() {
        dirs.extend(["entity", "relationship"]);
    }
    if !authors.is_empty() {
        dirs.push("version");
    }
    let root = checker.root;
    let needles: Vec<String> = entities
        .iter()
        .chain(&authors)
        .map(|id| format!("\"{id}\""))
        .collect();
    // With many needles, parsing everything beats searching for each.
    let prefilter = needles.len() <= 16;
    let mut found = Vec::new();
    for dir in dirs {
        let full = root.join(DATA_DIR).join(dir);
        if !full.is_dir() {
            continue;
        }
        let part = files_under(root, full)
            .par_bridge()
            .try_fold(Vec::new, |mut acc, path| {
                let path = path?;
                let Ok(bytes) = std::fs::read(root.join(&path)) else {
                    return anyhow::Ok(acc);
                };
                let text = String::from_utf8_lossy(&bytes);
                if prefilter && !needles.iter().any(|n| text.contains(n.as_str())) {
                    return Ok(acc);
                }
                let Ok(doc) = json::from_slice(&bytes) else {
                    return Ok(acc);
                };
                let mut file = File {
                    path: &path,
                    out: Outcome::default(),
                };
                if dir == "version" {
                    let id = doc
                        .get("author")
                        .and_then(|a| a.get("id"))
                        .and_then(|i| i.as_str());
                    if id.is_some_and(|id| authors.contains(id)) {
                        checker.author_reference(&mut file, &doc);
                    }
                } else {
                    for (at, target) in model::references(&doc) {
                        if entities.contains(&target) {
                            checker.reference(&mut file, &at, &target);
                        }
                    }
                }
                acc.extend(file.out.violations);
                Ok(acc)
            })
            .try_reduce(Vec::new, |mut a, b| {
                a.extend(b);
                Ok(a)
            })?;
        found.extend(part);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, rel: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"{}").unwrap();
    }

    /// The parallel walk lists exactly what walkdir does, links and logs included.
    #[test]
    fn parallel_walk_finds_what_walkdir_finds() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in [
            "v2/author/a.json",
            "v2/entity/person/ram.json",
            "v2/entity/location/ward/w-1.json",
            "v2/version/entity/person/ram/1.json",
            "v2/version/entity/person/ram/2.json",
            "v2/relationship/person/ram/party/x/MEMBER_OF.json",
            "v2/stray.txt",
            "v2/migration-logs/000-x/changes.diff",
            "v2/entity/migration-logs/kept.json",
        ] {
            put(root, rel);
        }
        std::fs::create_dir_all(root.join("v2/version/entity/empty")).unwrap();
        #[cfg(unix)]
        {
            let link = |to: &str, at: &str| std::os::unix::fs::symlink(root.join(to), root.join(at)).unwrap();
            link("v2/entity/person/ram.json", "v2/entity/person/link.json");
            link("v2/entity/location", "v2/entity/dir-link");
            link("v2/nowhere.json", "v2/entity/person/dangling.json");
        }
        let data = root.join(DATA_DIR);
        let mut walked: Vec<String> = files_under(root, data.clone()).map(Result::unwrap).collect();
        let fold = |mut acc: Vec<String>, path, _| {
            acc.push(path);
            anyhow::Ok(acc)
        };
        let merge = |mut a: Vec<String>, b: Vec<String>| {
            a.extend(b);
            a
        };
        let mut parallel = par_fold_files(root, &data, &fold, &merge).unwrap();
        walked.sort();
        parallel.sort();
        assert_eq!(parallel, walked);
        assert!(parallel.contains(&"v2/entity/migration-logs/kept.json".to_string()));
        assert!(!parallel.iter().any(|p| p.starts_with("v2/migration-logs/")));
        assert_eq!(parallel.len(), if cfg!(unix) { 11 } else { 8 });
    }

    /// Only regular entity and author files are taken as known reference targets.
    #[test]
    fn reference_targets_are_regular_entity_and_author_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in [
            "v2/author/a.json",
            "v2/entity/person/ram.json",
            "v2/version/entity/person/ram/1.json",
        ] {
            put(root, rel);
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            root.join("v2/entity/person/ram.json"),
            root.join("v2/entity/person/link.json"),
        )
        .unwrap();
        let mut known: Vec<String> = reference_targets(root).unwrap().into_iter().collect();
        known.sort();
        assert_eq!(known, ["v2/author/a.json", "v2/entity/person/ram.json"]);
    }
}
