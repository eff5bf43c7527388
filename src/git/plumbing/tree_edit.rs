//! The directory trees a run changes, held in memory across its batches and written as git
//! tree objects after each batch.
//!
//! Why not libgit2's tree update builder: it re-reads and re-parses every directory on the
//! way to a changed path, per batch. The NES layout keeps each entity type in one flat
//! directory, 200k entries in a 1M-file repository, so every batch re-parsed megabytes of
//! the same trees; here each directory is read once per run. A directory is kept as its
//! tree object's bytes, and a batch's edits are merged into them in one pass when it is
//! written: a sorted map of 200k entries, the first design, cost a batch a cache miss per
//! level per edit, and made a batch at 100k files 1.4x one at 10k.
//! The objects (trees here, blobs and commits by the caller) are hashed by this
//! process and written by [`super::pack_file`], not looked up in the object store first.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::{bail, Context as _, Result};

use super::object_id::object_id;
use super::pack_file::PackWriter;
use super::pack_file::RawObject;
use super::tree_delta::{tree_delta, TreeDelta};

/// Git's mode of a directory entry.
const TREE_MODE: i32 = 0o040000;
/// Directories of files with fewer entries are dropped from memory after each write (their
/// ids stay in their parents); reading one again costs little, keeping thousands of them (a
/// version directory per object) would not. Directories of directories are few and kept.
const KEEP_ENTRIES: usize = 1024;

/// An in-memory edit of a commit's tree.
pub(crate) struct TreeEditor<'r> {
    git: &'r git2::Repository,
    /// The pack this run's batches are written to, which holds the trees of earlier
    /// batches until it is finished.
    pending: Option<&'r RefCell<PackWriter>>,
    /// Directories read so far by path ("" is the root).
    dirs: HashMap<String, Dir>,
    /// Directories changed since the last [`TreeEditor::write`].
    dirty: BTreeSet<String>,
    /// Each older version of a big directory written since the last [`TreeEditor::take_deltas`],
    /// as a delta against the next, for [`super::pack_file::PackWriter`].
    deltas: Vec<TreeDelta>,
}

/// One directory: its tree object's content, and the edits made since.
#[derive(Default)]
struct Dir {
    /// `<octal mode> <name>\0<20-byte id>` per entry, in git's order: by key, where a
    /// directory's key is its name and `/`. Shared with the batch's [`RawObject`].
    data: std::sync::Arc<Vec<u8>>,
    /// Where each entry of `data` starts.
    starts: Vec<usize>,
    /// Edits not yet merged into `data`, by key: the new entry, or `None` to remove it.
    edits: BTreeMap<Vec<u8>, Option<(i32, git2::Oid)>>,
    /// The id of `data` when this run wrote it, so that its next version can carry it as a
    /// delta.
    written: Option<git2::Oid>,
}

impl<'r> TreeEditor<'r> {
    /// An editor starting from the tree `base` (none: an empty tree).
    pub(crate) fn new(git: &'r git2::Repository, base: Option<git2::Oid>) -> Result<Self> {
        let root = match base {
            Some(id) => read_dir(git, None, id)?,
            None => Dir::default(),
        };
        Ok(Self {
            git,
            pending: None,
            dirs: HashMap::from([(String::new(), root)]),
            dirty: BTreeSet::new(),
            deltas: Vec::new(),
        })
    }

    /// Reads trees that are not in the object store yet from `pack`, where earlier batches
    /// of the run wrote them.
    pub(crate) fn reading_from(mut self, pack: &'r RefCell<PackWriter>) -> Self {
        self.pending = Some(pack);
        self
    }

    /// Sets the file at `path` (a repository-relative path with `/`) to the blob `id`.
    pub(crate) fn upsert(&mut self, path: &str, id: git2::Oid, mode: i32) -> Result<()> {
        let (dir, name) = split(path)?;
        self.load(dir)?;
        let dir_entry = self.dirs.get_mut(dir).expect("loaded");
        // A directory of the same name is replaced, as git does.
        dir_entry.edits.insert(dir_key(name), None);
        dir_entry.edits.insert(name.as_bytes().to_vec(), Some((mode, id)));
        self.mark(dir);
        Ok(())
    }

