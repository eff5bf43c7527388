//! git's index file (`.git/index`, `Documentation/gitformat-index.txt`), read and written
//! as a byte stream.
//!
//! libgit2 builds an object per entry on load and re-hashes the whole file on read and write:
//! ~150 MB and seconds for a 1M-entry index, to change a few thousand entries. Here the old
//! index is read twice through a small buffer (first to count and to check that every part of
//! it is understood, then to merge) and the new one is written once, so memory stays at the
//! size of the buffers and of the updates.
//!
//! Versions 2, 3 and 4 are handled. Extensions that describe the entries as they were are
//! dropped rather than patched, all optional for git, which rebuilds them: the cache tree
//! (`TREE`), the untracked cache (`UNTR`), the fsmonitor state (`FSMN`) and the offset tables
//! (`EOIE`, `IEOT`). Resolve-undo (`REUC`) records past conflicts and is kept. A split index
//! (`link`), a sparse index (`sdir`, directory entries) or any other required extension makes
//! [`rewrite`] return [`Unsupported`] before anything is written, for the caller to use
//! libgit2 instead.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{bail, ensure, Context as _, Result};
use sha1::{Digest as _, Sha1};

/// Bytes of an entry before its path (stat data, object id, flags), versions 2-4.
const FIXED: usize = 62;
/// Entry flag: a second, extended flags field follows (version 3+).
const EXTENDED: u16 = 0x4000;
/// Entry flag bits holding the path length, `0xFFF` meaning "4095 or longer".
const NAME_MASK: u16 = 0x0FFF;
/// Mode of a sparse index's directory entry.
const DIRECTORY_MODE: u32 = 0o040000;
/// Read and write buffers: large enough to make syscalls rare, small beside 100 MB.
const BUFFER: usize = 1 << 20;

/// One index entry: raw stat fields and id as stored, flags, full path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// ctime s/ns, mtime s/ns, dev, ino, mode, uid, gid, size: ten big-endian u32s.
    pub stat: [u8; 40],
    pub id: [u8; 20],
    /// Flags without the length bits, which are derived from `path` on write.
    pub flags: u16,
    /// Version 3+ extended flags (skip-worktree, intent-to-add); 0 when absent.
    pub extended: u16,
    pub path: Vec<u8>,
}

impl Entry {
    /// A stage-0 entry with the given stat fields (in the order of [`Entry::stat`]).
    pub fn new(path: &[u8], id: [u8; 20], fields: [u32; 10]) -> Self {
        let mut stat = [0; 40];
        for (chunk, field) in stat.chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&field.to_be_bytes());
        }
        Self {
            stat,
            id,
            flags: 0,
            extended: 0,
            path: path.to_vec(),
        }
    }

    fn mode(&self) -> u32 {
        u32::from_be_bytes(self.stat[24..28].try_into().unwrap())
    }
}

/// The index uses something this module does not write; nothing was changed.
#[derive(Debug)]
pub(crate) struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unsupported git index: {}", self.0)
    }
}

impl std::error::Error for Unsupported {}

/// A path's new entry (`Some`) or its removal (`None`); every stage of the path is replaced.
pub(crate) type Update = (Vec<u8>, Option<Entry>);

