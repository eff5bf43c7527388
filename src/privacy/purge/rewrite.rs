//! The rewrite itself: every commit reachable from the refs, parents first, with the
//! policy's values taken out of every blob.
//!
//! Three passes. The walk lists the commits and the distinct `.json` blobs of their trees
//! (each tree read once, however many commits share it). The blobs are redacted on every
//! core, each thread reading through its own repository handle, most proved empty by the
//! byte scan without being parsed; only changed blobs are kept, as new ids. Then trees and
//! commits are rebuilt in order, a tree rebuilt once (memoised by id) and only when a blob
//! below it changed: a commit costs its changed subtrees.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use git2::{ObjectType, Oid};
use rayon::prelude::*;

use super::objects::{rewrite_commit, rewrite_tag, tag_target, Sink};
use crate::privacy::tree::{json_blobs, tree_entries, EntryKind};
use crate::store::privacy::Policy;

/// Blobs redacted per parallel round: bounds the redacted bytes held before they are packed.
const BLOBS_PER_ROUND: usize = 4096;

/// What a rewrite changed (or, dry, would change).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RewriteCounts {
    /// Commits reachable from the refs, and how many got a new id.
    pub commits: usize,
    pub commits_rewritten: usize,
    /// Distinct `.json` blobs looked at, and how many held values.
    pub blobs_scanned: usize,
    pub blobs_changed: usize,
    /// The oldest commit (parents first) whose id changed.
    pub first_changed_commit: Option<String>,
    /// Per rule of the policy (by index): `(values cleared, blobs holding any)`.
    #[serde(skip)]
    pub per_rule: Vec<(usize, usize)>,
}

/// The rewrite's state: what each old object becomes.
pub(super) struct Rewriter<'r> {
    git: &'r git2::Repository,
    odb: git2::Odb<'r>,
    policy: &'static Policy,
    selection: Vec<usize>,
    /// Changed blobs only.
    blobs: HashMap<Oid, Oid>,
    /// Every tree met, to its new id (itself when unchanged).
    trees: HashMap<Oid, Oid>,
    /// Every commit, to its new id.
    pub commits: HashMap<Oid, Oid>,
    /// Commits parents first, as walked.
    pub order: Vec<Oid>,
    tags: HashMap<Oid, Oid>,
    pub counts: RewriteCounts,
}

impl<'r> Rewriter<'r> {
    pub(super) fn new(
        git: &'r git2::Repository,
        policy: &'static Policy,
        selection: Vec<usize>,
    ) -> Result<Self> {
        Ok(Self {
            git,
            odb: git.odb()?,
            policy,
            selection,
            blobs: HashMap::new(),
            trees: HashMap::new(),
            commits: HashMap::new(),
            order: Vec::new(),
            tags: HashMap::new(),
            counts: RewriteCounts {
                per_rule: vec![(0, 0); policy.rules.len()],
                ..RewriteCounts::default()
            },
        })
    }

    /// Lists the commits reachable from `tips`, parents first, and the distinct `.json`
    /// blobs of their trees; `on_commit` is called once per commit (the progress bar).
    pub(super) fn walk(&mut self, tips: &[Oid], on_commit: &dyn Fn()) -> Result<Vec<Oid>> {
        let mut walk = self.git.revwalk()?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
        for tip in tips {
            walk.push(*tip)?;
        }
        let mut seen_trees = HashSet::new();
        let mut blobs = HashSet::new();
        for oid in walk {
            let oid = oid?;
            let tree = self.git.find_commit(oid)?.tree_id();
            json_blobs(&self.odb, tree, &mut seen_trees, &mut blobs)?;
            self.order.push(oid);
            on_commit();
        }
        self.counts.commits = self.order.len();
        let mut blobs: Vec<Oid> = blobs.into_iter().collect();
        blobs.sort_unstable();
        Ok(blobs)
    }