    /// Removes the file at `path`; returns whether there was one.
    pub(crate) fn remove(&mut self, path: &str) -> Result<bool> {
        let (dir, name) = split(path)?;
        if !self.load(dir)? {
            return Ok(false);
        }
        let dir_entry = self.dirs.get_mut(dir).expect("loaded");
        if dir_entry.get(name.as_bytes()).is_none() {
            return Ok(false);
        }
        dir_entry.edits.insert(name.as_bytes().to_vec(), None);
        self.mark(dir);
        Ok(true)
    }

    /// Writes the changed directories, deepest first (a directory left empty disappears from
    /// its parent, as in git); returns the root tree's id and the tree objects, each once.
    pub(crate) fn write(&mut self) -> Result<(git2::Oid, Vec<RawObject>)> {
        let mut dirty: Vec<String> = std::mem::take(&mut self.dirty).into_iter().collect();
        dirty.sort_by_key(|d| std::cmp::Reverse(depth(d)));
        let mut trees: Vec<RawObject> = Vec::new();
        let mut written = HashSet::new();
        let mut root = None;
        for path in dirty {
            let dir = self.dirs.get_mut(&path).expect("changed directories are loaded");
            let old = dir.apply();
            let id = object_id(git2::ObjectType::Tree, &dir.data);
            let empty = dir.starts.is_empty();
            let data = if path.is_empty() {
                root = Some(id);
                dir.data.clone()
            } else {
                let (parent, name) = split(&path)?;
                let edits = &mut self.dirs.get_mut(parent).expect("parents are loaded").edits;
                if empty {
                    edits.insert(dir_key(name), None);
                } else {
                    // A file of the same name is replaced, as git does.
                    edits.insert(name.as_bytes().to_vec(), None);
                    edits.insert(dir_key(name), Some((TREE_MODE, id)));
                }
                let dir = self.dirs.get_mut(&path).expect("still loaded");
                let big = dir.starts.len() >= KEEP_ENTRIES;
                // Directories of directories are few, and every batch passes through them:
                // kept, they need not be read back from the run's unfinished pack.
                if empty || !(big || dir.holds_dirs()) {
                    self.dirs.remove(&path).expect("still loaded").data
                } else {
                    // The previous version becomes a delta against this one; this one stays whole.
                    if let (true, Some(previous), Some(old)) = (big, dir.written.filter(|p| *p != id), old) {
                        self.deltas.push(TreeDelta {
                            target: previous,
                            base: id,
                            delta: tree_delta(&dir.data, &old),
                        });
                    }
                    dir.written = Some(id);
                    dir.data.clone()
                }
            };
            // Identical directories (two version folders holding the same file) share a tree;
            // an empty one is gone, unless it is the root.
            if (!empty || path.is_empty()) && written.insert(id) {
                trees.push(RawObject {
                    id,
                    kind: git2::ObjectType::Tree,
                    data,
                });
            }
        }
        let root = match root {
            Some(id) => id,
            // Nothing changed: the root as it is.
            None => object_id(git2::ObjectType::Tree, &self.dirs[""].data),
        };
        Ok((root, trees))
    }

    /// The deltas recorded since the last call: each older version of a big directory
    /// against the next.
    pub(crate) fn take_deltas(&mut self) -> Vec<TreeDelta> {
        std::mem::take(&mut self.deltas)
    }

    /// Makes sure `dir` and its parents are in memory; returns whether `dir` exists (a
    /// missing one is created empty, to be filled). Parents are checked every time because
    /// small directories are dropped after a write while bigger ones below them stay.
    fn load(&mut self, dir: &str) -> Result<bool> {
        if dir.is_empty() {
            return Ok(true);
        }
        let (parent, name) = split(dir)?;
        let parent_exists = self.load(parent)?;
        if self.dirs.contains_key(dir) {
            return Ok(true);
        }
        let found = parent_exists
            .then(|| self.dirs[parent].get(&dir_key(name)))
            .flatten();
        let loaded = match found {
            Some(id) => read_dir(self.git, self.pending, id)?,
            None => Dir::default(),
        };
        self.dirs.insert(dir.to_string(), loaded);
        Ok(found.is_some())
    }

