//! Writes the objects of a run's batch commits as one pack file and its index
//! (gitformat-pack(5)), batch by batch as they are built.
//!
//! Why not libgit2's `PackBuilder`: it searches for deltas between every pair of similar
//! objects in a window and compresses on one thread; for a batch of a thousand new entity
//! files that search and compression were half the time of a run. Why not its pack writer
//! (the indexer): it reads back, inflates and re-hashes every object just written, whose ids
//! the caller already knows; that was a fifth of a run.
//!
//! Why one pack for the whole run: nothing points at a batch's commit before every batch
//! is built and the run's files verified, so there is no reason for a pack per batch. A
//! pack per batch, folded into one at the end, wrote every entry twice and synced each
//! file: a fifth of a 10k-entity run's commit work.
//!
//! The big directory trees every batch rewrites (the flat type directories: 1 MB at 100k
//! files, 11 MB at 1M) are held back until the next batch writes their directory again,
//! then written as a delta against that next version ([`super::tree_delta`]); the newest
//! version is written whole when the run ends, as git keeps it, so reading HEAD costs no
//! delta. Those deltas name their base by id (`REF_DELTA`), because the base comes later in
//! the pack: git itself writes such packs when it completes a thin pack. Tests check the
//! packs with `git fsck --strict` and `git verify-pack`.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use flate2::Compress;
use rayon::prelude::*;
use sha1::{Digest as _, Sha1};

use super::pack_entry::{compress_into, encode_entry, entry_header, pack_type, parse_entry_header, LEVEL};
use super::tree_delta::TreeDelta;

/// An object to pack: its id, its kind and its content (without git's `"<kind> <size>\0"`
/// header, which its id covers).
pub(crate) struct RawObject {
    pub id: git2::Oid,
    pub kind: git2::ObjectType,
    /// Shared with the tree editor, which keeps a big directory's tree for the next batch:
    /// a copy per batch of a 1M-file repository's 11 MB trees was memory and time.
    pub data: Arc<Vec<u8>>,
}

/// An object already encoded as a pack entry (header and zlib stream), with the CRC32 of
/// the entry: a blob from the run's spill ([`super::blob_spill`]).
pub(crate) struct EncodedEntry {
    pub id: git2::Oid,
    pub entry: Vec<u8>,
    pub crc: u32,
}

/// Trees from this size on wait for their directory's next version ([`PackWriter`]). Every
/// directory the tree editor keeps between batches (1,024 entries or more, at least 28 KiB)
/// is this big; a smaller tree held back by it is only written later, whole.
const HOLD_TREES_FROM: usize = 16 * 1024;

/// Longest chain of deltas to reach an object, as git's default `pack.depth`: reading an
/// old version of a directory applies at most this many deltas.
const MAX_DEPTH: usize = 50;

/// The pack format's type number of an entry that is a delta against an object named by id.
const REF_DELTA: u8 = 7;

/// One object's entry in a pack: its CRC32 and where it starts.
#[derive(Debug, Clone, Copy)]
struct PackedEntry {
    id: git2::Oid,
    offset: u64,
    crc: u32,
}

/// A big tree not written yet ([`HOLD_TREES_FROM`]).
struct Held {
    data: Arc<Vec<u8>>,
    /// How many older versions reach this one through deltas: its own would be one more.
    chain: usize,
}

/// A pack being written in `objects/pack` under a temporary name, batch by batch
/// ([`PackWriter::add`]); [`PackWriter::finish`] makes it a pack git reads. Dropped
/// unfinished, it removes its file: a run that fails leaves no objects behind.
pub(crate) struct PackWriter {
    dir: PathBuf,
    tmp: PathBuf,
    /// `None` once finished.
    out: Option<BufWriter<File>>,
    /// Bytes written so far: the offset of the next entry.
    written: u64,
    /// Bytes handed to the disk already ([`PackWriter::start_writeback`]).
    sent: u64,
    entries: Vec<PackedEntry>,
    /// Every object written or held, so that each is in the pack once.
    known: HashSet<git2::Oid>,
    held: HashMap<git2::Oid, Held>,
    /// The entry of each whole tree written, by its index in `entries` (4 bytes, not the
    /// entry's 32: a 100k-entity run writes ~100k trees).
    trees: HashMap<git2::Oid, u32>,
    /// The file again, for reading: the tree editor reads back directories that an earlier
    /// batch wrote and that no object store has yet.
    reader: File,
    deflate: Compress,
}

