//! Folds the packs of one run into a single pack, storing each big directory tree as a
//! delta against the version of that directory the next batch wrote.
//!
//! Each batch publishes a pack of its own (so a crash leaves whole batches), with every
//! object whole. Left alone, a 100-batch run would leave 100 packs and 100 copies of each
//! big directory tree, and `git repack` would search for deltas among them all (73 s and
//! the run's peak memory for a 100k-entity run into 1M files). Here entries are copied as
//! they are (no inflating, no recompressing) and the deltas between consecutive versions of
//! a directory, computed while committing ([`super::tree_delta`]), replace the older
//! versions: the newest version stays whole, as git keeps it, so reading HEAD costs nothing
//! extra. Big trees are stored uncompressed in batch packs
//! ([`super::pack_file::STORE_TREES_FROM`]); those the fold keeps whole are compressed
//! here, once per run.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use flate2::Compress;
use rayon::prelude::*;

use super::pack_file::{
    compress_into, entry_header, publish, recompress_entry, ChecksummedFile, PackedEntry, WrittenPack, LEVEL,
};

/// An older version of a directory's tree (`target`) as a delta against its next version
/// (`base`).
pub(crate) struct TreeDelta {
    pub target: git2::Oid,
    pub base: git2::Oid,
    pub delta: Vec<u8>,
}

/// Longest chain of deltas to reach an object, as git's default `pack.depth`: reading an
/// old version applies at most this many deltas.
const MAX_DEPTH: usize = 50;
/// The pack format's type number of an entry that is a delta against an earlier entry.
const OFS_DELTA: u8 = 6;