    /// Marks `dir` and every directory above it as changed.
    fn mark(&mut self, dir: &str) {
        let mut dir = dir;
        loop {
            if !self.dirty.insert(dir.to_string()) || dir.is_empty() {
                return;
            }
            dir = dir.rsplit_once('/').map_or("", |(parent, _)| parent);
        }
    }
}

impl Dir {
    /// A directory holding the tree object content `data`; fails when it is not one.
    fn from_data(data: Vec<u8>) -> Result<Self> {
        let mut starts = Vec::new();
        let mut at = 0;
        while at < data.len() {
            starts.push(at);
            let nul = data[at..]
                .iter()
                .position(|&b| b == 0)
                .context("a tree entry has no end to its name")?;
            if !data[at..at + nul].contains(&b' ') {
                bail!("a tree entry has no mode");
            }
            at += nul + 1 + 20;
            if at > data.len() {
                bail!("a tree entry is cut short");
            }
        }
        Ok(Self {
            data: data.into(),
            starts,
            ..Self::default()
        })
    }

    /// Whether an entry is a directory.
    fn holds_dirs(&self) -> bool {
        self.starts
            .iter()
            .any(|&at| self.data[at..].starts_with(b"40000 "))
    }

    /// The mode, name and id of the entry starting at `start` in `data`.
    fn entry_at(&self, start: usize) -> (&[u8], &[u8], git2::Oid) {
        let bytes = &self.data[start..];
        let space = bytes.iter().position(|&b| b == b' ').expect("checked when read");
        let nul = space
            + bytes[space..]
                .iter()
                .position(|&b| b == 0)
                .expect("checked when read");
        let id = git2::Oid::from_bytes(&bytes[nul + 1..nul + 21]).expect("20 bytes");
        (&bytes[..space], &bytes[space + 1..nul], id)
    }

    /// How the entry starting at `start` sorts against `key`.
    fn cmp_at(&self, start: usize, key: &[u8]) -> Ordering {
        let (mode, name, _) = self.entry_at(start);
        let slash: &[u8] = if mode == b"40000" { b"/" } else { b"" };
        name.iter().chain(slash).cmp(key.iter())
    }

    /// How entry `i` sorts against `key`.
    fn cmp_entry(&self, i: usize, key: &[u8]) -> Ordering {
        self.cmp_at(self.starts[i], key)
    }

    /// The id of the entry under `key` (a directory's key ends in `/`), edits included.
    fn get(&self, key: &[u8]) -> Option<git2::Oid> {
        if let Some(edit) = self.edits.get(key) {
            return edit.map(|(_, id)| id);
        }
        let at = self.position(0, key);
        (at < self.starts.len() && self.cmp_entry(at, key) == Ordering::Equal)
            .then(|| self.entry_at(self.starts[at]).2)
    }

    /// Merges the edits into `data` (unchanged runs of entries are copied whole); returns
    /// the content before, or `None` when there were no edits.
    fn apply(&mut self) -> Option<std::sync::Arc<Vec<u8>>> {
        if self.edits.is_empty() {
            return None;
        }
        let edits = std::mem::take(&mut self.edits);
        let n = self.starts.len();
        let end = |i: usize| if i < n { self.starts[i] } else { self.data.len() };
        let mut data = Vec::with_capacity(self.data.len() + edits.len() * 64);
        let mut starts = Vec::with_capacity(n + edits.len());
        let copy = |data: &mut Vec<u8>, starts: &mut Vec<usize>, from: usize, to: usize| {
            if from < to {
                let shift = data.len() as isize - self.starts[from] as isize;
                starts.extend(
                    self.starts[from..to]
                        .iter()
                        .map(|&s| (s as isize + shift) as usize),
                );
                data.extend_from_slice(&self.data[self.starts[from]..end(to)]);
            }
        };
        let mut next = 0;
        for (key, edit) in &edits {
            let at = self.position(next, key);
            copy(&mut data, &mut starts, next, at);
            next = at;
            if next < n && self.cmp_entry(next, key) == Ordering::Equal {
                next += 1;
            }
            if let Some((mode, id)) = edit {
                starts.push(data.len());
                let name = key
                    .strip_suffix(b"/")
                    .filter(|_| *mode == TREE_MODE)
                    .unwrap_or(key);
                push_entry(&mut data, *mode, name, id);
            }
        }
        copy(&mut data, &mut starts, next, n);
        self.starts = starts;
        Some(std::mem::replace(&mut self.data, data.into()))
    }