impl PackWriter {
    /// Starts a pack in `pack_dir` (a repository's `objects/pack`).
    pub(crate) fn create(pack_dir: &Path) -> Result<Self> {
        let tmp = temp_path(pack_dir, "pack");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let reader = File::open(&tmp).with_context(|| format!("cannot open {}", tmp.display()))?;
        let mut pack = Self {
            dir: pack_dir.to_path_buf(),
            tmp,
            out: Some(BufWriter::with_capacity(1 << 20, file)),
            written: 0,
            sent: 0,
            entries: Vec::new(),
            known: HashSet::new(),
            held: HashMap::new(),
            trees: HashMap::new(),
            reader,
            deflate: Compress::new(LEVEL, true),
        };
        // The object count is only known at the end: `finish` writes it over this.
        pack.write(&pack_header(0))?;
        Ok(pack)
    }

    /// Adds one batch's new objects: `ready` entries as they are, `objects` compressed on
    /// every core, each at most once per pack. Big trees wait for their directory's next
    /// version; `deltas` (this batch's, from the tree editor) turn those they target into
    /// deltas against it.
    pub(crate) fn add(
        &mut self,
        objects: &[RawObject],
        ready: &[EncodedEntry],
        deltas: &[TreeDelta],
    ) -> Result<()> {
        for entry in ready {
            if self.known.insert(entry.id) {
                self.write_entry(entry.id, &entry.entry, entry.crc)?;
            }
        }
        let mut fresh = Vec::with_capacity(objects.len());
        for object in objects {
            if !self.known.insert(object.id) {
                continue;
            }
            if object.kind == git2::ObjectType::Tree && object.data.len() >= HOLD_TREES_FROM {
                let data = Arc::clone(&object.data);
                self.held.insert(object.id, Held { data, chain: 0 });
            } else {
                fresh.push(object);
            }
        }
        // Biggest first, so that no big object is left to compress alone at the end.
        fresh.sort_by_key(|o| std::cmp::Reverse(o.data.len()));
        let encoded: Vec<Vec<u8>> = fresh
            .par_iter()
            // A deflate state allocates and clears ~300 KB: one per worker, reset per object.
            .map_init(
                || Compress::new(LEVEL, true),
                |deflate, o| encode_entry(deflate, pack_type(o.kind), &o.data),
            )
            .collect::<std::io::Result<_>>()
            .context("cannot compress the objects")?;
        for (object, entry) in fresh.iter().zip(&encoded) {
            if object.kind == git2::ObjectType::Tree {
                self.note_tree(object.id)?;
            }
            self.write_entry(object.id, entry, crc32fast::hash(entry))?;
        }
        for d in deltas {
            let Some(target) = self.held.remove(&d.target) else {
                continue;
            };
            // Only against a base still held: one already written might itself be a delta
            // against this target (a directory back to an earlier version).
            match self.held.get_mut(&d.base) {
                Some(base) if d.base != d.target && target.chain < MAX_DEPTH => {
                    base.chain = base.chain.max(target.chain + 1);
                    let mut entry = Vec::with_capacity(d.delta.len() / 2 + 64);
                    entry_header(REF_DELTA, d.delta.len() as u64, &mut entry);
                    entry.extend_from_slice(d.base.as_bytes());
                    compress_into(&mut self.deflate, &d.delta, &mut entry)?;
                    self.write_entry(d.target, &entry, crc32fast::hash(&entry))?;
                }
                _ => {
                    let entry =
                        encode_entry(&mut self.deflate, pack_type(git2::ObjectType::Tree), &target.data)?;
                    self.note_tree(d.target)?;
                    self.write_entry(d.target, &entry, crc32fast::hash(&entry))?;
                }
            }
        }
        // What the next batch's editor reads back must be in the file.
        let path = &self.tmp;
        self.out
            .as_mut()
            .expect("not finished")
            .flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.start_writeback();
        Ok(())
    }

