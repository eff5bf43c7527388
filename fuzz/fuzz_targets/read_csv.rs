//! Any bytes as a CSV file, with both delimiters the real sources use, under small limits
//! (so an input can reach them, and the fuzzer's memory stays low): an error is fine, a
//! panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nes::migration::readers::{read_csv, read_csv_as, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("source.csv"), data).expect("write input");
    for delimiter in [b',', b'|'] {
        let options = ReadOptions::default()
            .delimiter(delimiter)
            .max_rows(64)
            .max_columns(32)
            .max_cells(512)
            .max_cell_bytes(256)
            .max_memory(64 << 10);
        let _ = read_csv(dir.path(), "source.csv", &options);
        let _ = read_csv_as::<Vec<String>>(dir.path(), "source.csv", &options.allow_empty());
    }
});
