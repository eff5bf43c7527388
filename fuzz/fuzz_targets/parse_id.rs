//! Any string through the ID parsers: an error is fine, a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nes::store::id::{AuthorId, ObjectId, VersionId};

fuzz_target!(|input: &str| {
    let _ = ObjectId::parse(input);
    let _ = VersionId::parse(input);
    let _ = AuthorId::parse(input);
});