    /// Redacts `blobs` on every core, handing the changed ones to `sink`.
    pub(super) fn redact_blobs(&mut self, blobs: &[Oid], git_dir: PathBuf, sink: &mut Sink) -> Result<()> {
        self.counts.blobs_scanned = blobs.len();
        let (policy, selection) = (self.policy, &self.selection);
        for round in blobs.chunks(BLOBS_PER_ROUND) {
            let redacted: Vec<(Oid, crate::store::privacy::Redacted)> = round
                .par_iter()
                .map_init(
                    || git2::Repository::open(&git_dir),
                    |handle, &id| -> Result<Option<(Oid, crate::store::privacy::Redacted)>> {
                        let git = handle
                    .as_ref().map_err(|e| anyhow::anyhow!("cannot open {}: {e}", git_dir.display()))?;
                        let object = git.find_blob(id)?;
                        let redacted = policy.redact_bytes(selection, object.content()).with_context(|| {
                            format!("blob {id} (a `.json` file in history) may hold personal data but is not JSON; nes cannot edit it")
                        })?;
                        Ok(redacted.map(|r| (id, r)))
                    },
                )
                .filter_map(Result::transpose)
                .collect::<Result<_>>()?;
            for (old, redacted) in redacted {
                for &(rule, values) in &redacted.cleared {
                    self.counts.per_rule[rule].0 += values;
                    self.counts.per_rule[rule].1 += 1;
                }
                let new = sink.put(ObjectType::Blob, redacted.bytes)?;
                self.blobs.insert(old, new);
            }
        }
        self.counts.blobs_changed = self.blobs.len();
        Ok(())
    }

    /// Rebuilds every walked commit, parents first.
    pub(super) fn rebuild_commits(&mut self, sink: &mut Sink, on_commit: &dyn Fn()) -> Result<()> {
        for i in 0..self.order.len() {
            let old = self.order[i];
            let commit = self.git.find_commit(old)?;
            let tree = self.tree(commit.tree_id(), sink)?;
            let parents: Vec<Oid> = commit
                .parent_ids()
                .map(|p| self.commits.get(&p).copied().unwrap_or(p))
                .collect();
            let unchanged =
                tree == commit.tree_id() && parents.iter().eq(commit.parent_ids().collect::<Vec<_>>().iter());
            let new = if unchanged {
                old
            } else {
                let raw = self.odb.read(old)?;
                sink.put(ObjectType::Commit, rewrite_commit(raw.data(), tree, &parents)?)?
            };
            if new != old {
                self.counts.commits_rewritten += 1;
                self.counts
                    .first_changed_commit
                    .get_or_insert_with(|| old.to_string());
            }
            self.commits.insert(old, new);
            on_commit();
        }
        Ok(())
    }

    /// The new id of a ref's target: commits through the map, annotated tags rewritten
    /// when what they point at changed, trees rebuilt, blobs as they are.
    pub(super) fn target(&mut self, old: Oid, sink: &mut Sink) -> Result<Oid> {
        let kind = self.odb.read_header(old)?.1;
        match kind {
            ObjectType::Commit => Ok(self.commits.get(&old).copied().unwrap_or(old)),
            ObjectType::Tree => self.tree(old, sink),
            ObjectType::Tag => {
                if let Some(&new) = self.tags.get(&old) {
                    return Ok(new);
                }
                let raw = self.odb.read(old)?.data().to_vec();
                let (inner, _) = tag_target(&raw)?;
                let new_inner = self.target(inner, sink)?;
                let new = if new_inner == inner {
                    old
                } else {
                    sink.put(ObjectType::Tag, rewrite_tag(&raw, new_inner))?
                };
                self.tags.insert(old, new);
                Ok(new)
            }
            _ => Ok(old),
        }
    }

    /// The new id of tree `old`: itself unless a blob below it changed.
    fn tree(&mut self, old: Oid, sink: &mut Sink) -> Result<Oid> {
        if let Some(&new) = self.trees.get(&old) {
            return Ok(new);
        }
        let data = self.odb.read(old)?.data().to_vec();
        let data = data.as_slice();
        let mut replaced: Vec<(usize, Oid)> = Vec::new();
        for entry in tree_entries(data).with_context(|| format!("tree {old} is damaged"))? {
            let new = match entry.kind {
                EntryKind::Tree => self.tree(entry.id, sink)?,
                EntryKind::Gitlink => entry.id,
                EntryKind::Blob => self.blobs.get(&entry.id).copied().unwrap_or(entry.id),
            };
            if new != entry.id {
                replaced.push((entry.id_at, new));
            }
        }
        let new = if replaced.is_empty() {
            old
        } else {
            // Same names, modes and order: only ids change, so the tree stays sorted.
            let mut bytes = data.to_vec();
            for (at, id) in replaced {
                bytes[at..at + 20].copy_from_slice(id.as_bytes());
            }
            sink.put(ObjectType::Tree, bytes)?
        };
        self.trees.insert(old, new);
        Ok(new)
    }
}
