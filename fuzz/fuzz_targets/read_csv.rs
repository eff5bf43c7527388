//! Any bytes as a CSV file, with both delimiters the real sources use: an error is fine,
//! a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nes::migration::readers::{read_csv, read_csv_as, CsvOptions};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("source.csv"), data).expect("write input");
    for delimiter in [b',', b'|'] {
        let options = CsvOptions { delimiter };
        let _ = read_csv(dir.path(), "source.csv", options);
        let _ = read_csv_as::<Vec<String>>(dir.path(), "source.csv", options);
    }
});
