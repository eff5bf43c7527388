//! Writes a set of objects as one pack file and its index (gitformat-pack(5)), each object
//! whole (no deltas), compressed on every core.
//!
//! Why not libgit2's `PackBuilder`: it searches for deltas between every pair of similar
//! objects in a window and compresses on one thread; for a batch of a thousand new entity
//! files that search and compression were half the time of a run, and the big directory
//! trees a batch rewrites have no delta base inside the batch anyway. Why not its pack
//! writer (the indexer): it reads back, inflates and re-hashes every object just written,
//! whose ids the caller already knows; that was a fifth of a run. A run's packs are folded
//! into one at its end, with tree deltas ([`super::pack_fold`]). Tests check the packs with
//! `git fsck --strict` and `git verify-pack`.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use flate2::{Compress, Compression, FlushCompress, Status};
use rayon::prelude::*;
use sha1::{Digest as _, Sha1};

/// An object to pack: its id, its kind and its content (without git's `"<kind> <size>\0"`
/// header, which its id covers).
pub(crate) struct RawObject {
    pub id: git2::Oid,
    pub kind: git2::ObjectType,
    /// Shared with the tree editor, which keeps a big directory's tree for the next batch:
    /// a copy per batch of a 1M-file repository's 11 MB trees was memory and time.
    pub data: std::sync::Arc<Vec<u8>>,
}

/// An object already encoded as a pack entry (header and zlib stream), with the CRC32 of
/// the entry: a blob from the run's spill ([`super::blob_spill`]).
pub(crate) struct EncodedEntry {
    pub id: git2::Oid,
    pub entry: Vec<u8>,
    pub crc: u32,
}

/// Fast compression: the entity files are small JSON documents that compress well at any
/// level, and the repack that folds batch packs reuses these streams as they are.
pub(crate) const LEVEL: Compression = Compression::fast();

/// Trees from this size on go into batch packs uncompressed (zlib's stored blocks). They are
/// the flat type directories every batch rewrites (1 MB at 100k files, 11 MB at 1M):
/// compressing one was a batch's longest single task, and all but the newest version of
/// each become deltas when the run's packs are folded, which compresses the newest once
/// ([`super::pack_fold`]).
pub(super) const STORE_TREES_FROM: usize = 64 * 1024;

/// A pack written by [`write_pack`]: where it is and where each object's entry lies in it,
/// so [`super::pack_fold`] can copy entries without inflating them.
#[derive(Debug)]
pub(crate) struct WrittenPack {
    pub pack: PathBuf,
    /// In pack order.
    pub entries: Vec<PackedEntry>,
}

/// One object's entry in a pack: header and zlib stream, `len` bytes at `offset`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PackedEntry {
    pub id: git2::Oid,
    pub offset: u64,
    pub len: u64,
    pub crc: u32,
    /// Whether the zlib stream is uncompressed ([`STORE_TREES_FROM`]).
    pub stored: bool,
}

/// Writes `objects` (distinct ids) as a new pack in `pack_dir` (a repository's
/// `objects/pack`), durably: the pack, then its index, each synced and then renamed into
/// place, so a reader never sees a pack without its objects.
#[cfg(test)]
pub(crate) fn write_pack(pack_dir: &Path, objects: &[RawObject]) -> Result<WrittenPack> {
    write_pack_with(pack_dir, objects, &[])
}

