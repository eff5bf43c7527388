//! `nes db audit`: for each policy path, the documents and version snapshots holding a value.