/// Writes to `out` the index at `old` (absent: empty) with `updates` applied, in the old
/// index's version. `updates` must be sorted by path bytes, one per path: git's order.
/// Returns an [`Unsupported`] error, before writing anything, for indexes it cannot rewrite.
pub(crate) fn rewrite(old: &Path, updates: &[Update], out: File) -> Result<()> {
    debug_assert!(updates.windows(2).all(|w| w[0].0 < w[1].0));
    let Some(mut reader) = Reader::open(old)? else {
        return write_merged(None, updates, out, 2, count_writes(updates));
    };
    // Pass 1: the new entry count, needed by the header, and a check of the whole file.
    let (version, old_count) = (reader.version, reader.count);
    let mut replaced = 0usize;
    let mut entry = Entry::new(b"", [0; 20], [0; 10]);
    let mut next = 0usize;
    while reader.next_entry(&mut entry)? {
        if entry.mode() == DIRECTORY_MODE {
            bail!(Unsupported("sparse index (directory entries)".into()));
        }
        while next < updates.len() && updates[next].0 < entry.path {
            next += 1;
        }
        if next < updates.len() && updates[next].0 == entry.path {
            replaced += 1;
        }
    }
    while let Some((signature, size)) = reader.next_extension()? {
        if !signature[0].is_ascii_uppercase() {
            bail!(Unsupported(format!(
                "required extension `{}`{}",
                String::from_utf8_lossy(&signature),
                match &signature {
                    b"link" => " (split index)",
                    b"sdir" => " (sparse index)",
                    _ => "",
                }
            )));
        }
        reader.skip(size)?;
    }
    let count = old_count as usize - replaced + count_writes(updates);
    let reader = Reader::open(old)?.context("the git index disappeared while nes held index.lock")?;
    write_merged(Some(reader), updates, out, version, count)
}

fn count_writes(updates: &[Update]) -> usize {
    updates.iter().filter(|(_, e)| e.is_some()).count()
}

/// Pass 2: the merge, streamed from `old` to `out`.
fn write_merged(
    old: Option<Reader>,
    updates: &[Update],
    out: File,
    version: u32,
    count: usize,
) -> Result<()> {
    let count32 = u32::try_from(count).context("more than 4 billion index entries")?;
    let mut w = Writer::new(out, version);
    w.raw(b"DIRC")?;
    w.raw(&version.to_be_bytes())?;
    w.raw(&count32.to_be_bytes())?;
    let mut updates = updates.iter().peekable();
    if let Some(mut old) = old {
        let mut entry = Entry::new(b"", [0; 20], [0; 10]);
        while old.next_entry(&mut entry)? {
            while let Some((_, update)) = updates.next_if(|(p, _)| *p < entry.path) {
                if let Some(update) = update {
                    w.entry(update)?;
                }
            }
            // The update of this path replaces all its stages; written once the merge passes it.
            if updates.peek().is_some_and(|(p, _)| *p == entry.path) {
                continue;
            }
            w.entry(&entry)?;
        }
        for (_, update) in updates {
            if let Some(update) = update {
                w.entry(update)?;
            }
        }
        while let Some((signature, size)) = old.next_extension()? {
            if &signature == b"REUC" {
                w.raw(&signature)?;
                w.raw(&size.to_be_bytes())?;
                w.copy_from(&mut old, size)?;
            } else {
                old.skip(size)?;
            }
        }
    } else {
        for (_, update) in updates {
            if let Some(update) = update {
                w.entry(update)?;
            }
        }
    }
    ensure!(
        w.entries == count,
        "wrote {} index entries, expected {count}",
        w.entries
    );
    w.finish()
}

/// Sequential reader of an index file; the trailing checksum is not verified, as git does not
/// outside `git fsck`, but every length is checked against the file.
struct Reader {
    input: BufReader<File>,
    version: u32,
    count: u32,
    /// Entries still to read.
    left: u32,
    /// Bytes from the current position to the trailing checksum.
    body_left: u64,
}