    /// Asks the kernel to start writing the bytes added since the last call to disk, without
    /// waiting: the sync in [`PackWriter::finish`] then has little left to wait for (a 10k-entity
    /// run's 26 MB pack took up to 0.2 s to sync at the end on ext4). Git's
    /// `core.fsyncMethod=batch` does the same. Elsewhere than Linux, the sync does it all.
    fn start_writeback(&mut self) {
        #[cfg(target_os = "linux")]
        if let (Some(out), Ok(offset), Ok(len)) = (
            self.out.as_ref(),
            i64::try_from(self.sent),
            i64::try_from(self.written - self.sent),
        ) {
            use std::os::unix::io::AsRawFd as _;
            // SAFETY: a plain system call on an open descriptor this writer owns; it reads no
            // memory. A failure only leaves the work to the final sync.
            unsafe {
                libc::sync_file_range(
                    out.get_ref().as_raw_fd(),
                    offset,
                    len,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }
        self.sent = self.written;
    }

    /// Records that the next entry written is the whole tree `id`.
    fn note_tree(&mut self, id: git2::Oid) -> Result<()> {
        let at = u32::try_from(self.entries.len()).context("too many objects for one pack")?;
        self.trees.insert(id, at);
        Ok(())
    }

    /// The content of a tree this pack holds whole (`None`: not here): the editor reads
    /// back small directories that an earlier batch of the run wrote.
    pub(crate) fn tree(&self, id: git2::Oid) -> Result<Option<Vec<u8>>> {
        if let Some(held) = self.held.get(&id) {
            return Ok(Some(held.data.to_vec()));
        }
        let Some(&at) = self.trees.get(&id) else {
            return Ok(None);
        };
        let at = at as usize;
        let offset = self.entries[at].offset;
        let end = self.entries.get(at + 1).map_or(self.written, |next| next.offset);
        let mut entry = vec![0; usize::try_from(end - offset)?];
        let mut reader = &self.reader;
        reader
            .seek(SeekFrom::Start(offset))
            .and_then(|_| reader.read_exact(&mut entry))
            .with_context(|| format!("cannot read {}", self.tmp.display()))?;
        let (type_bits, size, header) =
            parse_entry_header(&entry).context("a pack entry's header is cut short")?;
        anyhow::ensure!(
            type_bits == pack_type(git2::ObjectType::Tree),
            "entry {id} of {} is not a whole tree",
            self.tmp.display()
        );
        let mut data = Vec::with_capacity(usize::try_from(size)?);
        flate2::Decompress::new(true)
            .decompress_vec(&entry[header..], &mut data, flate2::FlushDecompress::Finish)
            .with_context(|| format!("tree {id} in {} is damaged", self.tmp.display()))?;
        anyhow::ensure!(
            data.len() as u64 == size,
            "tree {id} in {} is cut short",
            self.tmp.display()
        );
        Ok(Some(data))
    }

    /// Writes the trees still held, whole, then the object count, the checksum and the
    /// index; both files are synced and then renamed into place, pack first, so a reader
    /// never sees an index without its pack. Returns the pack's path.
    pub(crate) fn finish(mut self) -> Result<PathBuf> {
        let mut held: Vec<(git2::Oid, Held)> = std::mem::take(&mut self.held).into_iter().collect();
        // By id: any order is valid, this one makes the pack the same for the same run.
        held.sort_unstable_by_key(|(id, _)| *id);
        let encoded: Vec<Vec<u8>> = held
            .par_iter()
            .map_init(
                || Compress::new(LEVEL, true),
                |deflate, (_, h)| encode_entry(deflate, pack_type(git2::ObjectType::Tree), &h.data),
            )
            .collect::<std::io::Result<_>>()
            .context("cannot compress the directory trees")?;
        for ((id, _), entry) in held.iter().zip(&encoded) {
            self.write_entry(*id, entry, crc32fast::hash(entry))?;
        }
        drop((held, encoded, std::mem::take(&mut self.trees)));
        let out = self.out.take().expect("finished once");
        let count = u32::try_from(self.entries.len()).context("too many objects for one pack")?;
        let pack_sum = self.seal(out, count)?;
        let idx_tmp = temp_path(&self.dir, "idx");
        let indexed = write_durably(&idx_tmp, &encode_index(&mut self.entries, &pack_sum)?);
        let name = format!("pack-{}", hex(&pack_sum));
        let pack = self.dir.join(format!("{name}.pack"));
        let placed = indexed
            .and_then(|()| rename(&self.tmp, &pack))
            .and_then(|()| rename(&idx_tmp, &self.dir.join(format!("{name}.idx"))));
        if placed.is_err() {
            let _ = fs::remove_file(&idx_tmp);
            let _ = fs::remove_file(&self.tmp);
        }
        placed.map(|()| pack)
    }

    /// Writes the object count over the header, appends the checksum of the whole file
    /// (read back: the header changed), syncs it and makes it read-only, as git keeps packs.
    fn seal(&mut self, out: BufWriter<File>, count: u32) -> Result<[u8; 20]> {
        let path = self.tmp.display().to_string();
        let mut file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {path}"))?;
        let mut sum = Sha1::new();
        (|| -> std::io::Result<()> {
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&pack_header(count))?;
            file.seek(SeekFrom::Start(0))?;
            let mut buffer = vec![0; 1 << 20];
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                sum.update(&buffer[..n]);
            }
            Ok(())
        })()
        .with_context(|| format!("cannot checksum {path}"))?;
        let sum: [u8; 20] = sum.finalize().into();
        file.write_all(&sum)
            .with_context(|| format!("cannot write {path}"))?;
        file.sync_all().with_context(|| format!("cannot sync {path}"))?;
        make_read_only(&file, &self.tmp)?;
        Ok(sum)
    }