/// [`write_pack`] of `objects` and of entries encoded before (`ready`, written as they are).
pub(crate) fn write_pack_with(
    pack_dir: &Path,
    objects: &[RawObject],
    ready: &[EncodedEntry],
) -> Result<WrittenPack> {
    let mut ids: Vec<git2::Oid> = objects
        .iter()
        .map(|o| o.id)
        .chain(ready.iter().map(|e| e.id))
        .collect();
    ids.sort_unstable();
    if let Some(twice) = ids.windows(2).find(|w| w[0] == w[1]) {
        bail!("object {} appears twice in one pack", twice[0]);
    }
    // Biggest first, so that no big object is left to compress alone at the end. Stored
    // trees are written straight from their data below, without an entry of their own.
    let mut order: Vec<usize> = (0..objects.len()).filter(|&i| !stored(&objects[i])).collect();
    order.sort_unstable_by_key(|&i| std::cmp::Reverse(objects[i].data.len()));
    let mut encoded: Vec<(usize, Vec<u8>)> = order
        .into_par_iter()
        // A deflate state allocates and clears ~300 KB: one per worker, reset per object.
        .map_init(
            || Compress::new(LEVEL, true),
            |deflate, i| Ok((i, encode_entry(deflate, &objects[i])?)),
        )
        .collect::<std::io::Result<_>>()
        .context("cannot compress the objects")?;
    encoded.sort_unstable_by_key(|(i, _)| *i);
    let (pack, entries) = publish(pack_dir, objects.len() + ready.len(), |pack| {
        let mut index = Vec::with_capacity(objects.len() + ready.len());
        for ready in ready {
            index.push(PackedEntry {
                id: ready.id,
                offset: pack.written,
                len: ready.entry.len() as u64,
                crc: ready.crc,
                stored: false,
            });
            pack.write(&ready.entry)?;
        }
        let mut encoded = encoded.into_iter().peekable();
        for (i, object) in objects.iter().enumerate() {
            let offset = pack.written;
            let crc = match encoded.next_if(|(at, _)| *at == i) {
                Some((_, entry)) => {
                    pack.write(&entry)?;
                    crc32fast::hash(&entry)
                }
                None => write_stored_entry(pack, object)?,
            };
            index.push(PackedEntry {
                id: object.id,
                offset,
                len: pack.written - offset,
                crc,
                stored: stored(object),
            });
        }
        Ok(index)
    })?;
    Ok(WrittenPack { pack, entries })
}

/// Writes a pack of `count` objects into `pack_dir`: the header, then `fill` writes the
/// entries and returns them, then the checksum; then its index. Both are synced and then
/// renamed into place, pack first, so a reader never sees an index without its pack.
/// Returns the pack's path and its entries; on failure nothing is left behind.
pub(super) fn publish(
    pack_dir: &Path,
    count: usize,
    fill: impl FnOnce(&mut ChecksummedFile<'_>) -> Result<Vec<PackedEntry>>,
) -> Result<(PathBuf, Vec<PackedEntry>)> {
    let tmp_pack = temp_path(pack_dir, "pack");
    let tmp_idx = temp_path(pack_dir, "idx");
    let written = (|| -> Result<(PathBuf, Vec<PackedEntry>)> {
        let mut pack = ChecksummedFile::create(&tmp_pack)?;
        let count = u32::try_from(count).context("too many objects for one pack")?;
        pack.write(&[b"PACK".as_slice(), &2u32.to_be_bytes(), &count.to_be_bytes()].concat())?;
        let index = fill(&mut pack)?;
        anyhow::ensure!(
            index.len() == count as usize,
            "a pack announced {count} objects but holds {}",
            index.len()
        );
        let pack_sum = pack.finish()?;
        let mut idx = ChecksummedFile::create(&tmp_idx)?;
        idx.write(&encode_index(&index, &pack_sum)?)?;
        idx.finish()?;
        let name = format!("pack-{}", hex(&pack_sum));
        let pack = pack_dir.join(format!("{name}.pack"));
        rename(&tmp_pack, &pack)?;
        rename(&tmp_idx, &pack_dir.join(format!("{name}.idx")))?;
        Ok((pack, index))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp_pack);
        let _ = fs::remove_file(&tmp_idx);
    }
    written
}

/// A file being written whose SHA-1 is appended when it is finished, as packs and their
/// indexes end.
pub(super) struct ChecksummedFile<'a> {
    path: &'a Path,
    out: BufWriter<File>,
    sum: Sha1,
    /// Bytes written so far: the offset of the next entry.
    pub written: u64,
}