impl Reader {
    fn open(path: &Path) -> Result<Option<Self>> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
        };
        let len = file.metadata()?.len();
        ensure!(len >= 12 + 20, "{} is truncated", path.display());
        let mut input = BufReader::with_capacity(BUFFER, file);
        let mut header = [0u8; 12];
        input.read_exact(&mut header)?;
        ensure!(&header[..4] == b"DIRC", "{} is not a git index", path.display());
        let version = u32::from_be_bytes(header[4..8].try_into().unwrap());
        if !(2..=4).contains(&version) {
            bail!(Unsupported(format!("index version {version}")));
        }
        let count = u32::from_be_bytes(header[8..12].try_into().unwrap());
        Ok(Some(Self {
            input,
            version,
            count,
            left: count,
            body_left: len - 12 - 20,
        }))
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<()> {
        ensure!(buf.len() as u64 <= self.body_left, "the git index is truncated");
        self.input.read_exact(buf)?;
        self.body_left -= buf.len() as u64;
        Ok(())
    }

    fn byte(&mut self) -> Result<u8> {
        let mut b = [0u8];
        self.read(&mut b)?;
        Ok(b[0])
    }

    /// Appends bytes up to a NUL (consumed, not appended) to `path`.
    fn read_to_nul(&mut self, path: &mut Vec<u8>) -> Result<()> {
        let start = path.len();
        let n = self.input.by_ref().take(self.body_left).read_until(0, path)?;
        ensure!(n > 0 && path.last() == Some(&0), "the git index is truncated");
        self.body_left -= n as u64;
        path.pop();
        ensure!(!path[start..].contains(&0), "malformed git index path");
        Ok(())
    }

    /// Reads the next entry into `e` (reusing its buffers); false after the last.
    fn next_entry(&mut self, e: &mut Entry) -> Result<bool> {
        if self.left == 0 {
            return Ok(false);
        }
        self.left -= 1;
        let mut fixed = [0u8; FIXED];
        self.read(&mut fixed)?;
        e.stat.copy_from_slice(&fixed[..40]);
        e.id.copy_from_slice(&fixed[40..60]);
        let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
        e.flags = flags & !NAME_MASK;
        e.extended = 0;
        let mut header_len = FIXED;
        if flags & EXTENDED != 0 {
            ensure!(self.version >= 3, "extended index flags in a version 2 index");
            let mut ext = [0u8; 2];
            self.read(&mut ext)?;
            e.extended = u16::from_be_bytes(ext);
            header_len += 2;
        }
        if self.version == 4 {
            let strip = self.varint()?;
            ensure!(strip <= e.path.len() as u64, "malformed version 4 index path");
            e.path.truncate(e.path.len() - strip as usize);
            self.read_to_nul(&mut e.path)?;
        } else {
            e.path.clear();
            let len = usize::from(flags & NAME_MASK);
            if len < usize::from(NAME_MASK) {
                e.path.resize(len, 0);
                let mut path = std::mem::take(&mut e.path);
                self.read(&mut path)?;
                e.path = path;
                ensure!(self.byte()? == 0, "malformed git index entry");
            } else {
                self.read_to_nul(&mut e.path)?;
            }
            // 1-8 NULs after the path, so that each entry's length is a multiple of 8.
            let padded = (header_len + e.path.len() + 8) & !7;
            let mut pad = [0u8; 8];
            self.read(&mut pad[..padded - header_len - e.path.len() - 1])?;
        }
        Ok(true)
    }

    /// git's offset varint (`decode_varint` in git's `varint.c`).
    fn varint(&mut self) -> Result<u64> {
        let mut c = self.byte()?;
        let mut value = u64::from(c & 0x7f);
        while c & 0x80 != 0 {
            c = self.byte()?;
            value = value
                .checked_add(1)
                .and_then(|v| v.checked_mul(128))
                .context("malformed varint in the git index")?
                + u64::from(c & 0x7f);
        }
        Ok(value)
    }

    /// The next extension's signature and size, after the last entry; `None` at the checksum.
    fn next_extension(&mut self) -> Result<Option<([u8; 4], u32)>> {
        if self.body_left == 0 {
            return Ok(None);
        }
        let mut header = [0u8; 8];
        self.read(&mut header)?;
        let size = u32::from_be_bytes(header[4..].try_into().unwrap());
        ensure!(u64::from(size) <= self.body_left, "the git index is truncated");
        Ok(Some((header[..4].try_into().unwrap(), size)))
    }

    fn skip(&mut self, size: u32) -> Result<()> {
        let n = io::copy(&mut self.input.by_ref().take(u64::from(size)), &mut io::sink())?;
        ensure!(n == u64::from(size), "the git index is truncated");
        self.body_left -= n;
        Ok(())
    }
}

