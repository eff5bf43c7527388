//! Git deltas between two versions of one directory's tree, from what nes knows of them.
//!
//! A batch rewrites the tree of every directory it touches; in a 1M-file repository the
//! flat entity directories are 200k entries (~11 MB) each, so a 100-batch run writes
//! gigabytes of near-identical trees. Git stores such versions as deltas, found by a
//! search over similar objects (`git repack`: 73 s for a 100k-entity run into 1M files).
//! Both versions are already in memory here and sorted the same way, so one merge pass
//! finds the entries they share: those become copies, the rest literal inserts
//! (gitformat-pack(5), "Deltified representation").

use std::cmp::Ordering;

/// An older version of a directory's tree (`target`) as a delta against its next version
/// (`base`), recorded by the tree editor when it writes the next version.
pub(crate) struct TreeDelta {
    pub target: git2::Oid,
    pub base: git2::Oid,
    pub delta: Vec<u8>,
}

/// Longest copy one instruction can express (three size bytes).
const MAX_COPY: usize = 0xff_ffff;
/// Longest insert one instruction can express.
const MAX_INSERT: usize = 0x7f;

/// A delta that rebuilds `target` from `base`, two serialised tree objects (entries
/// `<mode> <name>\0<20-byte id>` in git's order). Entries present byte for byte in both
/// are copied from `base`; everything else is inserted.
pub(crate) fn tree_delta(base: &[u8], target: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + target.len() / 64);
    push_size(&mut out, base.len());
    push_size(&mut out, target.len());
    let mut ops = Ops::new(&mut out);
    let mut b = Entries::new(base);
    let mut base_entry = b.next();
    let mut t = Entries::new(target);
    while let Some(entry) = t.next() {
        // Skip what only `base` has (entries removed or changed since).
        while let Some(candidate) = base_entry.clone() {
            if git_order(&base[candidate.clone()], &target[entry.clone()]) == Ordering::Less {
                base_entry = b.next();
            } else {
                break;
            }
        }
        match base_entry.clone() {
            Some(same) if base[same.clone()] == target[entry.clone()] => {
                ops.copy(same.start, same.len());
                base_entry = b.next();
            }
            _ => ops.insert(&target[entry]),
        }
    }
    // A malformed tail (never written by nes) is carried over literally.
    ops.insert(&target[t.pos..]);
    ops.finish();
    out
}

/// The byte ranges of a serialised tree's entries, in order.
struct Entries<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Entries<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn next(&mut self) -> Option<std::ops::Range<usize>> {
        let rest = &self.data[self.pos..];
        let nul = rest.iter().position(|&b| b == 0)?;
        let end = self.pos + nul + 1 + 20;
        if end > self.data.len() {
            return None;
        }
        let range = self.pos..end;
        self.pos = end;
        Some(range)
    }
}

/// Git's order of two serialised entries: by name, a directory's name compared as if it
/// ended in `/`.
fn git_order(a: &[u8], b: &[u8]) -> Ordering {
    let (a_tree, a_name) = mode_and_name(a);
    let (b_tree, b_name) = mode_and_name(b);
    let a_key = a_name.iter().copied().chain(a_tree.then_some(b'/'));
    let b_key = b_name.iter().copied().chain(b_tree.then_some(b'/'));
    a_key.cmp(b_key)
}

/// Whether the entry is a directory, and its name.
fn mode_and_name(entry: &[u8]) -> (bool, &[u8]) {
    let space = entry.iter().position(|&b| b == b' ').unwrap_or(0);
    let nul = entry.iter().position(|&b| b == 0).unwrap_or(entry.len());
    (&entry[..space] == b"40000", &entry[space + 1..nul])
}

/// The delta's instructions, with neighbouring copies and inserts merged.
struct Ops<'a> {
    out: &'a mut Vec<u8>,
    copy: Option<(usize, usize)>,
    insert: Vec<u8>,
}

impl<'a> Ops<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            copy: None,
            insert: Vec::new(),
        }
    }

    fn copy(&mut self, offset: usize, len: usize) {
        self.flush_insert();
        match &mut self.copy {
            Some((start, n)) if *start + *n == offset => *n += len,
            _ => {
                self.flush_copy();
                self.copy = Some((offset, len));
            }
        }
    }

    fn insert(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.flush_copy();
        self.insert.extend_from_slice(bytes);
    }

    fn finish(mut self) {
        self.flush_copy();
        self.flush_insert();
    }

    fn flush_insert(&mut self) {
        for chunk in self.insert.chunks(MAX_INSERT) {
            self.out.push(chunk.len() as u8);
            self.out.extend_from_slice(chunk);
        }
        self.insert.clear();
    }

    fn flush_copy(&mut self) {
        let Some((mut offset, mut len)) = self.copy.take() else {
            return;
        };
        while len > 0 {
            let n = len.min(MAX_COPY);
            push_copy(self.out, offset, n);
            offset += n;
            len -= n;
        }
    }
}

/// A copy instruction: a flag byte saying which offset and size bytes follow, then those
/// bytes, least significant first; zero bytes are left out.
fn push_copy(out: &mut Vec<u8>, offset: usize, len: usize) {
    let flag_at = out.len();
    out.push(0x80);
    let offset = u32::try_from(offset).expect("trees are smaller than 4 GiB");
    for (i, byte) in offset.to_le_bytes().into_iter().enumerate() {
        if byte != 0 {
            out[flag_at] |= 1 << i;
            out.push(byte);
        }
    }
    for (i, byte) in (len as u32).to_le_bytes().into_iter().take(3).enumerate() {
        if byte != 0 {
            out[flag_at] |= 0x10 << i;
            out.push(byte);
        }
    }
}