impl<'a> ChecksummedFile<'a> {
    fn create(path: &'a Path) -> Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self {
            path,
            out: BufWriter::with_capacity(1 << 20, file),
            sum: Sha1::new(),
            written: 0,
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.sum.update(bytes);
        self.written += bytes.len() as u64;
        self.out
            .write_all(bytes)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Appends the checksum, syncs, and leaves the file read-only as git keeps its packs.
    fn finish(mut self) -> Result<[u8; 20]> {
        let sum: [u8; 20] = self.sum.finalize_reset().into();
        self.out
            .write_all(&sum)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot sync {}", self.path.display()))?;
        let mut permissions = file.metadata()?.permissions();
        permissions.set_readonly(true);
        fs::set_permissions(self.path, permissions)?;
        Ok(sum)
    }
}

/// The version 2 index of a pack, but for its own checksum: ids sorted, with a first-byte
/// fan-out table, then their CRC32s and offsets (over 2 GiB in a table of their own), then
/// the pack's checksum.
fn encode_index(entries: &[PackedEntry], pack_sum: &[u8; 20]) -> Result<Vec<u8>> {
    let mut entries: Vec<&PackedEntry> = entries.iter().collect();
    entries.sort_unstable_by_key(|e| e.id);
    let mut out = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc");
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for e in &entries {
        fanout[e.id.as_bytes()[0] as usize] += 1;
    }
    let mut total = 0;
    for n in fanout {
        total += n;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for e in &entries {
        out.extend_from_slice(e.id.as_bytes());
    }
    for e in &entries {
        out.extend_from_slice(&e.crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for e in &entries {
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

/// Whether `object` goes into a batch pack uncompressed ([`STORE_TREES_FROM`]).
fn stored(object: &RawObject) -> bool {
    object.kind == git2::ObjectType::Tree && object.data.len() >= STORE_TREES_FROM
}

/// One pack entry: the type-and-size header, then the zlib stream of the content.
fn encode_entry(deflate: &mut Compress, object: &RawObject) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(object.data.len() / 2 + 64);
    entry_header(pack_type(object.kind), object.data.len() as u64, &mut out);
    // Big stored trees never get here: `write_pack_with` writes them from their data.
    if object.data.len() < COMPRESS_FROM {
        store_into(&object.data, &mut out);
    } else {
        compress_into(deflate, &object.data, &mut out)?;
    }
    Ok(out)
}

/// Writes `object`'s entry with its content in stored zlib blocks straight from its data;
/// returns the entry's CRC32.
fn write_stored_entry(pack: &mut ChecksummedFile<'_>, object: &RawObject) -> Result<u32> {
    let mut crc = crc32fast::Hasher::new();
    let mut head = Vec::with_capacity(16);
    entry_header(pack_type(object.kind), object.data.len() as u64, &mut head);
    crc.update(&head);
    pack.write(&head)?;
    stored_stream(&object.data, |bytes| {
        crc.update(bytes);
        pack.write(bytes)
    })?;
    Ok(crc.finalize())
}

/// Objects smaller than this are stored uncompressed for good: most are the one-entry trees
/// of new version directories (34 bytes, mostly a binary id), which zlib makes no smaller,
/// while a deflate state clears its 128 KiB hash table for each one (a tenth of a batch).
const COMPRESS_FROM: usize = 128;

/// Appends a zlib stream of `data` in stored (uncompressed) blocks.
pub(crate) fn store_into(data: &[u8], out: &mut Vec<u8>) {
    let appended: Result<(), std::convert::Infallible> = stored_stream(data, |bytes| {
        out.extend_from_slice(bytes);
        Ok(())
    });
    let Ok(()) = appended;
}

/// Hands `put` a zlib stream of `data` in stored blocks, piece by piece (RFC 1950, and
/// RFC 1951 §3.2.4): a header, blocks of at most 65,535 bytes, the Adler-32.
fn stored_stream<E>(data: &[u8], mut put: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
    // CMF: deflate with a 32 KiB window; FLG: fastest level, no dictionary, check bits.
    put(&[0x78, 0x01])?;
    let mut blocks = data.chunks(usize::from(u16::MAX)).peekable();
    if blocks.peek().is_none() {
        put(&[1, 0, 0, 0xff, 0xff])?;
    }
    while let Some(block) = blocks.next() {
        let len = block.len() as u16;
        let [l0, l1] = len.to_le_bytes();
        let [n0, n1] = (!len).to_le_bytes();
        put(&[u8::from(blocks.peek().is_none()), l0, l1, n0, n1])?;
        put(block)?;
    }
    put(&zlib_rs::adler32::adler32(1, data).to_be_bytes())
}

/// A whole (not delta) entry written again compressed at [`LEVEL`]: for the stored trees of
/// batch packs that a fold keeps whole.
pub(super) fn recompress_entry(entry: &[u8]) -> Result<Vec<u8>> {
    let (type_bits, size, header_len) =
        parse_entry_header(entry).context("a pack entry's header is cut short")?;
    anyhow::ensure!(
        (1..=4).contains(&type_bits),
        "a pack entry of type {type_bits} is not a whole object"
    );
    let size = usize::try_from(size)?;
    let mut data = Vec::with_capacity(size);
    let mut inflate = flate2::Decompress::new(true);
    inflate
        .decompress_vec(&entry[header_len..], &mut data, flate2::FlushDecompress::Finish)
        .context("a pack entry's zlib stream is damaged")?;
    anyhow::ensure!(
        data.len() == size,
        "a pack entry holds {} bytes, its header says {size}",
        data.len()
    );
    let mut out = Vec::with_capacity(size / 2 + 64);
    entry_header(type_bits, size as u64, &mut out);
    compress_into(&mut Compress::new(LEVEL, true), &data, &mut out)?;
    Ok(out)
}

/// The type bits, size and header length of an entry (the reverse of [`entry_header`]).
fn parse_entry_header(entry: &[u8]) -> Option<(u8, u64, usize)> {
    let first = *entry.first()?;
    let type_bits = (first >> 4) & 0x07;
    let mut size = u64::from(first & 0x0f);
    let (mut shift, mut at, mut byte) = (4, 1, first);
    while byte & 0x80 != 0 {
        byte = *entry.get(at)?;
        size |= u64::from(byte & 0x7f).checked_shl(shift)?;
        shift += 7;
        at += 1;
    }
    Some((type_bits, size, at))
}

/// Appends the zlib stream of `data` to `out`.
pub(crate) fn compress_into(deflate: &mut Compress, data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    deflate.reset();
    loop {
        let read = deflate.total_in() as usize;
        out.reserve(data.len() - read + 64);
        let status = deflate
            .compress_vec(&data[read..], out, FlushCompress::Finish)
            .map_err(std::io::Error::other)?;
        if status == Status::StreamEnd {
            return Ok(());
        }
    }
}

/// The pack format's type numbers.
fn pack_type(kind: git2::ObjectType) -> u8 {
    match kind {
        git2::ObjectType::Commit => 1,
        git2::ObjectType::Tree => 2,
        git2::ObjectType::Blob => 3,
        git2::ObjectType::Tag => 4,
        // `Any` is only a lookup wildcard; no stored object has it.
        git2::ObjectType::Any => unreachable!("stored objects have a concrete type"),
    }
}

/// The entry header: 3 type bits and the size in 4 + 7n bits, low bits first, the high bit of
/// each byte saying another follows.
pub(crate) fn entry_header(type_bits: u8, mut size: u64, out: &mut Vec<u8>) {
    let mut byte = (type_bits << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size != 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
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

    #[test]
    fn stored_streams_inflate_to_their_data_at_block_edges() {
        for len in [0, 1, 34, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut stream = Vec::new();
            store_into(&data, &mut stream);
            let mut back = Vec::with_capacity(len + 1);
            let status = flate2::Decompress::new(true)
                .decompress_vec(&stream, &mut back, flate2::FlushDecompress::Finish)
                .unwrap();
            assert_eq!(status, flate2::Status::StreamEnd, "{len} bytes");
            assert_eq!(back, data, "{len} bytes");
        }
    }

    #[test]
    fn header_of_small_and_large_sizes() {
        let mut out = Vec::new();
        entry_header(3, 15, &mut out);
        assert_eq!(out, [0x3f]);
        out.clear();
        // 100 = 0b110_0100: low nibble 4 with the continuation bit, then 6.
        entry_header(1, 100, &mut out);
        assert_eq!(out, [0x80 | 0x10 | 0x04, 0x06]);
    }

    fn blob(data: &[u8]) -> RawObject {
        RawObject {
            id: git2::Oid::hash_object(git2::ObjectType::Blob, data).unwrap(),
            kind: git2::ObjectType::Blob,
            data: data.to_vec().into(),
        }
    }

    #[test]
    fn packed_objects_read_back_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init_bare(dir.path()).unwrap();
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let objects: Vec<RawObject> = (0..300)
            .map(|i| blob(format!("{{\"slug\": \"p{i}\"}}\n").as_bytes()))
            .chain([blob(&big), blob(b"")])
            .collect();
        let pack = write_pack(&dir.path().join("objects/pack"), &objects).unwrap();

        let repo = git2::Repository::open_bare(dir.path()).unwrap();
        for object in &objects {
            assert_eq!(repo.find_blob(object.id).unwrap().content(), &object.data[..]);
        }
        // git's own reader checks every checksum, CRC and offset of both files.
        let out = std::process::Command::new("git")
            .arg("verify-pack")
            .arg("-v")
            .arg(pack.pack.with_extension("idx"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(
            listed.contains(&format!("non delta: {} objects", objects.len())),
            "{listed}"
        );
        let names: Vec<_> = fs::read_dir(dir.path().join("objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "only the pack and its index remain: {names:?}");
    }

    /// A big tree goes in uncompressed and reads back; compressed again, its entry is
    /// smaller and holds the same object.
    #[test]
    fn big_trees_are_stored_and_compress_again() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init_bare(dir.path()).unwrap();
        let file = blob(b"{}\n");
        let mut data = Vec::new();
        for i in 0..3000 {
            data.extend_from_slice(format!("100644 person-{i:05}.json\0").as_bytes());
            data.extend_from_slice(file.id.as_bytes());
        }
        let size = data.len();
        assert!(size >= STORE_TREES_FROM);
        let tree = RawObject {
            id: git2::Oid::hash_object(git2::ObjectType::Tree, &data).unwrap(),
            kind: git2::ObjectType::Tree,
            data: data.into(),
        };
        let pack = write_pack(&dir.path().join("objects/pack"), &[blob(b"{}\n"), tree]).unwrap();
        let entries: Vec<(bool, u64)> = pack.entries.iter().map(|e| (e.stored, e.len)).collect();
        let tree_entry = pack.entries[1];
        assert!(!entries[0].0 && tree_entry.stored, "{entries:?}");
        assert!(
            tree_entry.len as usize > size,
            "stored, not compressed: {entries:?}"
        );

        let repo = git2::Repository::open_bare(dir.path()).unwrap();
        let read = repo.find_tree(tree_entry.id).unwrap();
        assert_eq!(read.len(), 3000);
        let bytes = fs::read(&pack.pack).unwrap();
        let start = tree_entry.offset as usize;
        let again = recompress_entry(&bytes[start..start + tree_entry.len as usize]).unwrap();
        assert!(again.len() * 2 < tree_entry.len as usize, "{} bytes", again.len());
        let (kind, size_in_header, header) = parse_entry_header(&again).unwrap();
        assert_eq!((kind, usize::try_from(size_in_header).unwrap()), (2, size));
        let mut inflated = Vec::new();
        use std::io::Read as _;
        flate2::read::ZlibDecoder::new(&again[header..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, repo.odb().unwrap().read(tree_entry.id).unwrap().data());
        assert!(
            recompress_entry(&again[..header]).is_err(),
            "a cut entry is refused"
        );
    }

    #[test]
    fn the_same_object_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init_bare(dir.path()).unwrap();
        let pack_dir = dir.path().join("objects/pack");
        let err = write_pack(&pack_dir, &[blob(b"a"), blob(b"a")]).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
        assert_eq!(
            fs::read_dir(&pack_dir).unwrap().count(),
            0,
            "nothing is left behind"
        );
    }
}
