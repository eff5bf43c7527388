//! Slugs: the grammar and `text_to_slug`, the original's algorithm (FORMAT.md §1).

use super::id::IdError;

/// Makes a slug from text: NFKD, drop non-ASCII, lowercase, whitespace/`_` runs → `-`,
/// drop characters outside `[a-z0-9-]`, collapse and trim hyphens. May return `""`.
pub fn text_to_slug(text: &str) -> String {
    todo!("{text}")
}

/// Checks `^[a-z0-9-]+$` with length 3 to 100.
pub fn validate_slug(slug: &str) -> Result<(), IdError> {
    todo!("{slug}")
}
