//! The versioned checksum of a migration folder, recorded in commit trailers for drift checks.
//!
//! `v1:sha256:<hex>`: SHA-256 over every regular file below the folder, in bytewise order of
//! its `/`-separated relative path, each fed as `path NUL len NUL content` where `len` is the
//! decimal byte length of `content`, and `content` is the file with CRLF turned into LF when
//! it is valid UTF-8, else its raw bytes.

use std::path::Path;

use anyhow::Result;

/// Computes the `v1` checksum of a migration folder.
pub fn folder_checksum(dir: &Path) -> Result<String> {
    todo!("{dir:?}")
}
