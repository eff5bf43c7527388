//! The context migration code receives: its folder, its log, source readers, and (through
//! `Deref`) the publication API that changes data.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::readers::{self, CsvRow, ReadOptions, SheetRow};
use crate::store::publication::Publication;

/// What `migrate`, `check` and `verify` get. Publication methods (`create_entity`,
/// `update_entity`, `create_relationship`, ...) are called on it directly.
pub struct Context {
    name: String,
    dir: PathBuf,
    logs: Vec<String>,
    on_log: Box<dyn FnMut(&str) + Send>,
    publication: Publication,
}

impl Context {
    /// A context for the migration `name` whose sources are in `dir`.
    pub fn new(name: &str, dir: PathBuf, publication: Publication) -> Self {
        Self {
            name: name.to_string(),
            dir,
            logs: Vec::new(),
            on_log: Box::new(|_| {}),
            publication,
        }
    }

    /// Streams each log line as it is written (the runner prints them).
    pub fn on_log(&mut self, sink: impl FnMut(&str) + Send + 'static) {
        self.on_log = Box::new(sink);
    }

    /// The migration's folder name, `004-source-election-constituencies`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The migration's folder, where its source files are.
    pub fn migration_dir(&self) -> &Path {
        &self.dir
    }

    /// Records a line in the run's log (kept with its result and printed as it happens).
    pub fn log(&mut self, message: impl Into<String>) {
        let message = message.into();
        (self.on_log)(&message);
        self.logs.push(message);
    }

    /// Everything logged so far.
    pub fn logs(&self) -> &[String] {
        &self.logs
    }

    /// Reads a comma-separated file with a header row into header → value maps.
    pub fn read_csv(&self, name: &str) -> Result<Vec<CsvRow>> {
        self.source(name).csv()
    }

    /// Reads a CSV file with another delimiter (real sources use `b'|'`).
    pub fn read_csv_with(&self, name: &str, delimiter: u8) -> Result<Vec<CsvRow>> {
        self.source(name).delimiter(delimiter).csv()
    }

    /// Reads a comma-separated file into typed rows, by header name.
    pub fn read_csv_as<T: DeserializeOwned>(&self, name: &str) -> Result<Vec<T>> {
        self.source(name).csv_as()
    }

    /// Reads a JSON document.
    pub fn read_json(&self, name: &str) -> Result<Value> {
        self.source(name).json()
    }

    /// Reads a JSON document into a typed value.
    pub fn read_json_as<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        self.source(name).json_as()
    }

    /// Reads JSON Lines, one document per line.
    pub fn read_jsonl(&self, name: &str) -> Result<Vec<Value>> {
        self.source(name).jsonl()
    }

    /// Reads a spreadsheet (xlsx, xls, ods): the named sheet, or the first when `None`.
    pub fn read_excel(&self, name: &str, sheet: Option<&str>) -> Result<Vec<SheetRow>> {
        self.source(name).excel(sheet)
    }

    /// A source file to read with other options than the defaults: a delimiter, a raised
    /// limit for a source known to be big, or an empty file accepted on purpose, e.g.
    /// `ctx.source("wards.csv").max_rows(5_000_000).csv()?`.
    pub fn source(&self, name: &str) -> Source<'_> {
        Source {
            dir: &self.dir,
            name: name.to_owned(),
            options: ReadOptions::default(),
        }
    }

    /// Takes the publication back when the migration is done.
    pub fn into_publication(self) -> (Publication, Vec<String>) {
        (self.publication, self.logs)
    }
}

impl Deref for Context {
    type Target = Publication;

    fn deref(&self) -> &Publication {
        &self.publication
    }
}

impl DerefMut for Context {
    fn deref_mut(&mut self) -> &mut Publication {
        &mut self.publication
    }
}

/// One source file and the options to read it with ([`Context::source`]). Each option
/// method sets one field of [`ReadOptions`]; a reading method ends the chain.
#[must_use = "a source does nothing until read with .csv(), .json(), .excel(...)"]
pub struct Source<'a> {
    dir: &'a Path,
    name: String,
    options: ReadOptions,
}

macro_rules! source_options {
    ($($name:ident: $ty:ty),* $(,)?) => {
        impl Source<'_> {
            $(
                #[doc = concat!("Sets [`ReadOptions::", stringify!($name), "`] for this read.")]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.options = self.options.$name(value);
                    self
                }
            )*
        }
    };
}

source_options! {
    delimiter: u8,
    max_file_bytes: u64,
    max_rows: u64,
    max_columns: u64,
    max_cells: u64,
    max_cell_bytes: u64,
    max_memory: u64,
    max_depth: usize,
    max_part_bytes: u64,
    max_shared_strings: u64,
}

impl Source<'_> {
    /// Accepts an empty file: no rows, `null`, no documents.
    pub fn allow_empty(mut self) -> Self {
        self.options = self.options.allow_empty();
        self
    }

    /// Reads it as CSV with a header row into header → value maps.
    pub fn csv(self) -> Result<Vec<CsvRow>> {
        Ok(readers::read_csv(self.dir, &self.name, &self.options)?)
    }

    /// Reads it as CSV into typed rows, by header name.
    pub fn csv_as<T: DeserializeOwned>(self) -> Result<Vec<T>> {
        Ok(readers::read_csv_as(self.dir, &self.name, &self.options)?)
    }

    /// Reads it as one JSON document.
    pub fn json(self) -> Result<Value> {
        Ok(readers::read_json(self.dir, &self.name, &self.options)?)
    }

    /// Reads it as one JSON document into a typed value.
    pub fn json_as<T: DeserializeOwned>(self) -> Result<T> {
        Ok(readers::read_json_as(self.dir, &self.name, &self.options)?)
    }

    /// Reads it as JSON Lines.
    pub fn jsonl(self) -> Result<Vec<Value>> {
        Ok(readers::read_jsonl(self.dir, &self.name, &self.options)?)
    }

    /// Reads a sheet of it as a spreadsheet (the first when `None`).
    pub fn excel(self, sheet: Option<&str>) -> Result<Vec<SheetRow>> {
        Ok(readers::read_excel(self.dir, &self.name, sheet, &self.options)?)
    }
}
