//! Every byte of a repository, to assert that a refused run changed nothing: HEAD, refs,
//! the index, the working tree, `.git/nes/` and the object store, file by file.

use std::collections::BTreeMap;
use std::path::Path;

/// Path (relative to the repository's root, `.git/...` included) → content; directories
/// as `<dir>/` with no content, so a created empty directory counts too.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<String, Vec<u8>>);

impl Snapshot {
    pub fn of(root: &Path) -> Self {
        let mut files = BTreeMap::new();
        for entry in walkdir::WalkDir::new(root).min_depth(1) {
            let entry = entry.expect("walk the repository");
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if entry.file_type().is_dir() {
                files.insert(format!("{rel}/"), Vec::new());
            } else {
                files.insert(rel, std::fs::read(entry.path()).expect("read a file"));
            }
        }
        Snapshot(files)
    }

    /// Panics naming the first paths that differ.
    pub fn assert_unchanged(&self, root: &Path) {
        let now = Snapshot::of(root);
        let mut changed: Vec<&String> = self
            .0
            .keys()
            .chain(now.0.keys())
            .filter(|k| self.0.get(*k) != now.0.get(*k))
            .collect();
        changed.dedup();
        assert!(changed.is_empty(), "the repository changed: {changed:?}");
    }
}
