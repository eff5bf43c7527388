//! Looking up many paths in one tree, reading each directory's tree object once.
//!
//! `Tree::get_path` walks from the root on every call, and libgit2 does not cache tree
//! objects over 4 KiB: in a data repository one type's flat directory is a tree of up to
//! hundreds of thousands of entries (megabytes), which a run touching 100k files would
//! otherwise read and parse 100k times.

use std::collections::HashMap;

use anyhow::Result;

/// An entry found at a path: its object id and git file mode.
pub type Found = (git2::Oid, i32);

/// Path lookups in one tree (`None`: an unborn branch's empty tree).
pub struct TreeLookup<'r> {
    git: &'r git2::Repository,
    root: Option<git2::Tree<'r>>,
    /// Directory path → its tree, `None` when the directory does not exist.
    dirs: HashMap<String, Option<git2::Tree<'r>>>,
}

impl<'r> TreeLookup<'r> {
    /// Lookups in `root`.
    pub fn new(git: &'r git2::Repository, root: Option<git2::Tree<'r>>) -> Self {
        Self {
            git,
            root,
            dirs: HashMap::new(),
        }
    }

    /// The entry at the slash-separated `path`, `None` when absent.
    pub fn entry(&mut self, path: &str) -> Result<Option<Found>> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let found = self
            .dir(dir)?
            .and_then(|tree| tree.get_name(name))
            .map(|e| (e.id(), e.filemode()));
        Ok(found)
    }

    /// The tree of directory `dir` ("" is the root).
    fn dir(&mut self, dir: &str) -> Result<Option<&git2::Tree<'r>>> {
        if dir.is_empty() {
            return Ok(self.root.as_ref());
        }
        if !self.dirs.contains_key(dir) {
            let tree = match self.entry(dir)? {
                Some((id, mode)) if mode == i32::from(git2::FileMode::Tree) => Some(self.git.find_tree(id)?),
                _ => None,
            };
            self.dirs.insert(dir.to_string(), tree);
        }
        Ok(self.dirs[dir].as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_files_and_directories_at_any_depth() {
        let tmp = tempfile::tempdir().unwrap();
        let git = git2::Repository::init(tmp.path()).unwrap();
        let blob = git.blob(b"x").unwrap();
        let mut update = git2::build::TreeUpdateBuilder::new();
        for path in ["a.json", "v2/entity/person/p.json", "v2/entity/person-x.json"] {
            update.upsert(path, blob, git2::FileMode::Blob);
        }
        let empty = git
            .find_tree(git.treebuilder(None).unwrap().write().unwrap())
            .unwrap();
        let root = git
            .find_tree(update.create_updated(&git, &empty).unwrap())
            .unwrap();
        let mut lookup = TreeLookup::new(&git, Some(root.clone()));
        for path in ["a.json", "v2/entity/person/p.json", "v2/entity/person-x.json"] {
            assert_eq!(lookup.entry(path).unwrap(), Some((blob, 0o100644)), "{path}");
        }
        let person = root
            .get_path(std::path::Path::new("v2/entity/person"))
            .unwrap()
            .id();
        assert_eq!(
            lookup.entry("v2/entity/person").unwrap(),
            Some((person, 0o040000))
        );
        for path in [
            "b.json",
            "v2/entity/org/o.json",
            "a.json/x",
            "v2/entity/person/q.json",
        ] {
            assert_eq!(lookup.entry(path).unwrap(), None, "{path}");
        }
        assert_eq!(TreeLookup::new(&git, None).entry("a.json").unwrap(), None);
    }
}