    fn write_entry(&mut self, id: git2::Oid, entry: &[u8], crc: u32) -> Result<()> {
        self.entries.push(PackedEntry {
            id,
            offset: self.written,
            crc,
        });
        self.write(entry)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.written += bytes.len() as u64;
        self.out
            .as_mut()
            .expect("not finished")
            .write_all(bytes)
            .with_context(|| format!("cannot write {}", self.tmp.display()))
    }
}

impl Drop for PackWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A pack's header: signature, version 2, object count.
fn pack_header(count: u32) -> [u8; 12] {
    let mut header = [0; 12];
    header[..4].copy_from_slice(b"PACK");
    header[4..8].copy_from_slice(&2u32.to_be_bytes());
    header[8..].copy_from_slice(&count.to_be_bytes());
    header
}

/// Writes `bytes` and their SHA-1 to a new file at `path`, synced and read-only.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let written = (|| -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let sum: [u8; 20] = Sha1::digest(bytes).into();
        file.write_all(bytes)
            .and_then(|()| file.write_all(&sum))
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        make_read_only(&file, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(path);
    }
    written
}

fn make_read_only(file: &File, path: &Path) -> Result<()> {
    let mut permissions = file.metadata()?.permissions();
    permissions.set_readonly(true);
    fs::set_permissions(path, permissions)
        .with_context(|| format!("cannot make {} read-only", path.display()))
}

