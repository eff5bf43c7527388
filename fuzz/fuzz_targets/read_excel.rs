//! Any bytes as a workbook, under each extension calamine dispatches on and none: an error
//! is fine, a panic is a bug (libFuzzer aborts on it even though `read_excel` catches it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nes::migration::readers::read_excel;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["book.xlsx", "book.xls", "book.ods", "book"] {
        std::fs::write(dir.path().join(name), data).expect("write input");
        let _ = read_excel(dir.path(), name, None);
    }
});
