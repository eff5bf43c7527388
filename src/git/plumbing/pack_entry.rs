//! The bytes of one pack entry (gitformat-pack(5)): the type-and-size header and the zlib
//! stream of the object, stored or deflated. Shared by the pack writer and the blob spill,
//! which prepares entries on the publication's writer threads.

use flate2::{Compress, Compression, FlushCompress, Status};

/// Fast compression: the entity files are small JSON documents that compress well at any
/// level.
pub(crate) const LEVEL: Compression = Compression::fast();

/// One whole object's pack entry: the type-and-size header, then the zlib stream of `data`.
pub(crate) fn encode_entry(deflate: &mut Compress, type_bits: u8, data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    entry_header(type_bits, data.len() as u64, &mut out);
    if data.len() < COMPRESS_FROM {
        store_into(data, &mut out);
    } else {
        compress_into(deflate, data, &mut out)?;
    }
    Ok(out)
}

/// Objects smaller than this are stored uncompressed for good: most are the one-entry trees
/// of new version directories (34 bytes, mostly a binary id), which zlib makes no smaller,
/// while a deflate state clears its 128 KiB hash table for each one (a tenth of a batch).
const COMPRESS_FROM: usize = 128;

/// Appends a zlib stream of `data` in stored (uncompressed) blocks (RFC 1950, and
/// RFC 1951 §3.2.4): a header, blocks of at most 65,535 bytes, the Adler-32.
pub(crate) fn store_into(data: &[u8], out: &mut Vec<u8>) {
    // CMF: deflate with a 32 KiB window; FLG: fastest level, no dictionary, check bits.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(usize::from(u16::MAX)).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let len = block.len() as u16;
        let [l0, l1] = len.to_le_bytes();
        let [n0, n1] = (!len).to_le_bytes();
        out.extend_from_slice(&[u8::from(blocks.peek().is_none()), l0, l1, n0, n1]);
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&zlib_rs::adler32::adler32(1, data).to_be_bytes());
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

/// The type bits, size and header length of an entry (the reverse of [`entry_header`]).
pub(crate) fn parse_entry_header(entry: &[u8]) -> Option<(u8, u64, usize)> {
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

/// The pack format's type numbers.
pub(crate) fn pack_type(kind: git2::ObjectType) -> u8 {
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
}
