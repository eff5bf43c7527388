//! Devanagari digits (० … ९, U+0966 … U+096F) ↔ ASCII digits.

/// Replaces each Devanagari digit with its ASCII digit, leaving everything else:
/// `"दर्ता नं. २०४"` → `"दर्ता नं. 204"`.
pub fn devanagari_to_ascii_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{0966}'..='\u{096F}' => char::from(b'0' + (c as u32 - 0x0966) as u8),
            _ => c,
        })
        .collect()
}

/// Replaces each ASCII digit with its Devanagari digit, leaving everything else:
/// `"2082-07-16"` → `"२०८२-०७-१६"`.
pub fn ascii_to_devanagari_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x0966 + (c as u32 - '0' as u32)).expect("a Devanagari digit"),
            _ => c,
        })
        .collect()
}

/// The number written in Devanagari or ASCII digits (`"२०४"` → 204); `None` when the text,
/// trimmed, holds anything but digits or does not fit a `u64`.
pub fn parse_number(text: &str) -> Option<u64> {
    let ascii = devanagari_to_ascii_digits(text.trim());
    if ascii.is_empty() || !ascii.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ascii.parse().ok()
}
