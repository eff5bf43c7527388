//! Migration folders as they are on disk now, compared with what the binary compiled in.

use std::path::{Path, PathBuf};

use super::naming;
use super::registry::Registry;

/// A folder under the migrations directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub name: String,
    /// `None` when the name breaks the naming rule.
    pub prefix: Option<u16>,
    pub path: PathBuf,
}

/// Every folder below `dir` (hidden ones skipped), sorted by name. A missing `dir` is empty.
pub fn folders(dir: &Path) -> std::io::Result<Vec<Folder>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let prefix = naming::parse_folder_name(&name).ok().map(|(p, _)| p);
        found.push(Folder {
            name,
            prefix,
            path: entry.path(),
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Folders on disk that the running binary does not contain (added after the build).
pub fn not_compiled(dir: &Path, registry: &Registry) -> std::io::Result<Vec<Folder>> {
    Ok(folders(dir)?
        .into_iter()
        .filter(|f| !registry.all().iter().any(|m| m.name == f.name))
        .collect())
}

/// The warning every command prints for folders that are not compiled in.
pub fn not_compiled_warning(folders: &[Folder]) -> Option<String> {
    if folders.is_empty() {
        return None;
    }
    let names: Vec<&str> = folders.iter().map(|f| f.name.as_str()).collect();
    Some(format!(
        "{} migration folder(s) on disk are not compiled into this binary: {}; rebuild with `cargo build` \
         (a folder with a bad name never compiles: see `cargo build` output)",
        names.len(),
        names.join(", ")
    ))
}
