//! Where things live in a data repository: `v2/` for NES documents, `.nes/` for ours.

/// Directory of NES documents, relative to the data repository root.
pub const DATA_DIR: &str = "v2";

/// Directory of everything `nes` itself keeps in a data repository (never under `v2/`).
pub const NES_DIR: &str = ".nes";

/// Repository-relative path of a `v2/`-relative path.
pub fn repo_path(rel: &str) -> String {
    format!("{DATA_DIR}/{rel}")
}

/// What a file under `v2/` holds, judged by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Entity,
    Relationship,
    Version,
    Author,
    /// `migration-logs/` of the original Python tool.
    MigrationLog,
    Other,
}

/// Classifies a `v2/`-relative path.
pub fn classify(rel: &str) -> FileKind {
    let first = rel.split('/').next().unwrap_or("");
    match first {
        "entity" => FileKind::Entity,
        "relationship" => FileKind::Relationship,
        "version" => FileKind::Version,
        "author" => FileKind::Author,
        "migration-logs" => FileKind::MigrationLog,
        _ => FileKind::Other,
    }
}
