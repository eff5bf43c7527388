//! The naming rule of migration folders, shared by `build.rs` and runtime discovery.
//!
//! This file is also compiled into `build.rs` (through `#[path]`), so it uses `std` only.

/// The rule a folder name must follow, as printed in errors.
pub const NAMING_RULE: &str = "a 3-digit prefix (000-999), a hyphen, then lowercase letters, \
digits and single hyphens (e.g. `004-source-election-constituencies`)";

/// Splits a valid folder name into its prefix number and kebab name, or says what is wrong.
pub fn parse_folder_name(name: &str) -> Result<(u16, &str), String> {
    let bytes = name.as_bytes();
    if bytes.len() < 5 || !bytes[..3].iter().all(u8::is_ascii_digit) || bytes[3] != b'-' {
        return Err(format!(
            "`{name}` does not start with a 3-digit prefix and a hyphen: {NAMING_RULE}"
        ));
    }
    let rest = &name[4..];
    if !is_kebab(rest) {
        return Err(format!("`{name}`: after the prefix, use {NAMING_RULE}"));
    }
    let prefix = name[..3].parse().expect("three ASCII digits");
    Ok((prefix, rest))
}

/// Lowercase letters and digits in words joined by single hyphens.
pub fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// `YYYY-MM-DD` with a real month and day (leap years included); usable in `const` context
/// so generated code can assert a migration's `DATE` at compile time.
pub const fn is_valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let mut i = 0;
    while i < 10 {
        if i != 4 && i != 7 && !b[i].is_ascii_digit() {
            return false;
        }
        i += 1;
    }
    let year = digits(b, 0, 4);
    let month = digits(b, 5, 2);
    let day = digits(b, 8, 2);
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    day >= 1 && day <= days
}

const fn digits(b: &[u8], start: usize, len: usize) -> u32 {
    let mut n = 0;
    let mut i = start;
    while i < start + len {
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}