    /// The index of the first entry from `from` on that does not sort before `key`.
    fn position(&self, from: usize, key: &[u8]) -> usize {
        from + self.starts[from..].partition_point(|&start| self.cmp_at(start, key) == Ordering::Less)
    }
}

fn read_dir(git: &git2::Repository, pending: Option<&RefCell<PackWriter>>, id: git2::Oid) -> Result<Dir> {
    if let Some(data) = pending.map(|p| p.borrow().tree(id)).transpose()?.flatten() {
        return Dir::from_data(data).with_context(|| format!("tree {id} is damaged"));
    }
    let odb = git.odb().context("cannot open the object store")?;
    let object = odb.read(id).with_context(|| format!("cannot read tree {id}"))?;
    if object.kind() != git2::ObjectType::Tree {
        bail!("object {id} is a {}, not a tree", object.kind());
    }
    Dir::from_data(object.data().to_vec()).with_context(|| format!("tree {id} is damaged"))
}

/// Appends one tree entry: `<octal mode> <name>\0<20-byte id>`.
fn push_entry(out: &mut Vec<u8>, mode: i32, name: &[u8], id: &git2::Oid) {
    push_mode(out, mode);
    out.push(b' ');
    out.extend_from_slice(name);
    out.push(0);
    out.extend_from_slice(id.as_bytes());
}

/// A mode in octal without leading zeros, as trees store it; the common ones without
/// formatting.
fn push_mode(out: &mut Vec<u8>, mode: i32) {
    match mode {
        0o100644 => out.extend_from_slice(b"100644"),
        0o100755 => out.extend_from_slice(b"100755"),
        TREE_MODE => out.extend_from_slice(b"40000"),
        _ => out.extend_from_slice(format!("{mode:o}").as_bytes()),
    }
}

fn dir_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 1);
    key.extend_from_slice(name.as_bytes());
    key.push(b'/');
    key
}

/// `a/b/c.json` → (`a/b`, `c.json`); a top-level name's directory is "".
fn split(path: &str) -> Result<(&str, &str)> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if name.is_empty() || name == "." || name == ".." || path.starts_with('/') {
        bail!("`{path}` is not a repository-relative file path");
    }
    Ok((dir, name))
}