/// A size in the delta header: 7 bits a byte, least significant first.
fn push_size(out: &mut Vec<u8>, mut size: usize) {
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Applies a delta (the decoder, for tests: git and libgit2 do this when reading).
#[cfg(test)]
pub(crate) fn apply(base: &[u8], delta: &[u8]) -> Vec<u8> {
    fn size(delta: &[u8], pos: &mut usize) -> usize {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = delta[*pos];
            *pos += 1;
            value |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return value;
            }
        }
    }
    let mut pos = 0;
    assert_eq!(size(delta, &mut pos), base.len(), "base size");
    let target_len = size(delta, &mut pos);
    let mut out = Vec::with_capacity(target_len);
    while pos < delta.len() {
        let op = delta[pos];
        pos += 1;
        if op & 0x80 == 0 {
            out.extend_from_slice(&delta[pos..pos + usize::from(op)]);
            pos += usize::from(op);
            continue;
        }
        let (mut offset, mut len) = (0usize, 0usize);
        for i in 0..4 {
            if op & (1 << i) != 0 {
                offset |= usize::from(delta[pos]) << (8 * i);
                pos += 1;
            }
        }
        for i in 0..3 {
            if op & (0x10 << i) != 0 {
                len |= usize::from(delta[pos]) << (8 * i);
                pos += 1;
            }
        }
        if len == 0 {
            len = 0x10000;
        }
        out.extend_from_slice(&base[offset..offset + len]);
    }
    assert_eq!(out.len(), target_len, "target size");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A serialised tree of `(name, is_dir, id byte)` entries, sorted as git sorts them.
    fn tree(entries: &[(String, bool, u8)]) -> Vec<u8> {
        let mut sorted: Vec<_> = entries.to_vec();
        sorted.sort_by_key(|(name, dir, _)| {
            let mut key = name.clone().into_bytes();
            if *dir {
                key.push(b'/');
            }
            key
        });
        sorted.dedup_by(|a, b| a.0 == b.0);
        let mut out = Vec::new();
        for (name, dir, id) in sorted {
            out.extend_from_slice(if dir { b"40000 " } else { b"100644 " });
            out.extend_from_slice(name.as_bytes());
            out.push(0);
            out.extend_from_slice(&[id; 20]);
        }
        out
    }

    fn entries(names: &[&str]) -> Vec<(String, bool, u8)> {
        names.iter().map(|n| (n.to_string(), false, 1)).collect()
    }

    #[test]
    fn shared_entries_are_copied_and_new_ones_inserted() {
        let base = tree(&entries(&["a.json", "b.json", "c.json", "d.json"]));
        let mut changed = entries(&["a.json", "b.json", "bb.json", "d.json"]);
        changed[0].2 = 9; // a.json changed id
        let target = tree(&changed);
        let delta = tree_delta(&base, &target);
        assert_eq!(apply(&base, &delta), target);
        assert!(delta.len() < target.len(), "b.json and d.json are copies");
    }

    #[test]
    fn directories_sort_as_if_they_ended_in_a_slash() {
        // "a" as a directory sorts after "a-b" and "a.b", as a file before them.
        let base = tree(&[
            ("a".into(), true, 1),
            ("a-b".into(), false, 2),
            ("a.b".into(), false, 3),
        ]);
        let target = tree(&[
            ("a".into(), true, 4),
            ("a-b".into(), false, 2),
            ("a.b".into(), false, 3),
            ("a0".into(), false, 5),
        ]);
        let delta = tree_delta(&base, &target);
        assert_eq!(apply(&base, &delta), target);
    }

    #[test]
    fn large_trees_give_small_deltas() {
        let names: Vec<String> = (0..20_000).map(|i| format!("person-{i:06}.json")).collect();
        let base_entries: Vec<(String, bool, u8)> = names.iter().map(|n| (n.clone(), false, 1)).collect();
        let mut target_entries = base_entries.clone();
        target_entries.extend((0..1000).map(|i| (format!("person-{i:06}x.json"), false, 2)));
        let (base, target) = (tree(&base_entries), tree(&target_entries));
        let delta = tree_delta(&base, &target);
        assert_eq!(apply(&base, &delta), target);
        assert!(delta.len() < 60_000, "{} bytes for 1000 new entries", delta.len());
    }

    #[test]
    fn empty_trees() {
        let full = tree(&entries(&["x"]));
        for (base, target) in [(&b""[..], &full[..]), (&full[..], &b""[..]), (&b""[..], &b""[..])] {
            assert_eq!(apply(base, &tree_delta(base, target)), target);
        }
    }

    fn arb_tree() -> impl Strategy<Value = Vec<(String, bool, u8)>> {
        proptest::collection::vec(
            (
                "[a-c.\\-/]{1,4}".prop_filter("no slash", |s| !s.contains('/')),
                any::<bool>(),
                0u8..3,
            ),
            0..40,
        )
    }

    proptest! {
        #[test]
        fn any_delta_rebuilds_its_target(base in arb_tree(), target in arb_tree()) {
            let (base, target) = (tree(&base), tree(&target));
            prop_assert_eq!(apply(&base, &tree_delta(&base, &target)), target);
        }
    }
}
