//! The run's record of every file it touched, in the order objects were written: the
//! runner commits from it on success and restores from it on failure.

use std::collections::HashMap;

use crate::git::commit::FileChange;

/// Files touched by a run, grouped in units that must be committed together.
#[derive(Debug, Default)]
pub struct Journal {
    units: Vec<Vec<String>>,
    /// Path → (index of the last unit touching it, whether the file existed before the run).
    paths: HashMap<String, (usize, bool)>,
}

/// How a path differs from before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl Journal {
    /// Records a unit of paths (an object file and its new version file). `existed_before`
    /// is asked only for paths this run has not touched yet.
    pub fn record(&mut self, paths: Vec<String>, mut existed_before: impl FnMut(&str) -> bool) {
        let index = self.units.len();
        for path in &paths {
            match self.paths.get_mut(path) {
                Some(entry) => entry.0 = index,
                None => {
                    let existed = existed_before(path);
                    self.paths.insert(path.clone(), (index, existed));
                }
            }
        }
        self.units.push(paths);
    }

    /// Every touched path (for restoring after a failure), in no particular order.
    pub fn touched(&self) -> Vec<String> {
        self.paths.keys().cloned().collect()
    }

    /// Number of distinct paths touched.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether nothing was touched.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Commit units in write order, each path only in the last unit that touched it.
    /// `exists_now` tells a write from a delete; a file created and deleted again in the
    /// same run is left out.
    pub fn units(&self, mut exists_now: impl FnMut(&str) -> bool) -> Vec<Vec<FileChange>> {
        let mut out = Vec::with_capacity(self.units.len());
        for (index, paths) in self.units.iter().enumerate() {
            let unit: Vec<FileChange> = paths
                .iter()
                .filter_map(|p| {
                    let (last, existed) = self.paths[p];
                    if last != index {
                        return None;
                    }
                    match (exists_now(p), existed) {
                        (true, _) => Some(FileChange::Write(p.clone())),
                        (false, true) => Some(FileChange::Delete(p.clone())),
                        (false, false) => None,
                    }
                })
                .collect();
            if !unit.is_empty() {
                out.push(unit);
            }
        }
        out
    }

    /// Each touched path with how it differs from before the run, sorted by path;
    /// `changed` decides whether a rewritten pre-existing file really differs.
    pub fn changes(
        &self,
        mut exists_now: impl FnMut(&str) -> bool,
        mut changed: impl FnMut(&str) -> bool,
    ) -> Vec<(String, ChangeKind)> {
        let mut out: Vec<(String, ChangeKind)> = self
            .paths
            .iter()
            .filter_map(|(p, &(_, existed))| match (existed, exists_now(p)) {
                (false, true) => Some((p.clone(), ChangeKind::Added)),
                (true, false) => Some((p.clone(), ChangeKind::Deleted)),
                (true, true) if changed(p) => Some((p.clone(), ChangeKind::Changed)),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}