fn depth(path: &str) -> usize {
    if path.is_empty() {
        0
    } else {
        path.matches('/').count() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, git2::Repository) {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        (dir, repo)
    }

    /// The same edits through libgit2's tree builder, for comparison.
    fn libgit2_tree(
        git: &git2::Repository,
        base: Option<git2::Oid>,
        edits: &[(&str, Option<git2::Oid>)],
    ) -> git2::Oid {
        let base = match base {
            Some(id) => git.find_tree(id).unwrap(),
            None => git
                .find_tree(git.treebuilder(None).unwrap().write().unwrap())
                .unwrap(),
        };
        let mut update = git2::build::TreeUpdateBuilder::new();
        for (path, id) in edits {
            match id {
                Some(id) => update.upsert(*path, *id, git2::FileMode::Blob),
                None => update.remove(*path),
            };
        }
        update.create_updated(git, &base).unwrap()
    }

    fn store(git: &git2::Repository, trees: &[RawObject]) {
        let odb = git.odb().unwrap();
        for t in trees {
            assert_eq!(odb.write(t.kind, &t.data).unwrap(), t.id, "our tree id is git's");
        }
    }

    #[test]
    fn edits_give_the_trees_libgit2_gives() {
        let (_dir, git) = repo();
        let blob = |s: &str| git.blob(s.as_bytes()).unwrap();
        // Names chosen to sort differently as files and as directories ("a" < "a-b" < "a/").
        let first: Vec<(&str, Option<git2::Oid>)> = vec![
            ("v2/entity/person/a.json", Some(blob("1"))),
            ("v2/entity/person/a-b.json", Some(blob("2"))),
            ("v2/version/a/1.json", Some(blob("3"))),
            ("v2/version/a-b/1.json", Some(blob("4"))),
            ("v2/version/a.b/1.json", Some(blob("5"))),
            ("top.json", Some(blob("6"))),
        ];
        let mut editor = TreeEditor::new(&git, None).unwrap();
        for (path, id) in &first {
            editor.upsert(path, id.unwrap(), 0o100644).unwrap();
        }
        let (root, trees) = editor.write().unwrap();
        store(&git, &trees);
        assert_eq!(root, libgit2_tree(&git, None, &first));

        // A second batch on the first: an update, a removal that empties a directory, a
        // removal of a missing file, and a new file.
        let second: Vec<(&str, Option<git2::Oid>)> = vec![
            ("v2/entity/person/a.json", Some(blob("7"))),
            ("v2/version/a-b/1.json", None),
            ("v2/version/c/1.json", Some(blob("8"))),
        ];
        for (path, id) in &second {
            match id {
                Some(id) => editor.upsert(path, *id, 0o100644).unwrap(),
                None => assert!(editor.remove(path).unwrap()),
            }
        }
        assert!(!editor.remove("v2/version/zzz/1.json").unwrap());
        assert!(!editor.remove("v2/entity/person/missing.json").unwrap());
        let (next, trees) = editor.write().unwrap();
        store(&git, &trees);
        assert_eq!(next, libgit2_tree(&git, Some(root), &second));
        let tree = git.find_tree(next).unwrap();
        assert!(tree.get_path(std::path::Path::new("v2/version/a-b")).is_err());

        // A fresh editor from the written tree reads it back and goes on.
        let mut again = TreeEditor::new(&git, Some(next)).unwrap();
        assert!(again.remove("top.json").unwrap());
        let (last, trees) = again.write().unwrap();
        store(&git, &trees);
        assert_eq!(last, libgit2_tree(&git, Some(next), &[("top.json", None)]));
    }

    /// Applies `batch` to both the editor and libgit2 and checks they agree, removals'
    /// answers included; returns the new tree.
    fn check_batch(
        git: &git2::Repository,
        editor: &mut TreeEditor<'_>,
        base: Option<git2::Oid>,
        batch: &[(String, Option<git2::Oid>)],
    ) -> git2::Oid {
        let mut present: HashSet<String> = HashSet::new();
        let mut last: BTreeMap<&str, Option<git2::Oid>> = BTreeMap::new();
        if let Some(base) = base {
            git.find_tree(base)
                .unwrap()
                .walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                    if entry.kind() == Some(git2::ObjectType::Blob) {
                        present.insert(format!("{dir}{}", entry.name().unwrap()));
                    }
                    git2::TreeWalkResult::Ok
                })
                .unwrap();
        }
        let in_base = present.clone();
        for (path, id) in batch {
            last.insert(path, *id);
            match id {
                Some(id) => {
                    editor.upsert(path, *id, 0o100644).unwrap();
                    present.insert(path.clone());
                }
                None => assert_eq!(editor.remove(path).unwrap(), present.remove(path), "{path}"),
            }
        }
        let (root, trees) = editor.write().unwrap();
        store(git, &trees);
        // libgit2 takes each path once, and removals only of files that are there.
        let edits: Vec<(&str, Option<git2::Oid>)> = last
            .into_iter()
            .filter(|(p, id)| id.is_some() || in_base.contains(*p))
            .collect();
        assert_eq!(root, libgit2_tree(git, base, &edits));
        root
    }

    proptest::proptest! {
        /// Random batches of upserts and removals over directories whose names sort
        /// differently as files and as directories give libgit2's trees.
        #[test]
        fn random_batches_give_libgit2s_trees(
            batches in proptest::collection::vec(
                proptest::collection::vec((0..6usize, 0..30usize, 0..4u8), 1..40),
                1..5,
            )
        ) {
            let (_dir, git) = repo();
            let blobs: Vec<git2::Oid> = (0..3).map(|i| git.blob(format!("{i}").as_bytes()).unwrap()).collect();
            let dirs = ["", "a", "a-b", "a.b", "a/b", "a/b/c"];
            let mut editor = TreeEditor::new(&git, None).unwrap();
            let mut base = None;
            for batch in batches {
                let batch: Vec<(String, Option<git2::Oid>)> = batch
                    .into_iter()
                    .map(|(d, f, op)| {
                        let dir = dirs[d];
                        let path = if dir.is_empty() { format!("f{f}.json") } else { format!("{dir}/f{f}.json") };
                        // One op in four removes.
                        (path, (op < 3).then(|| blobs[op as usize]))
                    })
                    .collect();
                base = Some(check_batch(&git, &mut editor, base, &batch));
            }
        }
    }

    /// A directory big enough to be kept across batches: its trees match libgit2's, and
    /// each older version's recorded delta rebuilds it from the next.
    #[test]
    fn a_big_directory_across_batches() {
        let (_dir, git) = repo();
        let blob = git.blob(b"{}").unwrap();
        let other = git.blob(b"[]").unwrap();
        let mut editor = TreeEditor::new(&git, None).unwrap();
        let person = |i: usize| format!("v2/entity/person/p{i:05}.json");
        let first: Vec<_> = (0..1500).map(|i| (person(i), Some(blob))).collect();
        let mut base = Some(check_batch(&git, &mut editor, None, &first));
        let second: Vec<_> = (1500..1700)
            .map(|i| (person(i), Some(blob)))
            .chain((0..1500).step_by(7).map(|i| (person(i), None)))
            .chain((3..1500).step_by(11).map(|i| (person(i), Some(other))))
            .collect();
        base = Some(check_batch(&git, &mut editor, base, &second));
        let third: Vec<_> = (0..1700)
            .step_by(5)
            .map(|i| (person(i * 3 % 1700), Some(other)))
            .collect();
        check_batch(&git, &mut editor, base, &third);
        let deltas = editor.take_deltas();
        assert_eq!(deltas.len(), 2, "one per older version of the person directory");
        let odb = git.odb().unwrap();
        for d in &deltas {
            let base = odb.read(d.base).unwrap();
            let target = odb.read(d.target).unwrap();
            assert_eq!(
                super::super::tree_delta::apply(base.data(), &d.delta),
                target.data()
            );
        }
    }

    #[test]
    fn removing_everything_leaves_the_empty_tree() {
        let (_dir, git) = repo();
        let mut editor = TreeEditor::new(&git, None).unwrap();
        editor
            .upsert("a/b/c.json", git.blob(b"x").unwrap(), 0o100644)
            .unwrap();
        let (_, trees) = editor.write().unwrap();
        store(&git, &trees);
        assert!(editor.remove("a/b/c.json").unwrap());
        let (root, trees) = editor.write().unwrap();
        assert_eq!(root, git.treebuilder(None).unwrap().write().unwrap());
        assert_eq!(trees.len(), 1, "only the root is written");
    }

    #[test]
    fn paths_that_escape_are_refused() {
        let (_dir, git) = repo();
        let mut editor = TreeEditor::new(&git, None).unwrap();
        let id = git.blob(b"x").unwrap();
        for bad in ["", "a/", "/a", "a/..", "."] {
            assert!(editor.upsert(bad, id, 0o100644).is_err(), "{bad:?}");
        }
    }
}