/// Writes the objects of `packs` as one new pack in `pack_dir`, the targets of `deltas`
/// as deltas, then deletes `packs`. Until the new pack is durable the old ones are
/// untouched, so a failure at any point loses nothing. Returns the new pack's path.
pub(crate) fn fold(pack_dir: &Path, packs: &[WrittenPack], deltas: &[TreeDelta]) -> Result<PathBuf> {
    let mut unique = HashSet::new();
    for pack in packs {
        unique.extend(pack.entries.iter().map(|e| e.id));
    }
    // An object is a delta at most once, and only against a base that is in the fold.
    let mut chosen: HashMap<git2::Oid, usize> = HashMap::new();
    for (i, d) in deltas.iter().enumerate() {
        if unique.contains(&d.target) && unique.contains(&d.base) && d.target != d.base {
            chosen.entry(d.target).or_insert(i);
        }
    }
    let compressed: Vec<Vec<u8>> = deltas
        .par_iter()
        .enumerate()
        .map_init(
            || Compress::new(LEVEL, true),
            |deflate, (i, d)| -> std::io::Result<Vec<u8>> {
                let mut out = Vec::new();
                if chosen.get(&d.target) == Some(&i) {
                    compress_into(deflate, &d.delta, &mut out)?;
                }
                Ok(out)
            },
        )
        .collect::<std::io::Result<_>>()
        .context("cannot compress the tree deltas")?;
    // The stored trees that stay whole (the newest version of each big directory), each
    // compressed once, on every core.
    let mut to_compress: HashMap<git2::Oid, (usize, PackedEntry)> = HashMap::new();
    for (p, pack) in packs.iter().enumerate() {
        for e in pack
            .entries
            .iter()
            .filter(|e| e.stored && !chosen.contains_key(&e.id))
        {
            to_compress.entry(e.id).or_insert((p, *e));
        }
    }
    let recompressed: HashMap<git2::Oid, Vec<u8>> = to_compress
        .into_par_iter()
        .map(|(id, (p, e))| Ok((id, recompress_entry(&read_entry(&packs[p].pack, &e)?)?)))
        .collect::<Result<_>>()
        .context("cannot compress the run's directory trees")?;

    let (pack, _) = publish(pack_dir, unique.len(), |out| {
        let mut index: Vec<PackedEntry> = Vec::with_capacity(unique.len());
        // Offset in the new pack and delta depth of each object written so far.
        let mut placed: HashMap<git2::Oid, (u64, usize)> = HashMap::with_capacity(unique.len());
        let mut later: HashMap<git2::Oid, (usize, PackedEntry)> = HashMap::new();
        // One buffer for every pack: a fresh one per pack left a hundred freed blocks of a
        // few MB each for the allocator to return later, at the run's peak of memory.
        let mut bytes = Vec::new();
        for (p, pack) in packs.iter().enumerate() {
            bytes.clear();
            fs::File::open(&pack.pack)
                .and_then(|mut file| file.read_to_end(&mut bytes))
                .with_context(|| format!("cannot read {}", pack.pack.display()))?;
            for e in &pack.entries {
                if placed.contains_key(&e.id) || later.contains_key(&e.id) {
                    continue;
                }
                if chosen.contains_key(&e.id) {
                    later.insert(e.id, (p, *e));
                    continue;
                }
                placed.insert(e.id, (out.written, 0));
                index.push(match recompressed.get(&e.id) {
                    Some(entry) => write_new(out, entry, e.id)?,
                    None => copy_entry(out, &bytes, e)?,
                });
            }
        }
        // Newest first: each delta's base (the next version) is placed before it.
        for (i, d) in deltas.iter().enumerate().rev() {
            if chosen.get(&d.target) != Some(&i) || placed.contains_key(&d.target) {
                continue;
            }
            match placed.get(&d.base).copied() {
                Some((base_offset, depth)) if depth < MAX_DEPTH => {
                    let offset = out.written;
                    let mut entry = Vec::with_capacity(compressed[i].len() + 16);
                    entry_header(OFS_DELTA, d.delta.len() as u64, &mut entry);
                    push_negative_offset(&mut entry, offset - base_offset);
                    entry.extend_from_slice(&compressed[i]);
                    placed.insert(d.target, (offset, depth + 1));
                    index.push(write_new(out, &entry, d.target)?);
                    later.remove(&d.target);
                }
                // Too deep, or its base is itself waiting: stays whole.
                _ => {
                    let (p, e) = later
                        .remove(&d.target)
                        .expect("every chosen target was set aside");
                    placed.insert(e.id, (out.written, 0));
                    index.push(write_whole(out, &read_entry(&packs[p].pack, &e)?, &e)?);
                }
            }
        }
        for (p, e) in later.into_values() {
            index.push(write_whole(out, &read_entry(&packs[p].pack, &e)?, &e)?);
        }
        Ok(index)
    })?;
    for old in packs {
        // The index first: without it no reader opens the pack any more.
        let _ = fs::remove_file(old.pack.with_extension("idx"));
        let _ = fs::remove_file(&old.pack);
    }
    Ok(pack)
}

/// Writes an entry made here (a delta, or a tree compressed again) for the object `id`.
fn write_new(out: &mut ChecksummedFile<'_>, entry: &[u8], id: git2::Oid) -> Result<PackedEntry> {
    let offset = out.written;
    out.write(entry)?;
    Ok(PackedEntry {
        id,
        offset,
        len: entry.len() as u64,
        crc: crc32fast::hash(entry),
        stored: false,
    })
}

/// Writes a whole object's entry (read at `e`'s place in its pack), compressed if it was
/// stored.
fn write_whole(out: &mut ChecksummedFile<'_>, bytes: &[u8], e: &PackedEntry) -> Result<PackedEntry> {
    if e.stored {
        write_new(out, &recompress_entry(bytes)?, e.id)
    } else {
        copy_at(out, bytes, e)
    }
}

/// Copies the entry `e` of a pack whose bytes are `pack` to `out`, as it is.
fn copy_entry(out: &mut ChecksummedFile<'_>, pack: &[u8], e: &PackedEntry) -> Result<PackedEntry> {
    let start = usize::try_from(e.offset)?;
    let end = start + usize::try_from(e.len)?;
    let bytes = pack
        .get(start..end)
        .context("a pack entry lies beyond its pack's end")?;
    copy_at(out, bytes, e)
}

/// Writes one entry's bytes (read at `e`'s place in its pack) to `out`.
fn copy_at(out: &mut ChecksummedFile<'_>, bytes: &[u8], e: &PackedEntry) -> Result<PackedEntry> {
    let offset = out.written;
    out.write(bytes)?;
    Ok(PackedEntry { offset, ..*e })
}

