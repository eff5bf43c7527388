//! The two sides of a diff: a commit's tree, or files held in memory over another side (a
//! dry run's overlay), and the list of paths that differ between two trees.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, Result};

/// One state of the data repository, read by repository-relative path.
pub trait State {
    /// The file's bytes, `None` when it does not exist in this state.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>>;
}

/// The files of a commit (`None`: the empty tree, before the first commit).
pub struct TreeState<'r> {
    repo: &'r git2::Repository,
    tree: Option<git2::Tree<'r>>,
    /// Blob ids already known from the tree diff, so reads skip the path lookup.
    known: HashMap<String, Option<git2::Oid>>,
}

impl<'r> TreeState<'r> {
    pub fn new(repo: &'r git2::Repository, tree: Option<git2::Tree<'r>>) -> Self {
        Self {
            repo,
            tree,
            known: HashMap::new(),
        }
    }

    /// Remembers the blob of each path on this side (`None`: absent here).
    pub fn with_known(mut self, blobs: impl IntoIterator<Item = (String, Option<git2::Oid>)>) -> Self {
        self.known.extend(blobs);
        self
    }

    fn blob(&self, oid: git2::Oid, path: &str) -> Result<Option<Vec<u8>>> {
        let blob = self
            .repo
            .find_blob(oid)
            .with_context(|| format!("reading {path}"))?;
        Ok(Some(blob.content().to_vec()))
    }
}

impl State for TreeState<'_> {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.known.get(path) {
            Some(Some(oid)) => return self.blob(*oid, path),
            Some(None) => return Ok(None),
            None => {}
        }
        let Some(tree) = &self.tree else {
            return Ok(None);
        };
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) => entry,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("looking up {path}")),
        };
        if entry.kind() != Some(git2::ObjectType::Blob) {
            return Ok(None);
        }
        self.blob(entry.id(), path)
    }
}

/// Files held in memory (`None`: deleted) over a `base` state for every other path.
pub struct MapState<'a> {
    pub files: HashMap<String, Option<Vec<u8>>>,
    pub base: &'a dyn State,
}

impl State for MapState<'_> {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.files.get(path) {
            Some(file) => Ok(file.clone()),
            None => self.base.read(path),
        }
    }
}

/// Files of a working tree on disk.
pub struct DirState<'a> {
    pub root: &'a Path,
}

impl State for DirState<'_> {
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match std::fs::read(self.root.join(path)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {path}")),
        }
    }
}

/// A file that differs between two trees: its blob on each side (`None`: absent).
#[derive(Debug, Clone)]
pub struct ChangedPath {
    pub path: String,
    pub old: Option<git2::Oid>,
    pub new: Option<git2::Oid>,
}

/// The files that differ between two trees, sorted by path, keeping those `keep` accepts.
pub fn changed_paths(
    repo: &git2::Repository,
    old: Option<&git2::Tree<'_>>,
    new: Option<&git2::Tree<'_>>,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<ChangedPath>> {
    let mut opts = git2::DiffOptions::new();
    opts.ignore_submodules(true).skip_binary_check(true);
    let diff = repo
        .diff_tree_to_tree(old, new, Some(&mut opts))
        .context("comparing the two commits")?;
    let mut paths = Vec::with_capacity(diff.deltas().len());
    for delta in diff.deltas() {
        let file = delta.new_file().path().or(delta.old_file().path());
        let Some(path) = file.and_then(Path::to_str) else {
            continue;
        };
        if keep(path) {
            let side = |f: git2::DiffFile<'_>| (!f.id().is_zero()).then(|| f.id());
            paths.push(ChangedPath {
                path: path.to_string(),
                old: side(delta.old_file()),
                new: side(delta.new_file()),
            });
        }
    }
    paths.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(paths)
}

/// A state read through a function: a backend, a map, anything that answers by path.
pub struct FnState<F>(pub F);

impl<F> State for FnState<F>
where
    F: Fn(&str) -> Result<Option<Vec<u8>>>,
{
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        (self.0)(path)
    }
}
