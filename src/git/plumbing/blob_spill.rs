//! Blobs made ready for a pack while the run writes them: the writer thread that holds a
//! file's bytes also hashes them and compresses them into a pack entry, appended to a spill
//! file of its own under `.git/nes/spill/`. The batch commits then copy each entry as it is
//! into their packs, instead of reading every file back, hashing and compressing it again.
//!
//! Why: in a 10k-entity run the migration thread is the bottleneck and the writer thread is
//! idle two thirds of the time, while reading, hashing and compressing 20,000 files was
//! most of the commit phase. The entries live on disk, not in memory, so a 100k-entity run
//! holds only their positions.
//!
//! A file the spill does not know (one written by other means, or whose entry was not made)
//! is read from the working tree as before: the spill only ever saves work.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use flate2::Compress;

use super::object_id::blob_id;
use super::pack_entry::{compress_into, entry_header, LEVEL};
use super::pack_file::EncodedEntry;

/// The spill of one run. Removed from disk when dropped; a crash leaves it for the next run
/// to remove ([`BlobSpill::create`]).
#[derive(Debug)]
pub struct BlobSpill {
    dir: PathBuf,
    /// The entry of each path's last write, by repository-relative path.
    entries: Mutex<HashMap<String, Spilled>>,
    /// Spill files opened for reading, by writer number.
    readers: Mutex<HashMap<u32, Arc<File>>>,
    next_writer: std::sync::atomic::AtomicU32,
}

/// Where one blob's pack entry lies, and what it holds.
#[derive(Debug, Clone, Copy)]
struct Spilled {
    id: git2::Oid,
    mode: git2::FileMode,
    writer: u32,
    offset: u64,
    len: u32,
    crc: u32,
}

/// A blob ready for a pack: its id, mode and encoded entry.
pub(crate) struct ReadyBlob {
    pub mode: git2::FileMode,
    pub entry: EncodedEntry,
}

impl BlobSpill {
    /// A new spill in `git_dir/nes/spill`, removing whatever an interrupted run left there.
    /// Call it under the run lock.
    pub fn create(git_dir: &Path) -> io::Result<Arc<Self>> {
        let dir = git_dir.join("nes").join("spill");
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        fs::create_dir_all(&dir)?;
        Ok(Arc::new(Self {
            dir,
            entries: Mutex::new(HashMap::new()),
            readers: Mutex::new(HashMap::new()),
            next_writer: std::sync::atomic::AtomicU32::new(0),
        }))
    }

    /// A writer for one thread, with a spill file of its own.
    pub fn writer(self: &Arc<Self>) -> io::Result<SpillWriter> {
        let number = self
            .next_writer
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.file_path(number))?;
        Ok(SpillWriter {
            spill: Arc::clone(self),
            number,
            out: BufWriter::with_capacity(256 * 1024, file),
            written: 0,
            deflate: Compress::new(LEVEL, true),
            made: Vec::new(),
            broken: false,
        })
    }

    /// Forgets `path`'s entry: the file was deleted, or written by other means.
    pub fn forget(&self, path: &str) {
        lock(&self.entries).remove(path);
    }

    /// Number of paths with an entry.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether no path has an entry.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry of `path`'s last write, read from its spill file and forgotten (a path is
    /// committed once, and a 100k-file run's entries are ~25 MB); `None` when there is none.
    pub(crate) fn take(&self, path: &str) -> io::Result<Option<ReadyBlob>> {
        let spilled = {
            let mut entries = lock(&self.entries);
            let spilled = entries.remove(path);
            // The commits take every entry in turn; the table shrinks with them.
            if entries.len() * 4 < entries.capacity() && entries.capacity() > 1024 {
                entries.shrink_to_fit();
            }
            spilled
        };
        let Some(spilled) = spilled else {
            return Ok(None);
        };
        let file = self.reader(spilled.writer)?;
        let mut entry = vec![0; spilled.len as usize];
        read_at(&file, &mut entry, spilled.offset)?;
        // A damaged entry must not reach a pack; the file itself is still there to read.
        if crc32fast::hash(&entry) != spilled.crc {
            return Ok(None);
        }
        Ok(Some(ReadyBlob {
            mode: spilled.mode,
            entry: EncodedEntry {
                id: spilled.id,
                entry,
                crc: spilled.crc,
            },
        }))
    }

    fn reader(&self, writer: u32) -> io::Result<Arc<File>> {
        let mut readers = lock(&self.readers);
        if let Some(file) = readers.get(&writer) {
            return Ok(Arc::clone(file));
        }
        let file = Arc::new(File::open(self.file_path(writer))?);
        readers.insert(writer, Arc::clone(&file));
        Ok(file)
    }

    fn file_path(&self, writer: u32) -> PathBuf {
        self.dir.join(format!("blobs-{writer}"))
    }
}

