//! Git object ids of the objects nes creates: SHA-1 of `"<kind> <size>\0"` and the content.
//!
//! Why not `git2::Oid::hash_object`: libgit2 hashes with SHA-1DC, the collision-detecting
//! SHA-1 that git uses to vet objects it receives, in portable C. The ids are the same; the
//! `sha1` crate uses the CPU's SHA instructions where there are some, several times faster.
//! A batch hashes its thousand files and, in a 1M-file repository, two directory trees of
//! ~11 MB each, so this is on every batch's path. The content hashed here is what nes
//! itself wrote (entity files, trees, commits), never objects fetched from elsewhere.

use sha1::{Digest as _, Sha1};

/// The id git gives an object of `kind` whose content is `data`.
pub(crate) fn object_id(kind: git2::ObjectType, data: &[u8]) -> git2::Oid {
    let mut sha = Sha1::new();
    sha.update(kind.str().as_bytes());
    sha.update(b" ");
    sha.update(data.len().to_string().as_bytes());
    sha.update(b"\0");
    sha.update(data);
    let digest: [u8; 20] = sha.finalize().into();
    git2::Oid::from_bytes(&digest).expect("a SHA-1 digest is 20 bytes")
}

/// The id of a blob holding `data`.
pub(crate) fn blob_id(data: &[u8]) -> git2::Oid {
    object_id(git2::ObjectType::Blob, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_are_libgit2s_for_every_kind() {
        for kind in [
            git2::ObjectType::Blob,
            git2::ObjectType::Tree,
            git2::ObjectType::Commit,
            git2::ObjectType::Tag,
        ] {
            for data in [&b""[..], b"x", &[0u8; 64], &[7u8; 1 << 16]] {
                assert_eq!(
                    object_id(kind, data),
                    git2::Oid::hash_object(kind, data).unwrap(),
                    "{kind:?}, {} bytes",
                    data.len()
                );
            }
        }
    }

    #[test]
    fn empty_blob_is_gits_well_known_id() {
        assert_eq!(
            blob_id(b"").to_string(),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    proptest! {
        #[test]
        fn blob_ids_agree_with_libgit2(data in proptest::collection::vec(any::<u8>(), 0..5000)) {
            prop_assert_eq!(blob_id(&data), git2::Oid::hash_object(git2::ObjectType::Blob, &data).unwrap());
        }
    }
}