/// The bytes of one entry of the pack at `path`.
fn read_entry(path: &Path, e: &PackedEntry) -> Result<Vec<u8>> {
    use std::io::{Seek as _, SeekFrom};
    let mut file = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    file.seek(SeekFrom::Start(e.offset))?;
    let mut bytes = vec![0; usize::try_from(e.len)?];
    file.read_exact(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

/// The distance back to a delta's base: 7 bits a byte, most significant first, each
/// continuation also adding one (gitformat-pack(5), `OBJ_OFS_DELTA`).
fn push_negative_offset(out: &mut Vec<u8>, mut distance: u64) {
    let mut bytes = vec![(distance & 0x7f) as u8];
    distance >>= 7;
    while distance != 0 {
        distance -= 1;
        bytes.push(0x80 | (distance & 0x7f) as u8);
        distance >>= 7;
    }
    bytes.reverse();
    out.extend_from_slice(&bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::object_id::object_id;
    use crate::git::pack_file::{write_pack, RawObject};
    use crate::git::tree_delta::tree_delta;

    fn tree(names: &[&str], blob: git2::Oid) -> RawObject {
        let mut data = Vec::new();
        for name in names {
            data.extend_from_slice(b"100644 ");
            data.extend_from_slice(name.as_bytes());
            data.push(0);
            data.extend_from_slice(blob.as_bytes());
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

    /// Duplicates across packs are written once; a cycle of deltas (a directory back to an
    /// earlier version) and a delta whose base is missing leave their targets whole.
    #[test]
    fn duplicates_cycles_and_missing_bases() {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init_bare(dir.path()).unwrap();
        let pack_dir = dir.path().join("objects/pack");
        let data = b"{}\n".to_vec();
        let blob = RawObject {
            id: object_id(git2::ObjectType::Blob, &data),
            kind: git2::ObjectType::Blob,
            data: data.into(),
        };
        let a = tree(&["a.json", "b.json"], blob.id);
        let b = tree(&["a.json", "b.json", "c.json"], blob.id);
        let c = tree(&["a.json", "c.json"], blob.id);
        let copy = |o: &RawObject| RawObject {
            id: o.id,
            kind: o.kind,
            data: o.data.clone(),
        };
        let packs = vec![
            write_pack(&pack_dir, &[copy(&blob), copy(&a)]).unwrap(),
            write_pack(&pack_dir, &[copy(&b)]).unwrap(),
            write_pack(&pack_dir, &[copy(&a), copy(&c)]).unwrap(),
        ];
        let absent = tree(&["zzz.json"], blob.id);
        let deltas = vec![delta(&a, &b), delta(&b, &a), delta(&c, &absent), delta(&c, &b)];
        let folded = fold(&pack_dir, &packs, &deltas).unwrap();

        let names: Vec<_> = fs::read_dir(&pack_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(names.len(), 2, "one pack and its index: {names:?}");
        let out = std::process::Command::new("git")
            .arg("verify-pack")
            .arg("-v")
            .arg(folded.with_extension("idx"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listing = String::from_utf8_lossy(&out.stdout);
        // c and b wait for bases not yet placed and stay whole; a is a delta against b.
        assert!(listing.contains("chain length = 1: 1 object\n"), "{listing}");
        assert!(listing.contains("non delta: 3 objects"), "{listing}");
        let repo = git2::Repository::open_bare(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        for object in [&blob, &a, &b, &c] {
            assert_eq!(odb.read(object.id).unwrap().data(), &object.data[..]);
        }
    }

    #[test]
    fn negative_offsets_as_git_writes_them() {
        let encode = |d| {
            let mut out = Vec::new();
            push_negative_offset(&mut out, d);
            out
        };
        assert_eq!(encode(1), [0x01]);
        assert_eq!(encode(127), [0x7f]);
        // 128 = (0 + 1) * 128 + 0
        assert_eq!(encode(128), [0x80, 0x00]);
        assert_eq!(encode(300), [0x81, 0x2c]);
    }
}
