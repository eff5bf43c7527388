//! The directory trees a run changes, held in memory across its batches and written as git
//! tree objects after each batch.
//!
//! Why not libgit2's tree update builder: it re-reads and re-parses every directory on the
//! way to a changed path, per batch. The NES layout keeps each entity type in one flat
//! directory, 200k entries in a 1M-file repository, so every batch re-parsed megabytes of
//! the same trees; here each directory is read once per run and only serialised per batch.
//! The objects (trees here, blobs and commits in [`super::commit`]) are hashed by this
//! process and written by [`super::pack_file`], not looked up in the object store first.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::{bail, Context as _, Result};

use super::object_id::object_id;
use super::pack_file::RawObject;
use super::pack_fold::TreeDelta;
use super::tree_delta::tree_delta;

/// Git's mode of a directory entry.
const TREE_MODE: i32 = 0o040000;
/// Directories with fewer entries are dropped from memory after each write (their ids stay
/// in their parents); reading one again costs little, keeping thousands of them would not.
const KEEP_ENTRIES: usize = 1024;

/// An in-memory edit of a commit's tree.
pub(crate) struct TreeEditor<'r> {
    git: &'r git2::Repository,
    /// Directories read so far by path ("" is the root).
    dirs: HashMap<String, Dir>,
    /// Directories changed since the last [`TreeEditor::write`].
    dirty: BTreeSet<String>,
    /// The last written content of each directory kept in memory (the big ones), and the
    /// deltas from each such version to the one before it, for [`super::pack_fold`].
    last_written: HashMap<String, (git2::Oid, Vec<u8>)>,
    deltas: Vec<TreeDelta>,
}

/// One directory: entries keyed in git's order, where a directory sorts as its name plus `/`.
#[derive(Default)]
struct Dir {
    entries: BTreeMap<Vec<u8>, (i32, git2::Oid)>,
}

impl<'r> TreeEditor<'r> {
    /// An editor starting from the tree `base` (none: an empty tree).
    pub(crate) fn new(git: &'r git2::Repository, base: Option<git2::Oid>) -> Result<Self> {
        let root = match base {
            Some(id) => read_dir(git, id)?,
            None => Dir::default(),
        };
        Ok(Self {
            git,
            dirs: HashMap::from([(String::new(), root)]),
            dirty: BTreeSet::new(),
            last_written: HashMap::new(),
            deltas: Vec::new(),
        })
    }

    /// Sets the file at `path` (a repository-relative path with `/`) to the blob `id`.
    pub(crate) fn upsert(&mut self, path: &str, id: git2::Oid, mode: i32) -> Result<()> {
        let (dir, name) = split(path)?;
        self.load(dir)?;
        let entries = &mut self.dirs.get_mut(dir).expect("loaded").entries;
        // A directory of the same name is replaced, as git does.
        entries.remove(&dir_key(name));
        entries.insert(name.as_bytes().to_vec(), (mode, id));
        self.mark(dir);
        Ok(())
    }

    /// Removes the file at `path`; returns whether there was one.
    pub(crate) fn remove(&mut self, path: &str) -> Result<bool> {
        let (dir, name) = split(path)?;
        if !self.load(dir)? {
            return Ok(false);
        }
        let entries = &mut self.dirs.get_mut(dir).expect("loaded").entries;
        if entries.remove(name.as_bytes()).is_none() {
            return Ok(false);
        }
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
            let dir = self.dirs.get(&path).expect("changed directories are loaded");
            let data = serialize(dir);
            let id = object_id(git2::ObjectType::Tree, &data);
            if path.is_empty() {
                root = Some(id);
            } else {
                let empty = dir.entries.is_empty();
                let (parent, name) = split(&path)?;
                let entries = &mut self.dirs.get_mut(parent).expect("parents are loaded").entries;
                if empty {
                    entries.remove(&dir_key(name));
                } else {
                    // A file of the same name is replaced, as git does.
                    entries.remove(name.as_bytes());
                    entries.insert(dir_key(name), (TREE_MODE, id));
                }
                if empty || dir_is_small(&self.dirs, &path) {
                    self.dirs.remove(&path);
                    self.last_written.remove(&path);
                } else {
                    self.record_version(&path, id, &data);
                }
                if empty {
                    continue;
                }
            }
            // Identical directories (two version folders holding the same file) share a tree.
            if written.insert(id) {
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
            None => object_id(git2::ObjectType::Tree, &serialize(&self.dirs[""])),
        };
        Ok((root, trees))
    }

    /// The deltas recorded so far: each older version of a big directory against the next.
    pub(crate) fn take_deltas(&mut self) -> Vec<TreeDelta> {
        std::mem::take(&mut self.deltas)
    }

    /// Keeps a big directory's new content and records its previous version as a delta
    /// against it (the newest version stays whole, older ones become deltas).
    fn record_version(&mut self, path: &str, id: git2::Oid, data: &[u8]) {
        if let Some((old_id, old)) = self.last_written.get(path) {
            if *old_id != id {
                self.deltas.push(TreeDelta {
                    target: *old_id,
                    base: id,
                    delta: tree_delta(data, old),
                });
            }
        }
        self.last_written.insert(path.to_string(), (id, data.to_vec()));
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
            .then(|| self.dirs[parent].entries.get(&dir_key(name)).copied())
            .flatten();
        let loaded = match found {
            Some((_, id)) => read_dir(self.git, id)?,
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

fn dir_is_small(dirs: &HashMap<String, Dir>, path: &str) -> bool {
    dirs.get(path).is_some_and(|d| d.entries.len() < KEEP_ENTRIES)
}

fn read_dir(git: &git2::Repository, id: git2::Oid) -> Result<Dir> {
    let tree = git
        .find_tree(id)
        .with_context(|| format!("cannot read tree {id}"))?;
    let mut dir = Dir::default();
    for entry in tree.iter() {
        let mode = entry.filemode();
        let key = if mode == TREE_MODE {
            dir_key_bytes(entry.name_bytes())
        } else {
            entry.name_bytes().to_vec()
        };
        dir.entries.insert(key, (mode, entry.id()));
    }
    Ok(dir)
}

/// A tree object's content: `<octal mode> <name>\0<20-byte id>` per entry, in git's order.
fn serialize(dir: &Dir) -> Vec<u8> {
    let mut out = Vec::with_capacity(dir.entries.len() * 64);
    for (key, (mode, id)) in &dir.entries {
        let name = if *mode == TREE_MODE {
            &key[..key.len() - 1]
        } else {
            &key[..]
        };
        push_mode(&mut out, *mode);
        out.push(b' ');
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(id.as_bytes());
    }
    out
}

/// A mode in octal without leading zeros, as trees store it; the common ones without
/// formatting, since a 1M-file repository's directories are serialised 200k entries at a time.
fn push_mode(out: &mut Vec<u8>, mode: i32) {
    match mode {
        0o100644 => out.extend_from_slice(b"100644"),
        0o100755 => out.extend_from_slice(b"100755"),
        TREE_MODE => out.extend_from_slice(b"40000"),
        _ => out.extend_from_slice(format!("{mode:o}").as_bytes()),
    }
}

fn dir_key(name: &str) -> Vec<u8> {
    dir_key_bytes(name.as_bytes())
}

fn dir_key_bytes(name: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 1);
    key.extend_from_slice(name);
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
