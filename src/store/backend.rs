//! Where the publication API reads and writes files: straight into the data repository's
//! working tree (a real run, undone from Git on failure) or into an in-memory overlay on
//! top of it (a dry run, which must write nothing).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// File access by repository-relative path (`v2/entity/person/foo.json`).
pub trait Backend: Send {
    /// The file's bytes, `None` when it does not exist.
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>>;
    /// Creates or replaces a file (parent directories included).
    fn write(&mut self, path: &str, bytes: &[u8]) -> io::Result<()>;
    /// Removes a file; removing a missing file is not an error.
    fn delete(&mut self, path: &str) -> io::Result<()>;
    /// Whether a file exists.
    fn exists(&self, path: &str) -> io::Result<bool>;
    /// Paths of the `*.json` files below `dir`, recursively, sorted.
    fn list_json(&self, dir: &str) -> io::Result<Vec<String>>;
}

/// Reads and writes the working tree directly.
#[derive(Debug, Clone)]
pub struct WorkTree {
    root: PathBuf,
}

impl WorkTree {
    /// A backend rooted at the data repository's working tree.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

fn read_opt(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn list_json_on_disk(root: &Path, dir: &str) -> io::Result<Vec<String>> {
    let base = root.join(dir);
    if !base.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&base).follow_links(false) {
        let entry = entry.map_err(io::Error::other)?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "json") {
            let rel = entry.path().strip_prefix(root).expect("walk stays below root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    out.sort();
    Ok(out)
}

impl Backend for WorkTree {
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        read_opt(&self.root.join(path))
    }

    fn write(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        let full = self.root.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(full, bytes)
    }

    fn delete(&mut self, path: &str) -> io::Result<()> {
        match std::fs::remove_file(self.root.join(path)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn exists(&self, path: &str) -> io::Result<bool> {
        self.root.join(path).try_exists()
    }

    fn list_json(&self, dir: &str) -> io::Result<Vec<String>> {
        list_json_on_disk(&self.root, dir)
    }
}

/// Keeps every write in memory over a read-only working tree.
#[derive(Debug, Clone)]
pub struct Overlay {
    root: PathBuf,
    /// `Some(bytes)` written, `None` deleted.
    changes: BTreeMap<String, Option<Vec<u8>>>,
}

impl Overlay {
    /// An empty overlay over the working tree at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            changes: BTreeMap::new(),
        }
    }
}

impl Backend for Overlay {
    fn read(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        match self.changes.get(path) {
            Some(change) => Ok(change.clone()),
            None => read_opt(&self.root.join(path)),
        }
    }

    fn write(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.changes.insert(path.to_string(), Some(bytes.to_vec()));
        Ok(())
    }

    fn delete(&mut self, path: &str) -> io::Result<()> {
        self.changes.insert(path.to_string(), None);
        Ok(())
    }

    fn exists(&self, path: &str) -> io::Result<bool> {
        match self.changes.get(path) {
            Some(change) => Ok(change.is_some()),
            None => self.root.join(path).try_exists(),
        }
    }

    fn list_json(&self, dir: &str) -> io::Result<Vec<String>> {
        let mut files = list_json_on_disk(&self.root, dir)?;
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        files.retain(|p| !self.changes.contains_key(p));
        files.extend(
            self.changes
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .filter(|(p, c)| c.is_some() && p.ends_with(".json"))
                .map(|(p, _)| p.clone()),
        );
        files.sort();
        Ok(files)
    }
}
