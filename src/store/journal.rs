//! The run's record of every file it touched, in the order objects were written: the
//! runner commits from it on success and restores from it on failure.

use std::collections::HashMap;

use crate::git::commit::FileChange;

/// Files touched by a run, grouped in units that must be committed together.
#[derive(Debug, Default)]
pub struct Journal {
    units: Vec<Vec<String>>,
    paths: HashMap<String, PathState>,
}

/// What the journal knows of one touched path. The run writes every file through the
/// publication, so whether a file exists now follows from its last write or delete: nothing
/// needs to ask the disk again.
#[derive(Debug, Clone, Copy)]
struct PathState {
    /// Index of the last unit that touched the path.
    last_unit: usize,
    /// Whether the file existed before the run.
    existed: bool,
    /// Whether the last unit wrote it (`false`: deleted it).
    present: bool,
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
    /// Records a unit of paths (an object file and its new version file), each with whether
    /// the unit writes it (`true`) or deletes it. `existed_before` is asked only for paths
    /// this run has not touched yet.
    pub fn record(&mut self, files: Vec<(String, bool)>, mut existed_before: impl FnMut(&str) -> bool) {
        let last_unit = self.units.len();
        let mut paths = Vec::with_capacity(files.len());
        for (path, present) in files {
            match self.paths.get_mut(&path) {
                Some(state) => {
                    state.last_unit = last_unit;
                    state.present = present;
                }
                None => {
                    let existed = existed_before(&path);
                    let state = PathState {
                        last_unit,
                        existed,
                        present,
                    };
                    self.paths.insert(path.clone(), state);
                }
            }
            paths.push(path);
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

    /// The touched paths the run left in place, and those it left deleted.
    pub fn present_and_deleted(&self) -> (Vec<String>, Vec<String>) {
        let (present, deleted): (Vec<_>, Vec<_>) = self.paths.iter().partition(|(_, s)| s.present);
        let paths = |v: Vec<(&String, &PathState)>| v.into_iter().map(|(p, _)| p.clone()).collect();
        (paths(present), paths(deleted))
    }

    /// Commit units in write order, each path only in the last unit that touched it; a file
    /// created and deleted again in the same run is left out.
    pub fn units(&self) -> Vec<Vec<FileChange>> {
        let mut out = Vec::with_capacity(self.units.len());
        for (index, paths) in self.units.iter().enumerate() {
            let unit: Vec<FileChange> = paths
                .iter()
                .filter_map(|p| {
                    let state = self.paths[p];
                    if state.last_unit != index {
                        return None;
                    }
                    match (state.present, state.existed) {
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
    pub fn changes(&self, mut changed: impl FnMut(&str) -> bool) -> Vec<(String, ChangeKind)> {
        let mut out: Vec<(String, ChangeKind)> = self
            .paths
            .iter()
            .filter_map(|(p, state)| match (state.existed, state.present) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn journal() -> Journal {
        // `old.json` and `gone.json` exist before the run; everything else is new.
        let existed = |p: &str| p == "old.json" || p == "gone.json";
        let mut j = Journal::default();
        j.record(vec![("a.json".into(), true), ("old.json".into(), true)], existed);
        j.record(vec![("gone.json".into(), false)], existed);
        j.record(vec![("tmp.json".into(), true)], existed);
        j.record(vec![("tmp.json".into(), false), ("a.json".into(), true)], existed);
        j
    }

    #[test]
    fn units_follow_each_paths_last_write_or_delete() {
        let units = journal().units();
        let paths: Vec<Vec<(&str, bool)>> = units
            .iter()
            .map(|u| {
                u.iter()
                    .map(|c| (c.path(), matches!(c, FileChange::Write(_))))
                    .collect()
            })
            .collect();
        // a.json moved to the last unit; tmp.json, created and deleted again, is left out.
        assert_eq!(
            paths,
            vec![
                vec![("old.json", true)],
                vec![("gone.json", false)],
                vec![("a.json", true)]
            ]
        );
    }

    #[test]
    fn changes_and_the_present_deleted_split_need_no_disk() {
        let j = journal();
        let changes = j.changes(|p| p == "old.json");
        assert_eq!(
            changes,
            vec![
                ("a.json".to_string(), ChangeKind::Added),
                ("gone.json".to_string(), ChangeKind::Deleted),
                ("old.json".to_string(), ChangeKind::Changed),
            ]
        );
        assert!(j.changes(|_| false).iter().all(|(p, _)| p != "old.json"));
        let (mut present, mut deleted) = j.present_and_deleted();
        present.sort();
        deleted.sort();
        assert_eq!(present, ["a.json", "old.json"]);
        assert_eq!(deleted, ["gone.json", "tmp.json"]);
    }
}