/// The version 2 index of a pack, but for its own checksum: ids sorted, with a first-byte
/// fan-out table, then their CRC32s and offsets (over 2 GiB in a table of their own), then
/// the pack's checksum.
fn encode_index(entries: &mut [PackedEntry], pack_sum: &[u8; 20]) -> Result<Vec<u8>> {
    entries.sort_unstable_by_key(|e| e.id);
    let mut out = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc");
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for e in entries.iter() {
        fanout[e.id.as_bytes()[0] as usize] += 1;
    }
    let mut total = 0;
    for n in fanout {
        total += n;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for e in entries.iter() {
        out.extend_from_slice(e.id.as_bytes());
    }
    for e in entries.iter() {
        out.extend_from_slice(&e.crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for e in entries.iter() {
        let small = match u32::try_from(e.offset) {
            Ok(o) if o < 0x8000_0000 => o,
            _ => {
                large.push(e.offset);
                0x8000_0000 | u32::try_from(large.len() - 1)?
            }
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    for o in large {
        out.extend_from_slice(&o.to_be_bytes());
    }
    out.extend_from_slice(pack_sum);
    Ok(out)
}

fn temp_path(dir: &Path, ext: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // git's own temporary packs are `tmp_pack_*`; `git gc` removes stale ones of both.
    dir.join(format!("tmp_nes_{}_{n}.{ext}", std::process::id()))
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).with_context(|| format!("cannot move {} to {}", from.display(), to.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::plumbing::object_id::object_id;
    use crate::git::plumbing::tree_delta::tree_delta;

    fn blob(data: &[u8]) -> RawObject {
        RawObject {
            id: git2::Oid::hash_object(git2::ObjectType::Blob, data).unwrap(),
            kind: git2::ObjectType::Blob,
            data: data.to_vec().into(),
        }
    }

    /// A tree of `n` files named after `version`, all the same blob: over
    /// [`HOLD_TREES_FROM`] from ~400 entries on.
    fn tree(n: usize, version: usize) -> RawObject {
        let file = blob(b"{}\n");
        let mut data = Vec::new();
        for i in 0..n {
            data.extend_from_slice(format!("100644 person-{i:05}-{version}.json\0").as_bytes());
            data.extend_from_slice(file.id.as_bytes());
        }
        RawObject {
            id: object_id(git2::ObjectType::Tree, &data),
            kind: git2::ObjectType::Tree,
            data: data.into(),
        }
    }

    fn delta(target: &RawObject, base: &RawObject) -> TreeDelta {
        TreeDelta {
            target: target.id,
            base: base.id,
            delta: tree_delta(&base.data, &target.data),
        }
    }

    fn repo() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init_bare(dir.path()).unwrap();
        let pack_dir = dir.path().join("objects/pack");
        (dir, pack_dir)
    }

    /// `git verify-pack -v` of the pack at `pack`, which must pass.
    fn verify_pack(pack: &Path) -> String {
        let out = std::process::Command::new("git")
            .arg("verify-pack")
            .arg("-v")
            .arg(pack.with_extension("idx"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every object of `objects` reads back from the repository at `dir` as it was.
    fn assert_read_back(dir: &Path, objects: &[RawObject]) {
        let repo = git2::Repository::open_bare(dir).unwrap();
        let odb = repo.odb().unwrap();
        for object in objects {
            assert_eq!(odb.read(object.id).unwrap().data(), &object.data[..]);
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    #[test]
    fn packed_objects_read_back_and_verify() {
        let (dir, pack_dir) = repo();
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let objects: Vec<RawObject> = (0..300)
            .map(|i| blob(format!("{{\"slug\": \"p{i}\"}}\n").as_bytes()))
            .chain([blob(&big), blob(b"")])
            .collect();
        let mut writer = PackWriter::create(&pack_dir).unwrap();
        // Across two batches, with the first blob again in the second: written once.
        writer.add(&objects[..100], &[], &[]).unwrap();
        writer.add(&objects[99..], &[], &[]).unwrap();
        let pack = writer.finish().unwrap();

        let repo = git2::Repository::open_bare(dir.path()).unwrap();
        for object in &objects {
            assert_eq!(repo.find_blob(object.id).unwrap().content(), &object.data[..]);
        }
        // git's own reader checks every checksum, CRC and offset of both files.
        let listed = verify_pack(&pack);
        assert!(
            listed.contains(&format!("non delta: {} objects", objects.len())),
            "{listed}"
        );
        assert_eq!(names(&pack_dir).len(), 2, "only the pack and its index remain");
    }

    /// Each older version of a directory becomes a delta against the next; the newest is
    /// whole and compressed; a directory back to an earlier version never makes a cycle.
    #[test]
    fn older_versions_of_big_trees_are_deltas_against_the_next() {
        let (dir, pack_dir) = repo();
        let versions: Vec<RawObject> = (0..3).map(|v| tree(1000 + v * 10, 0)).collect();
        let mut writer = PackWriter::create(&pack_dir).unwrap();
        writer.add(&[blob(b"{}\n"), tree(1000, 0)], &[], &[]).unwrap();
        writer
            .add(&[tree(1010, 0)], &[], &[delta(&versions[0], &versions[1])])
            .unwrap();
        writer
            .add(&[tree(1020, 0)], &[], &[delta(&versions[1], &versions[2])])
            .unwrap();
        // Back to the first version (already written, as a delta): the third stays whole.
        writer
            .add(&[tree(1000, 0)], &[], &[delta(&versions[2], &versions[0])])
            .unwrap();
        let pack = writer.finish().unwrap();

        let listing = verify_pack(&pack);
        assert!(listing.contains("chain length = 1: 1 object"), "{listing}");
        assert!(listing.contains("chain length = 2: 1 object"), "{listing}");
        assert!(listing.contains("non delta: 2 objects"), "{listing}");
        let whole = listing
            .lines()
            .find(|l| l.starts_with(&versions[2].id.to_string()))
            .unwrap();
        let fields: Vec<&str> = whole.split_whitespace().collect();
        let (size, in_pack): (usize, usize) = (fields[2].parse().unwrap(), fields[3].parse().unwrap());
        assert_eq!(size, versions[2].data.len());
        assert!(in_pack * 2 < size, "compressed: {whole}");
        assert_read_back(dir.path(), &versions);
    }

    #[test]
    fn delta_chains_stop_at_the_maximum_depth() {
        let (dir, pack_dir) = repo();
        let n = MAX_DEPTH + 10;
        let versions: Vec<RawObject> = (0..n).map(|v| tree(400, v)).collect();
        let mut writer = PackWriter::create(&pack_dir).unwrap();
        writer.add(&[blob(b"{}\n")], &[], &[]).unwrap();
        for (v, version) in versions.iter().enumerate() {
            let deltas: Vec<TreeDelta> = v
                .checked_sub(1)
                .map(|p| delta(&versions[p], version))
                .into_iter()
                .collect();
            let copy = RawObject {
                id: version.id,
                kind: version.kind,
                data: Arc::clone(&version.data),
            };
            writer.add(&[copy], &[], &deltas).unwrap();
        }
        let pack = writer.finish().unwrap();
        let listing = verify_pack(&pack);
        assert!(
            listing.contains(&format!("chain length = {MAX_DEPTH}: 1 object")),
            "{listing}"
        );
        assert!(
            !listing.contains(&format!("chain length = {}:", MAX_DEPTH + 1)),
            "{listing}"
        );
        assert_read_back(dir.path(), &versions);
    }

    /// The editor reads back trees of earlier batches before the pack is finished: whole
    /// ones from the file, big ones from memory while they wait for their next version.
    #[test]
    fn trees_read_back_before_the_pack_is_finished() {
        let (_dir, pack_dir) = repo();
        let (small, big) = (tree(3, 0), tree(1000, 0));
        let mut writer = PackWriter::create(&pack_dir).unwrap();
        writer
            .add(&[blob(b"{}\n"), tree(3, 0), tree(1000, 0)], &[], &[])
            .unwrap();
        writer.add(&[tree(4, 0)], &[], &[]).unwrap();
        assert_eq!(writer.tree(small.id).unwrap().unwrap(), *small.data);
        assert_eq!(writer.tree(big.id).unwrap().unwrap(), *big.data);
        assert_eq!(writer.tree(tree(5, 0).id).unwrap(), None);
        assert_eq!(
            writer.tree(blob(b"{}\n").id).unwrap(),
            None,
            "a blob is not a tree"
        );
        writer.finish().unwrap();
    }

    #[test]
    fn an_unfinished_pack_leaves_nothing() {
        let (_dir, pack_dir) = repo();
        let mut writer = PackWriter::create(&pack_dir).unwrap();
        writer.add(&[blob(b"a")], &[], &[]).unwrap();
        assert_eq!(names(&pack_dir).len(), 1);
        drop(writer);
        assert!(names(&pack_dir).is_empty(), "{:?}", names(&pack_dir));
    }
}