impl Drop for BlobSpill {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Appends pack entries to one spill file; owned by one writer thread. A write that fails
/// (a full disk) stops it for good: its paths are forgotten from then on, and the commit
/// reads their files instead.
pub struct SpillWriter {
    spill: Arc<BlobSpill>,
    number: u32,
    out: BufWriter<File>,
    written: u64,
    /// A deflate state allocates and clears ~300 KB: one per writer, reset per blob.
    deflate: Compress,
    /// Entries written since the last [`SpillWriter::publish`].
    made: Vec<(String, Spilled)>,
    broken: bool,
}

impl SpillWriter {
    /// Hashes and compresses `bytes`, just written to `path` with `mode`, into the spill.
    /// The entry replaces the path's earlier one at the next [`SpillWriter::publish`].
    pub fn add(&mut self, path: &str, bytes: &[u8], mode: git2::FileMode) {
        if !self.broken {
            match self.encode(bytes, mode) {
                Ok(spilled) => {
                    self.made.push((path.to_string(), spilled));
                    return;
                }
                Err(_) => self.stop(),
            }
        }
        self.spill.forget(path);
    }

    fn encode(&mut self, bytes: &[u8], mode: git2::FileMode) -> io::Result<Spilled> {
        let mut entry = Vec::with_capacity(bytes.len() / 2 + 64);
        entry_header(3, bytes.len() as u64, &mut entry);
        compress_into(&mut self.deflate, bytes, &mut entry)?;
        let len = u32::try_from(entry.len()).map_err(io::Error::other)?;
        self.out.write_all(&entry)?;
        let spilled = Spilled {
            id: blob_id(bytes),
            mode,
            writer: self.number,
            offset: self.written,
            len,
            crc: crc32fast::hash(&entry),
        };
        self.written += entry.len() as u64;
        Ok(spilled)
    }

    /// Makes the entries added so far readable, then usable.
    pub fn publish(&mut self) {
        if self.made.is_empty() {
            return;
        }
        if self.out.flush().is_err() {
            self.stop();
            return;
        }
        let mut entries = lock(&self.spill.entries);
        for (path, spilled) in self.made.drain(..) {
            entries.insert(path, spilled);
        }
    }

    /// Gives up: the unpublished entries' paths are forgotten (their earlier entries are
    /// stale now), and so is every path added from now on.
    fn stop(&mut self) {
        self.broken = true;
        for (path, _) in std::mem::take(&mut self.made) {
            self.spill.forget(&path);
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_the_last_published_write_and_inflates_to_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let spill = BlobSpill::create(dir.path()).unwrap();
        let mut writer = spill.writer().unwrap();
        writer.add("a.json", b"first", git2::FileMode::Blob);
        assert!(
            spill.take("a.json").unwrap().is_none(),
            "not usable before publish"
        );
        writer.publish();
        writer.add("a.json", b"second version", git2::FileMode::BlobExecutable);
        writer.add("b.json", b"other", git2::FileMode::Blob);
        writer.publish();
        let blob = spill.take("a.json").unwrap().unwrap();
        assert_eq!(blob.entry.id, blob_id(b"second version"));
        assert_eq!(blob.mode, git2::FileMode::BlobExecutable);
        assert_eq!(blob.entry.crc, crc32fast::hash(&blob.entry.entry));
        // Type 3 (blob), size 14: one header byte; then a zlib stream of the content.
        assert_eq!(blob.entry.entry[0], (3 << 4) | 14);
        let mut data = Vec::with_capacity(64);
        flate2::Decompress::new(true)
            .decompress_vec(&blob.entry.entry[1..], &mut data, flate2::FlushDecompress::Finish)
            .unwrap();
        assert_eq!(data, b"second version");
        assert!(spill.take("a.json").unwrap().is_none(), "taken once");
        assert_eq!(spill.len(), 1);
        spill.forget("b.json");
        assert!(spill.take("b.json").unwrap().is_none());
        assert!(spill.is_empty());
    }

    #[test]
    fn a_new_spill_clears_what_a_crashed_run_left_and_a_dropped_one_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join("nes/spill/blobs-7");
        fs::create_dir_all(stale.parent().unwrap()).unwrap();
        fs::write(&stale, b"junk").unwrap();
        let spill = BlobSpill::create(dir.path()).unwrap();
        assert!(!stale.exists());
        let mut writer = spill.writer().unwrap();
        writer.add("x", b"x", git2::FileMode::Blob);
        writer.publish();
        drop(writer);
        drop(spill);
        assert!(!dir.path().join("nes/spill").exists());
    }
}
