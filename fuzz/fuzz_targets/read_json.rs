//! Any bytes as a JSON document and as JSON Lines: an error is fine, a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nes::migration::readers::{read_json, read_jsonl};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("source.json"), data).expect("write input");
    std::fs::write(dir.path().join("source.jsonl"), data).expect("write input");
    let _ = read_json(dir.path(), "source.json");
    let _ = read_jsonl(dir.path(), "source.jsonl");
});
