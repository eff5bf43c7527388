//! Any bytes as a workbook, under each extension calamine dispatches on and none, under
//! small limits (cells, parts, shared strings, memory): an error is fine, a panic is a bug
//! (libFuzzer aborts on it even though `read_excel` catches it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nes::migration::readers::{read_excel, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = ReadOptions::default()
        .max_rows(64)
        .max_columns(32)
        .max_cells(512)
        .max_cell_bytes(256)
        .max_part_bytes(1 << 20)
        .max_shared_strings(1024)
        .max_memory(64 << 10);
    for name in ["book.xlsx", "book.xls", "book.ods", "book"] {
        std::fs::write(dir.path().join(name), data).expect("write input");
        let _ = read_excel(dir.path(), name, None, &options);
    }
});
