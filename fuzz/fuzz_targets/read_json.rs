//! Any bytes as a JSON document and as JSON Lines, under small limits (depth, strings,
//! memory): an error is fine, a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nes::migration::readers::{read_json, read_jsonl, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("source.json"), data).expect("write input");
    std::fs::write(dir.path().join("source.jsonl"), data).expect("write input");
    let options = ReadOptions::default()
        .max_rows(64)
        .max_depth(16)
        .max_cell_bytes(256)
        .max_memory(64 << 10);
    let _ = read_json(dir.path(), "source.json", &options);
    let _ = read_jsonl(dir.path(), "source.jsonl", &options.allow_empty());
});
