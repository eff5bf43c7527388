//! Slugs: the grammar and `text_to_slug`, the original's algorithm (FORMAT.md §1).

use unicode_normalization::UnicodeNormalization;

use super::id::IdError;
use super::model;

/// Makes a slug from text: NFKD, drop non-ASCII, lowercase, whitespace/`_` runs → `-`,
/// drop characters outside `[a-z0-9-]`, collapse and trim hyphens. May return `""`.
pub fn text_to_slug(text: &str) -> String {
    let ascii: String = text.nfkd().filter(char::is_ascii).collect();
    let lower = ascii.to_ascii_lowercase();
    let mut out = String::with_capacity(lower.len());
    // One pass does the original's three regex passes: dropped characters push nothing
    // and a `-` is pushed only after a non-`-`, so `a ( ) b` still gives `a-b`.
    for c in lower.chars() {
        let c = if is_python_space(c) || c == '_' { '-' } else { c };
        match c {
            '-' if out.ends_with('-') => {}
            'a'..='z' | '0'..='9' | '-' => out.push(c),
            _ => {}
        }
    }
    out.trim_matches('-').to_string()
}

/// Python's `\s` restricted to ASCII: space, `\t\n\v\f\r` and `\x1c`–`\x1f`.
fn is_python_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f')
}

/// Checks the slug rules of the model (`ids.slug_*` in `model/nes.toml`; upstream
/// `^[a-z0-9-]+$`, length 3 to 100).
pub fn validate_slug(slug: &str) -> Result<(), IdError> {
    let model = model::model();
    let fail = |rule: String| IdError {
        what: "slug",
        value: slug.to_string(),
        rule,
    };
    let allowed = |c: char| model.slug_charset.iter().any(|&(lo, hi)| (lo..=hi).contains(&c));
    if let Some(bad) = slug.chars().find(|&c| !allowed(c)) {
        return Err(fail(format!(
            "character {bad:?} is not allowed; a slug matches ^[{}]+$",
            model.slug_charset_text
        )));
    }
    let len = slug.len();
    let (min, max) = (model.slug_min_length, model.slug_max_length);
    if !(min..=max).contains(&len) {
        return Err(fail(format!("length {len} is outside {min}..={max}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_md_examples() {
        let cases = [
            ("Kathmandu - 10", "kathmandu-10"),
            ("Café  Nepal_2079", "cafe-nepal-2079"),
            ("CPN (UML)", "cpn-uml"),
            ("Sudur Paschimanchal (सुदुर पश्चिमाञ्चल)", "sudur-paschimanchal"),
            ("ﬁle ½", "file-12"),
            ("अछाम", ""),
            ("Damodar Dahal", "damodar-dahal"),
            (
                "migration-000-example-migration",
                "migration-000-example-migration",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text_to_slug(text), want, "slug of {text:?}");
        }
    }

    #[test]
    fn python_whitespace_and_edges() {
        assert_eq!(text_to_slug("a\x1cb\x1fc\x0bd\x0ce"), "a-b-c-d-e");
        assert_eq!(text_to_slug("__a__ -- b__"), "a-b");
        assert_eq!(text_to_slug("०१२ Ward"), "ward");
        assert_eq!(text_to_slug("A.B,C"), "abc");
        assert_eq!(text_to_slug("a ( ) b"), "a-b");
        assert_eq!(text_to_slug("ÉCOLE Ǆ"), "ecole-dz");
        assert_eq!(text_to_slug(""), "");
    }

    #[test]
    fn slug_grammar() {
        assert!(validate_slug("abc").is_ok());
        assert!(validate_slug("a-1").is_ok());
        assert!(validate_slug(&"a".repeat(100)).is_ok());
        let err = validate_slug("ab").unwrap_err();
        assert!(err.rule.contains("length 2"), "{err}");
        assert!(validate_slug(&"a".repeat(101))
            .unwrap_err()
            .rule
            .contains("length 101"));
        assert!(validate_slug("Abc").unwrap_err().rule.contains("^[a-z0-9-]+$"));
        assert!(validate_slug("a/bc").is_err());
        assert!(validate_slug("a..b").is_err());
        assert!(validate_slug("").is_err());
    }
}
