//! How much a reader accepts, so that a hostile or broken source file is an error that
//! names the file and the limit instead of a run that exhausts the machine's memory.
//!
//! The defaults keep one read's peak memory under about 1 GiB whatever the file holds
//! (measured figures in docs/maintainer-guide.md): the file itself (at most
//! [`ReadOptions::max_file_bytes`]), what the reader returns (estimated, at most
//! [`ReadOptions::max_memory`]) and, for a spreadsheet, the decompressed parts it streams.
//! A migration raises one for a source it knows to be big, with
//! `ctx.source("big.csv").max_rows(5_000_000).csv()`.

use super::ReadError;

/// The limits and choices of one read. `ReadOptions::default()` is what `ctx.read_csv` and
/// the other plain readers use; the builder methods change one field each.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// CSV field delimiter (`b','`; real sources also use `b'|'`).
    pub delimiter: u8,
    /// Size of the file on disk (256 MiB).
    pub max_file_bytes: u64,
    /// Rows of a CSV or sheet (header excluded), lines of JSON Lines (1,000,000).
    pub max_rows: u64,
    /// Columns of a CSV or sheet (16,384, Excel's own limit).
    pub max_columns: u64,
    /// Cells of a CSV or sheet, rows × columns as returned (5,000,000).
    pub max_cells: u64,
    /// Bytes of one cell, field, header or JSON string (1 MiB).
    pub max_cell_bytes: u64,
    /// Estimated memory of what the reader returns (512 MiB): each cell, JSON value or key
    /// counts its bytes plus a fixed overhead.
    pub max_memory: u64,
    /// Nesting depth of JSON arrays and objects (64; at most 127).
    pub max_depth: usize,
    /// Decompressed size of each part (sheet, shared strings...) of an xlsx or ods (64 MiB).
    pub max_part_bytes: u64,
    /// Shared strings an xlsx may declare or hold (1,000,000).
    pub max_shared_strings: u64,
    /// Accept an empty file (0 bytes, or only a BOM and whitespace) as no rows, `null` or
    /// no documents, instead of refusing it.
    pub allow_empty: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            max_file_bytes: 256 << 20,
            max_rows: 1_000_000,
            max_columns: 16_384,
            max_cells: 5_000_000,
            max_cell_bytes: 1 << 20,
            max_memory: 512 << 20,
            max_depth: 64,
            max_part_bytes: 64 << 20,
            max_shared_strings: 1_000_000,
            allow_empty: false,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl ReadOptions {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`ReadOptions::delimiter`].
    delimiter: u8;
    /// Sets [`ReadOptions::max_file_bytes`].
    max_file_bytes: u64;
    /// Sets [`ReadOptions::max_rows`].
    max_rows: u64;
    /// Sets [`ReadOptions::max_columns`].
    max_columns: u64;
    /// Sets [`ReadOptions::max_cells`].
    max_cells: u64;
    /// Sets [`ReadOptions::max_cell_bytes`].
    max_cell_bytes: u64;
    /// Sets [`ReadOptions::max_memory`].
    max_memory: u64;
    /// Sets [`ReadOptions::max_depth`] (values over 127 are treated as 127: the JSON
    /// parser's own limit is 128).
    max_depth: usize;
    /// Sets [`ReadOptions::max_part_bytes`].
    max_part_bytes: u64;
    /// Sets [`ReadOptions::max_shared_strings`].
    max_shared_strings: u64;
}

impl ReadOptions {
    /// Accepts an empty file (see [`ReadOptions::allow_empty`]).
    #[must_use]
    pub fn allow_empty(mut self) -> Self {
        self.allow_empty = true;
        self
    }
}

/// The error for a value over a limit: the file, what is too big, the limit and the option
/// that raises it.
pub(super) fn over_limit(file: &str, line: Option<u64>, what: &str, limit: u64, option: &str) -> ReadError {
    let message = format!(
        "{what} is over the limit of {limit} (`{option}`); if this source is that big on purpose, \
         read it with `ctx.source(\"{file}\").{option}(...)`"
    );
    match line {
        Some(line) => ReadError::at(file, line, None, message),
        None => ReadError::new(file, message),
    }
}

/// Fixed cost counted for each returned cell or JSON value, beside its bytes: map entry,
/// enum tag, allocation headers.
pub(super) const OVERHEAD: u64 = 64;

/// The estimated memory of what a read returns so far, against [`ReadOptions::max_memory`].
pub(super) struct Budget<'a> {
    file: &'a str,
    used: u64,
    limit: u64,
}

impl<'a> Budget<'a> {
    pub(super) fn new(file: &'a str, options: &ReadOptions) -> Self {
        Self {
            file,
            used: 0,
            limit: options.max_memory,
        }
    }

    /// Counts `bytes` more (plus [`OVERHEAD`]); fails past the limit.
    pub(super) fn charge(&mut self, bytes: usize, line: Option<u64>) -> Result<(), ReadError> {
        self.used = self.used.saturating_add(bytes as u64 + OVERHEAD);
        if self.used > self.limit {
            return Err(over_limit(
                self.file,
                line,
                "the memory its rows take (estimated)",
                self.limit,
                "max_memory",
            ));
        }
        Ok(())
    }
}
