//! Properties of the semantic diff: for random documents and random edits it reports
//! exactly the edits made; nothing for reformatted documents; list items matched by
//! identity when the model gives one, by position otherwise; and moves made by the real
//! publication API read as moves, not as a delete and a create.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;

use proptest::prelude::*;
use serde_json::{json, Value};

use nes::diff::{self, Change, FieldChange, MapState, State, Status};

/// A state with no files.
struct Empty;

impl State for Empty {
    fn read(&self, _: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

const PATH: &str = "v2/entity/person/x.json";

/// The engine on one document, `old` bytes → `new` bytes.
fn engine(old: &[u8], new: &[u8]) -> Vec<diff::DocChange> {
    let side = |bytes: &[u8]| MapState {
        files: HashMap::from([(PATH.to_string(), Some(bytes.to_vec()))]),
        base: &Empty,
    };
    let (a, b) = (side(old), side(new));
    let d = diff::collect([Ok(PATH.to_string())], &a, &b, &diff::Options::default()).unwrap();
    d.documents
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-zअ-ह ]{0,6}".prop_map(Value::String),
        prop::collection::vec("[a-c]{1,2}", 0..3).prop_map(|v| json!(v)),
    ]
}

/// Keys include ones a JSON path must quote.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("c_d"),
        Just("e-f"),
        Just("g h"),
        Just("names1")
    ]
    .prop_map(str::to_string)
}

fn document() -> impl Strategy<Value = Value> {
    let leaf = scalar();
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        prop::collection::btree_map(key(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect()))
    });
    prop::collection::btree_map(key(), tree, 1..5).prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// A path the way the docs spell it, built independently of the engine.
fn spell(path: &[String]) -> String {
    let mut out = String::new();
    for k in path {
        let plain = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(k);
        } else {
            out.push_str(&format!("[{}]", Value::String(k.clone())));
        }
    }
    out
}

/// Leaves (non-objects and empty objects) and non-empty objects, by path.
fn walk(v: &Value, path: &mut Vec<String>, leaves: &mut Vec<Vec<String>>, objects: &mut Vec<Vec<String>>) {
    match v.as_object() {
        Some(map) if !map.is_empty() => {
            objects.push(path.clone());
            for (k, child) in map {
                path.push(k.clone());
                walk(child, path, leaves, objects);
                path.pop();
            }
        }
        _ => leaves.push(path.clone()),
    }
}

fn at<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| &mut v[k.as_str()])
}

/// Reversed key order and another layout: the same document as JSON, other bytes.
fn reformatted(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!("{} :\n  {}", Value::String(k.clone()), reformatted(v)))
                .collect();
            format!("{{ {} }}", items.join(" ,\n"))
        }
        other => other.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_diff_reports_exactly_the_edits_made(
        doc in document(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3), 0..6),
    ) {
        let (mut leaves, mut objects) = (Vec::new(), Vec::new());
        walk(&doc, &mut Vec::new(), &mut leaves, &mut objects);
        let mut edited = doc.clone();
        let mut expected: Vec<FieldChange> = Vec::new();
        let mut touched: Vec<Vec<String>> = Vec::new();
        for (n, (index, op)) in picks.into_iter().enumerate() {
            match op {
                // Change a leaf to a value it cannot already have.
                0 | 1 if !leaves.is_empty() => {
                    let path = index.get(&leaves).clone();
                    if touched.contains(&path) {
                        continue;
                    }
                    touched.push(path.clone());
                    let old = at(&mut edited, &path).clone();
                    if op == 0 {
                        let new = json!(format!("edit-{n}"));
                        *at(&mut edited, &path) = new.clone();
                        expected.push(FieldChange { path: spell(&path), change: Change::Changed { old, new } });
                    } else {
                        let (parent, key) = path.split_at(path.len() - 1);
                        at(&mut edited, parent).as_object_mut().unwrap().remove(&key[0]);
                        expected.push(FieldChange { path: spell(&path), change: Change::Removed { old } });
                    }
                }
                // Add a fresh key to an object.
                _ => {
                    let mut path = index.get(&objects).clone();
                    let target = at(&mut edited, &path);
                    let Some(map) = target.as_object_mut() else { continue };
                    let key = format!("new{n}");
                    map.insert(key.clone(), json!(n));
                    path.push(key);
                    expected.push(FieldChange { path: spell(&path), change: Change::Added { new: json!(n) } });
                }
            }
        }
        let old = serde_json::to_vec(&doc).unwrap();
        let new = serde_json::to_vec(&edited).unwrap();
        let changes = engine(&old, &new);
        let mut got: Vec<FieldChange> = changes.into_iter().flat_map(|c| c.fields).collect();
        got.sort_by(|a, b| a.path.cmp(&b.path));
        expected.sort_by(|a, b| a.path.cmp(&b.path));
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn identical_or_reformatted_documents_give_nothing(doc in document()) {
        let compact = serde_json::to_vec(&doc).unwrap();
        prop_assert!(engine(&compact, &compact).is_empty());
        let other = reformatted(&doc);
        prop_assert_ne!(other.as_bytes(), &compact[..]);
        prop_assert!(engine(&compact, other.as_bytes()).is_empty());
        let pretty = serde_json::to_vec_pretty(&doc).unwrap();
        prop_assert!(engine(&pretty, other.as_bytes()).is_empty());
    }

    #[test]
    fn names_are_matched_by_kind_whatever_their_order(
        kinds in prop::sample::subsequence(vec!["PRIMARY", "ALIAS", "ALTERNATE", "BIRTH_NAME"], 1..=4),
        edit in any::<prop::sample::Index>(),
        order in any::<u64>(),
    ) {
        let names: Vec<Value> = kinds.iter().map(|k| json!({"kind": k, "en": {"full": format!("{k} name")}})).collect();
        let edited_kind = *edit.get(&kinds);
        let mut after: Vec<Value> = names.clone();
        for n in &mut after {
            if n["kind"] == edited_kind {
                n["en"]["full"] = json!("edited");
            }
        }
        // A deterministic shuffle from the generated seed.
        let mut keyed: Vec<(u64, Value)> = after
            .into_iter()
            .enumerate()
            .map(|(i, v)| (order.wrapping_mul(i as u64 + 1).rotate_left(17), v))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        let after: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
        let j = after.iter().position(|n| n["kind"] == edited_kind).unwrap();
        let old = serde_json::to_vec(&json!({"names": names})).unwrap();
        let new = serde_json::to_vec(&json!({"names": after})).unwrap();
        let fields: Vec<FieldChange> = engine(&old, &new).into_iter().flat_map(|c| c.fields).collect();
        prop_assert_eq!(fields, vec![FieldChange {
            path: format!("names[{j}].en.full"),
            change: Change::Changed { old: json!(format!("{edited_kind} name")), new: json!("edited") },
        }]);
    }

    #[test]
    fn items_without_a_unique_identity_are_matched_by_position(
        len in 1usize..5,
        edit in any::<prop::sample::Index>(),
        appended in any::<bool>(),
    ) {
        let names: Vec<Value> = (0..len).map(|i| json!({"kind": "ALIAS", "en": {"full": format!("n{i}")}})).collect();
        let i = edit.index(len);
        let mut after = names.clone();
        after[i]["en"]["full"] = json!("edited");
        let mut expected = vec![FieldChange {
            path: format!("names[{i}].en.full"),
            change: Change::Changed { old: json!(format!("n{i}")), new: json!("edited") },
        }];
        if appended {
            let extra = json!({"kind": "ALIAS", "en": {"full": "extra"}});
            after.push(extra.clone());
            expected.push(FieldChange { path: format!("names[{len}]"), change: Change::Added { new: extra } });
        }
        let old = serde_json::to_vec(&json!({"names": names})).unwrap();
        let new = serde_json::to_vec(&json!({"names": after})).unwrap();
        let fields: Vec<FieldChange> = engine(&old, &new).into_iter().flat_map(|c| c.fields).collect();
        prop_assert_eq!(fields, expected);
    }
}

