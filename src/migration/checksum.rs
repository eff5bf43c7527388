//! The versioned checksum of a migration folder, recorded in commit trailers for drift checks.
//!
//! `v2:sha256:<hex>` (written by runs since nes 0.1 issue 34): SHA-256 over every regular
//! file below the folder except the top-level `README.md`, in bytewise order of its
//! `/`-separated relative path, each fed as `path NUL len NUL content` where `len` is the
//! decimal byte length of `content`, and `content` is the file with CRLF turned into LF when
//! it is valid UTF-8, else its raw bytes. The README describes the migration and may be
//! corrected after it ran; the code and the sources are what ran, so they count.
//!
//! `v1:sha256:<hex>`: the same over every file, README included. Commits recorded with a
//! `v1` value are compared with the folder's `v1` checksum ([`checksum_like`]), so they keep
//! their meaning: for them a README edit is still drift.
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

/// The prefix of the checksum runs record now (`v2`: the README left out).
pub const CHECKSUM_PREFIX: &str = "v2:sha256:";

/// The prefix of the first format (every file), still found in older commits.
pub const CHECKSUM_V1_PREFIX: &str = "v1:sha256:";

/// The file a `v2` checksum leaves out: the migration's description, at the folder's top.
pub const README: &str = "README.md";

/// Computes the `v2` checksum of a migration folder, the one runs record.
///
/// Symlinks are not followed and not hashed: only regular files count.
pub fn folder_checksum(dir: &Path) -> Result<String> {
    checksum(dir, CHECKSUM_PREFIX, |relative| relative != README.as_bytes())
}

/// Computes the `v1` checksum of a migration folder: every regular file, README included.
pub fn folder_checksum_v1(dir: &Path) -> Result<String> {
    checksum(dir, CHECKSUM_V1_PREFIX, |_| true)
}

/// The folder's checksum in the format of `recorded`, so a value is only ever compared
/// with one computed the same way; `None` for a format nes does not know.
pub fn checksum_like(recorded: &str, dir: &Path) -> Result<Option<String>> {
    if recorded.starts_with(CHECKSUM_PREFIX) {
        folder_checksum(dir).map(Some)
    } else if recorded.starts_with(CHECKSUM_V1_PREFIX) {
        folder_checksum_v1(dir).map(Some)
    } else {
        Ok(None)
    }
}

fn checksum(dir: &Path, prefix: &str, counts: impl Fn(&[u8]) -> bool) -> Result<String> {
    let mut files = Vec::new();
    for entry in WalkDir::new(dir).follow_links(false) {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if entry.file_type().is_file() {
            let relative = entry
                .path()
                .strip_prefix(dir)
                .expect("walkdir yields paths below its root");
            let relative = slash_path(relative);
            if counts(&relative) {
                files.push((relative, entry.into_path()));
            }
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
    let mut out = String::with_capacity(prefix.len() + 64);
    out.push_str(prefix);
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
        assert_eq!(
            folder_checksum_v1(dir.path()).unwrap(),
            format!("v1:sha256:{hex}")
        );
        assert_eq!(folder_checksum(dir.path()).unwrap(), format!("v2:sha256:{hex}"));
        // The README is left out of v2 only: the same digest with one beside it.
        fs::write(dir.path().join("README.md"), "x").unwrap();
        assert_eq!(folder_checksum(dir.path()).unwrap(), format!("v2:sha256:{hex}"));
        assert_ne!(
            folder_checksum_v1(dir.path()).unwrap(),
            format!("v1:sha256:{hex}")
        );
    }
}
