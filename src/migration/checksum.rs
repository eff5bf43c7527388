//! The versioned checksum of a migration folder, recorded in commit trailers for drift checks.
//!
//! `v1:sha256:<hex>`: SHA-256 over every regular file below the folder, in bytewise order of
//! its `/`-separated relative path, each fed as `path NUL len NUL content` where `len` is the
//! decimal byte length of `content`, and `content` is the file with CRLF turned into LF when
//! it is valid UTF-8, else its raw bytes.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

/// The prefix naming the algorithm, so a later format can coexist with recorded `v1` values.
pub const CHECKSUM_PREFIX: &str = "v1:sha256:";

/// Computes the `v1` checksum of a migration folder.
///
/// Symlinks are not followed and not hashed: only regular files count.
pub fn folder_checksum(dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    for entry in WalkDir::new(dir).follow_links(false) {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if entry.file_type().is_file() {
            let relative = entry
                .path()
                .strip_prefix(dir)
                .expect("walkdir yields paths below its root");
            files.push((slash_path(relative), entry.into_path()));
        }
    }
    // Sorting the whole list, not walking in order: walkdir's per-directory order would put
    // `a/b` before `a-b`, whereas bytewise `-` (0x2d) sorts before `/` (0x2f).
    files.sort_by(|a, b| a.0.cmp(&b.0));

    let mut hasher = Sha256::new();
    for (relative, path) in &files {
        let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let content = normalized_content(bytes);
        hasher.update(relative);
        hasher.update([0]);
        hasher.update(content.len().to_string());
        hasher.update([0]);
        hasher.update(&content);
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(CHECKSUM_PREFIX.len() + 64);
    out.push_str(CHECKSUM_PREFIX);
    for byte in digest {
        write!(out, "{byte:02x}").expect("writing to a String cannot fail");
    }
    Ok(out)
}

/// The relative path as bytes joined by `/`, whatever the platform's separator.
fn slash_path(relative: &Path) -> Vec<u8> {
    let parts: Vec<&[u8]> = relative.iter().map(|c| c.as_encoded_bytes()).collect();
    parts.join(&b'/')
}

/// Text is hashed with LF line ends so a checkout with `core.autocrlf` gives the same
/// checksum; binary files are hashed as they are, since CRLF there is data.
fn normalized_content(bytes: Vec<u8>) -> Vec<u8> {
    match String::from_utf8(bytes) {
        Ok(text) => text.replace("\r\n", "\n").into_bytes(),
        Err(err) => err.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_only_normalised_in_text() {
        assert_eq!(normalized_content(b"a\r\nb\r".to_vec()), b"a\nb\r");
        assert_eq!(normalized_content(b"\xff\r\n".to_vec()), b"\xff\r\n");
    }

    #[test]
    fn slash_joined() {
        assert_eq!(slash_path(Path::new("a/b/c.csv")), b"a/b/c.csv");
    }

    #[test]
    fn known_digest_of_one_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "hi\r\n").unwrap();
        let expected = Sha256::digest(b"a.txt\x003\x00hi\n");
        let hex: String = expected.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(folder_checksum(dir.path()).unwrap(), format!("v1:sha256:{hex}"));
    }
}