// Moves through the real runner: the migration reads which provinces to move from here.
static MOVES: Mutex<Vec<usize>> = Mutex::new(Vec::new());
const PROVINCES: usize = 12;

fn province(i: usize) -> String {
    format!("entity:location/province/p-{i:02}")
}

fn create(ctx: &mut nes::prelude::Context) -> nes::prelude::Result<()> {
    for i in 0..PROVINCES {
        ctx.create_entity(
            &province(i),
            json!({"names": [{"kind": "PRIMARY", "en": {"full": format!("P {i}")}}]}),
            "add",
        )?;
    }
    Ok(())
}

fn relocate(ctx: &mut nes::prelude::Context) -> nes::prelude::Result<()> {
    let moves: Vec<(String, String)> = MOVES
        .lock()
        .unwrap()
        .iter()
        .map(|&i| (province(i), format!("entity:location/province/moved-{i:02}")))
        .collect();
    let pairs: Vec<(&str, &str)> = moves.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    ctx.move_entities(&pairs, "relocate")?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn moves_are_reported_as_moves(moved in prop::sample::subsequence((0..PROVINCES).collect::<Vec<_>>(), 1..PROVINCES)) {
        use nes::migration::registry::Registry;
        use nes::migration::runner::{Outcome, RunOptions, Runner, Target};
        *MOVES.lock().unwrap() = moved.clone();
        let f = common::fixture(&["001-create", "002-move"]);
        let registry = Registry::new(vec![common::migration("001-create", create), common::migration("002-move", relocate)]).unwrap();
        let options = RunOptions { progress: false, stream_logs: false, push: false, ..RunOptions::default() };
        let report = Runner::new(&registry, &f.migrations).run(&f.repo, &Target::AllPending, &options).unwrap();
        prop_assert!(report.migrations.iter().all(|m| m.status == Outcome::Completed), "{:?}", report);

        let range = nes::diff::range::resolve(&f.repo, &["002-move".to_string()]).unwrap();
        let git = f.repo.git();
        let old_tree = range.from.map(|c| git.find_commit(c).unwrap().tree().unwrap());
        let new_tree = git.find_commit(range.to).unwrap().tree().unwrap();
        let paths = diff::source::changed_paths(git, old_tree.as_ref(), Some(&new_tree), |_| true).unwrap();
        let old = diff::TreeState::new(git, old_tree);
        let new = diff::TreeState::new(git, Some(new_tree));
        let d = diff::collect(paths.into_iter().map(|c| Ok(c.path)), &old, &new, &diff::Options::default()).unwrap();
        let mut got: Vec<(String, String)> = d
            .documents
            .iter()
            .map(|c| {
                assert_eq!(c.status, Status::Moved, "{c:?}");
                (c.moved_from.clone().unwrap(), c.id.clone())
            })
            .collect();
        got.sort();
        let expected: Vec<(String, String)> = moved
            .iter()
            .map(|&i| (province(i), format!("entity:location/province/moved-{i:02}")))
            .collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(d.summary.by_kind["entity/location/province"].moved, moved.len());
        // Nothing but the ID differs: no field changes are listed.
        prop_assert!(d.documents.iter().all(|c| c.fields.is_empty()));
    }
}
