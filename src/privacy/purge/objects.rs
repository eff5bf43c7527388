//! Git objects as the purge rewrites them: a commit or tag with
//! some ids replaced and every other byte kept, and where new objects go (a pack, or
//! nowhere when a dry run only needs their ids).

use std::sync::Arc;

use anyhow::{Context as _, Result};
use git2::{ObjectType, Oid};

use crate::git::plumbing::object_id::object_id;
use crate::git::plumbing::pack_file::{PackWriter, RawObject};

/// A commit with its tree and parents replaced; author, committer, encoding, every other
/// header and the message byte for byte. A signature (`gpgsig`) is dropped: it signed the
/// old commit and would not verify.
pub(super) fn rewrite_commit(data: &[u8], tree: Oid, parents: &[Oid]) -> Result<Vec<u8>> {
    let split = memchr::memmem::find(data, b"\n\n").map_or(data.len(), |at| at + 1);
    let (headers, message) = data.split_at(split);
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(format!("tree {tree}\n").as_bytes());
    for parent in parents {
        out.extend_from_slice(format!("parent {parent}\n").as_bytes());
    }
    let mut in_signature = false;
    for line in headers.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b" ") && in_signature {
            continue;
        }
        in_signature = line.starts_with(b"gpgsig ") || line.starts_with(b"gpgsig-sha256 ");
        if in_signature || line.starts_with(b"tree ") || line.starts_with(b"parent ") {
            continue;
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(message);
    Ok(out)
}

/// The object an annotated tag points at, and its kind.
pub(super) fn tag_target(data: &[u8]) -> Result<(Oid, ObjectType)> {
    let text = String::from_utf8_lossy(&data[..data.len().min(200)]);
    let mut lines = text.lines();
    let object = lines
        .next()
        .and_then(|l| l.strip_prefix("object "))
        .context("a tag object has no `object` line")?;
    let kind = lines
        .next()
        .and_then(|l| l.strip_prefix("type "))
        .and_then(ObjectType::from_str)
        .context("a tag object has no `type` line")?;
    Ok((Oid::from_str(object)?, kind))
}

/// A tag object pointing at `target` instead, every other byte kept (a signature in the
/// message is dropped, as for commits).
pub(super) fn rewrite_tag(data: &[u8], target: Oid) -> Vec<u8> {
    let first = memchr::memchr(b'\n', data).map_or(data.len(), |at| at + 1);
    let mut out = format!("object {target}\n").into_bytes();
    let rest = &data[first..];
    let signed = memchr::memmem::find(rest, b"-----BEGIN PGP SIGNATURE-----")
        .or_else(|| memchr::memmem::find(rest, b"-----BEGIN SSH SIGNATURE-----"));
    out.extend_from_slice(&rest[..signed.unwrap_or(rest.len())]);
    out
}

/// Where the purge puts the objects it makes.
pub(super) enum Sink {
    /// Dry run: ids only, nothing written.
    HashOnly,
    /// One pack in `objects/pack`, objects handed over in groups.
    Pack {
        pack: Box<PackWriter>,
        waiting: Vec<RawObject>,
        waiting_bytes: usize,
    },
}

/// Objects handed to the pack at once: enough to compress on every core, few enough that
/// memory stays bounded however many objects the purge writes.
const GROUP_BYTES: usize = 16 << 20;

impl Sink {
    /// A pack in `pack_dir` (`objects/pack`).
    pub(super) fn pack(pack_dir: &std::path::Path) -> Result<Self> {
        Ok(Sink::Pack {
            pack: Box::new(PackWriter::create(pack_dir)?),
            waiting: Vec::new(),
            waiting_bytes: 0,
        })
    }

    /// Adds an object; returns its id.
    pub(super) fn put(&mut self, kind: ObjectType, data: Vec<u8>) -> Result<Oid> {
        let id = object_id(kind, &data);
        if let Sink::Pack {
            waiting,
            waiting_bytes,
            ..
        } = self
        {
            *waiting_bytes += data.len();
            waiting.push(RawObject {
                id,
                kind,
                data: Arc::new(data),
            });
            if *waiting_bytes >= GROUP_BYTES {
                self.flush()?;
            }
        }
        Ok(id)
    }

    fn flush(&mut self) -> Result<()> {
        if let Sink::Pack {
            pack,
            waiting,
            waiting_bytes,
        } = self
        {
            pack.add(waiting, &[], &[])?;
            waiting.clear();
            *waiting_bytes = 0;
        }
        Ok(())
    }

    /// Seals the pack and puts it in place (nothing for a dry run).
    pub(super) fn finish(mut self) -> Result<()> {
        self.flush()?;
        if let Sink::Pack { pack, .. } = self {
            pack.finish().context("cannot write the purged history's pack")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_keeps_every_byte_but_its_tree_parents_and_signature() {
        let old = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 1111111111111111111111111111111111111111\nauthor A <a@x> 1 +0545\ncommitter C <c@x> 2 -0100\nencoding ISO-8859-1\ngpgsig -----BEGIN-----\n abc\n -----END-----\n\nSubject\n\nNes-Run: 1\n";
        let tree = Oid::from_str("2222222222222222222222222222222222222222").unwrap();
        let parent = Oid::from_str("3333333333333333333333333333333333333333").unwrap();
        let new = rewrite_commit(old, tree, &[parent]).unwrap();
        assert_eq!(
            String::from_utf8(new).unwrap(),
            "tree 2222222222222222222222222222222222222222\nparent 3333333333333333333333333333333333333333\nauthor A <a@x> 1 +0545\ncommitter C <c@x> 2 -0100\nencoding ISO-8859-1\n\nSubject\n\nNes-Run: 1\n"
        );
    }

    #[test]
    fn a_tag_points_at_its_new_target() {
        let old = b"object 1111111111111111111111111111111111111111\ntype commit\ntag v1\ntagger T <t@x> 1 +0000\n\nRelease\n";
        assert_eq!(
            tag_target(old).unwrap(),
            (
                Oid::from_str("1111111111111111111111111111111111111111").unwrap(),
                ObjectType::Commit
            )
        );
        let target = Oid::from_str("2222222222222222222222222222222222222222").unwrap();
        let new = rewrite_tag(old, target);
        assert!(new.starts_with(b"object 2222222222222222222222222222222222222222\ntype commit\ntag v1\n"));
        assert!(new.ends_with(b"\n\nRelease\n"));
    }
}