/// Index writer hashing what it writes, for the trailing SHA-1.
struct Writer {
    out: BufWriter<File>,
    hash: Sha1,
    version: u32,
    /// Previous path, for version 4's prefix compression.
    previous: Vec<u8>,
    entries: usize,
}

impl Writer {
    fn new(out: File, version: u32) -> Self {
        Self {
            out: BufWriter::with_capacity(BUFFER, out),
            hash: Sha1::new(),
            version,
            previous: Vec::new(),
            entries: 0,
        }
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)?;
        Ok(())
    }

    fn entry(&mut self, e: &Entry) -> Result<()> {
        let mut header = [0u8; FIXED + 2];
        header[..40].copy_from_slice(&e.stat);
        header[40..60].copy_from_slice(&e.id);
        let name = e.path.len().min(usize::from(NAME_MASK)) as u16;
        let mut flags = (e.flags & !NAME_MASK & !EXTENDED) | name;
        let mut header_len = FIXED;
        if e.extended != 0 {
            ensure!(
                self.version >= 3,
                "extended index flags cannot be written in a version 2 index"
            );
            flags |= EXTENDED;
            header[FIXED..].copy_from_slice(&e.extended.to_be_bytes());
            header_len += 2;
        }
        header[60..62].copy_from_slice(&flags.to_be_bytes());
        self.raw(&header[..header_len])?;
        if self.version == 4 {
            let common = self
                .previous
                .iter()
                .zip(&e.path)
                .take_while(|(a, b)| a == b)
                .count();
            let mut varint = [0u8; 16];
            let n = encode_varint((self.previous.len() - common) as u64, &mut varint);
            self.raw(&varint[16 - n..])?;
            self.raw(&e.path[common..])?;
            self.raw(&[0])?;
            self.previous.clear();
            self.previous.extend_from_slice(&e.path);
        } else {
            self.raw(&e.path)?;
            let padded = (header_len + e.path.len() + 8) & !7;
            self.raw(&[0u8; 8][..padded - header_len - e.path.len()])?;
        }
        self.entries += 1;
        Ok(())
    }

    fn copy_from(&mut self, reader: &mut Reader, mut size: u32) -> Result<()> {
        let mut buf = [0u8; 8192];
        while size > 0 {
            let n = (size as usize).min(buf.len());
            reader.read(&mut buf[..n])?;
            self.raw(&buf[..n])?;
            size -= n as u32;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        let digest = self.hash.finalize();
        self.out.write_all(&digest)?;
        self.out.into_inner().map_err(io::IntoInnerError::into_error)?;
        Ok(())
    }
}

/// git's offset varint (`encode_varint`), written at the end of `buf`; returns its length.
fn encode_varint(mut value: u64, buf: &mut [u8; 16]) -> usize {
    let mut pos = buf.len() - 1;
    buf[pos] = (value & 0x7f) as u8;
    value >>= 7;
    while value != 0 {
        value -= 1;
        pos -= 1;
        buf[pos] = 0x80 | (value & 0x7f) as u8;
        value >>= 7;
    }
    buf.len() - pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips() {
        for value in [0u64, 1, 127, 128, 255, 16_383, 16_384, 1 << 40] {
            let mut buf = [0u8; 16];
            let n = encode_varint(value, &mut buf);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("v");
            std::fs::write(&path, &buf[16 - n..]).unwrap();
            let mut reader = Reader {
                input: BufReader::new(File::open(&path).unwrap()),
                version: 4,
                count: 0,
                left: 0,
                body_left: n as u64,
            };
            assert_eq!(reader.varint().unwrap(), value);
            assert_eq!(reader.body_left, 0);
        }
    }
}
