//! The service's name standardisation (`NameExtractor.standardize_name`), which its
//! migrations apply to every English and Nepali primary name before writing it.

/// Collapses whitespace runs to one space (trimming the ends), keeps words that are all
/// capitals and longer than one character (`RSP`, `(RSP)`), and otherwise upper-cases the
/// first character of each word and lower-cases the rest (Python's `str.capitalize`).
/// Devanagari has no case, so Nepali names only have their spacing changed:
/// `standardize_name("  nepali  CONGRESS party ")` is `"Nepali CONGRESS Party"`.
pub fn standardize_name(name: &str) -> String {
    let words: Vec<String> = name.split_whitespace().map(standardize_word).collect();
    words.join(" ")
}

fn standardize_word(word: &str) -> String {
    if is_upper(word) && word.chars().count() > 1 {
        return word.to_string();
    }
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    first
        .to_uppercase()
        .chain(chars.flat_map(char::to_lowercase))
        .collect()
}

/// Python's `str.isupper`: at least one cased character and no lower-case one.
fn is_upper(word: &str) -> bool {
    let mut cased = false;
    for c in word.chars() {
        if c.is_lowercase() {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}
