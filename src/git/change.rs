//! A change to one path of the working tree, as the commit, index and recovery code all
//! take it: the vocabulary they share, so none of them imports another for it.

use std::collections::BTreeMap;
use std::fs;

/// A change to one repository-relative path, already made in the working tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// The file was created or rewritten; its content is read from the working tree.
    Write(String),
    /// The file was removed.
    Delete(String),
}

impl FileChange {
    /// The repository-relative path.
    pub fn path(&self) -> &str {
        match self {
            FileChange::Write(p) | FileChange::Delete(p) => p,
        }
    }
}

/// The last change of each path, in path order (a batch may touch a path twice).
pub(crate) fn last_change_per_path<'a, I>(changes: I) -> BTreeMap<&'a str, &'a FileChange>
where
    I: IntoIterator<Item = &'a FileChange>,
{
    changes.into_iter().map(|c| (c.path(), c)).collect()
}

/// The git mode of a working-tree file.
#[cfg(unix)]
pub(crate) fn file_mode(metadata: &fs::Metadata) -> git2::FileMode {
    use std::os::unix::fs::PermissionsExt as _;
    if metadata.permissions().mode() & 0o111 != 0 {
        git2::FileMode::BlobExecutable
    } else {
        git2::FileMode::Blob
    }
}

#[cfg(not(unix))]
pub(crate) fn file_mode(_metadata: &fs::Metadata) -> git2::FileMode {
    git2::FileMode::Blob
}
