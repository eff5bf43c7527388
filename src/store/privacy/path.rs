//! Field paths of the privacy policy (`personal_details.father_name`): finding the values a
//! document holds at one, clearing them, and telling whether a diff's field path lies
//! inside one.

use serde_json::Value;

/// Keys separated by dots; a list met on the way is entered element by element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    keys: Vec<String>,
}

impl FieldPath {
    /// Parses `a.b.c`; `None` for an empty path or an empty key.
    pub fn parse(text: &str) -> Option<FieldPath> {
        let keys: Vec<String> = text.split('.').map(str::to_string).collect();
        if keys
            .iter()
            .any(|k| k.is_empty() || k.trim() != k || k.contains(['[', ']']))
        {
            return None;
        }
        Some(FieldPath {
            text: text.to_string(),
            keys,
        })
    }

    /// The path as written in the policy.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The keys, outermost first.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The last key: what a quick byte scan looks for.
    pub fn leaf(&self) -> &str {
        self.keys.last().expect("a parsed path has a key")
    }

    /// The non-null values `doc` holds at this path.
    pub fn held<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        collect(doc, &self.keys, &mut out);
        out
    }

    /// Sets every value held at this path to null; returns how many there were.
    pub fn clear(&self, doc: &mut Value) -> usize {
        replace(doc, &self.keys, &Value::Null)
    }

    /// Hides what this path holds inside `value`, the value a diff shows at `field_path`:
    /// all of it when the field path lies inside this one, the part below when it is an
    /// ancestor (`personal_details` added whole). Null stays null. Returns whether it hid any.
    pub fn hide_in(&self, field_path: &str, value: &mut Value, marker: &Value) -> bool {
        if self.covers(field_path) {
            if value.is_null() {
                return false;
            }
            *value = marker.clone();
            return true;
        }
        let above: Vec<&str> = field_keys(field_path).collect();
        let inside = above.len() < self.keys.len() && above.iter().zip(&self.keys).all(|(a, k)| a == k);
        inside && replace(value, &self.keys[above.len()..], marker) > 0
    }

    /// Whether a diff's field path (`personal_details.father_name.en.value`,
    /// `contacts[2].value`) is this path or lies below it.
    pub fn covers(&self, field_path: &str) -> bool {
        let mut keys = field_path
            .split('.')
            .map(|k| k.split('[').next().unwrap_or(k))
            .filter(|k| !k.is_empty());
        self.keys.iter().all(|k| keys.next() == Some(k.as_str()))
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn collect<'a>(value: &'a Value, keys: &[String], out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect(item, keys, out)),
        Value::Object(map) => {
            let Some(next) = map.get(&keys[0]) else {
                return;
            };
            if keys.len() == 1 {
                if !next.is_null() {
                    out.push(next);
                }
            } else {
                collect(next, &keys[1..], out);
            }
        }
        _ => {}
    }
}

/// The keys of a diff's field path, list indices dropped: `contacts[2].value` → contacts, value.
fn field_keys(field_path: &str) -> impl Iterator<Item = &str> {
    field_path
        .split('.')
        .map(|k| k.split('[').next().unwrap_or(k))
        .filter(|k| !k.is_empty())
}

/// Replaces every non-null value at `keys` with `with`; returns how many there were.
fn replace(value: &mut Value, keys: &[String], with: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter_mut().map(|item| replace(item, keys, with)).sum(),
        Value::Object(map) => {
            let Some(next) = map.get_mut(&keys[0]) else {
                return 0;
            };
            if keys.len() == 1 {
                if next.is_null() {
                    0
                } else {
                    *next = with.clone();
                    1
                }
            } else {
                replace(next, &keys[1..], with)
            }
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_and_clears_values_through_objects_and_lists() {
        let path = FieldPath::parse("contacts.value").unwrap();
        let mut doc = json!({"contacts": [{"value": "a"}, {"value": null}, {"value": "b"}, {}]});
        assert_eq!(path.held(&doc), vec![&json!("a"), &json!("b")]);
        assert_eq!(path.clear(&mut doc), 2);
        assert!(path.held(&doc).is_empty());
        assert_eq!(path.clear(&mut doc), 0, "clearing again changes nothing");
        assert_eq!(doc["contacts"][3], json!({}), "an absent key stays absent");
    }

    #[test]
    fn a_whole_object_is_one_value() {
        let path = FieldPath::parse("personal_details.father_name").unwrap();
        let mut doc = json!({"personal_details": {"father_name": {"en": {"value": "X"}}, "gender": "male"}});
        assert_eq!(path.held(&doc).len(), 1);
        assert_eq!(path.clear(&mut doc), 1);
        assert_eq!(
            doc,
            json!({"personal_details": {"father_name": null, "gender": "male"}})
        );
        assert_eq!(path.clear(&mut json!({"personal_details": null})), 0);
    }

    #[test]
    fn covers_paths_below_it_only() {
        let path = FieldPath::parse("personal_details.father_name").unwrap();
        assert!(path.covers("personal_details.father_name"));
        assert!(path.covers("personal_details.father_name.en.value"));
        assert!(!path.covers("personal_details"));
        assert!(!path.covers("personal_details.father_names"));
        assert!(!path.covers("personal_details.mother_name.en"));
        let list = FieldPath::parse("contacts.value").unwrap();
        assert!(list.covers("contacts[3].value"));
        assert!(!list.covers("contacts[3].type"));
    }

    #[test]
    fn hides_values_inside_or_below_a_diff_path() {
        let path = FieldPath::parse("personal_details.father_name").unwrap();
        let marker = json!("[redacted]");
        let mut whole = json!({"en": {"value": "Hari"}});
        assert!(path.hide_in("personal_details.father_name", &mut whole, &marker));
        assert_eq!(whole, marker);
        let mut leaf = json!("Hari");
        assert!(path.hide_in("personal_details.father_name.en.value", &mut leaf, &marker));
        let mut details = json!({"father_name": {"en": {"value": "Hari"}}, "gender": "male"});
        assert!(path.hide_in("personal_details", &mut details, &marker));
        assert_eq!(details, json!({"father_name": "[redacted]", "gender": "male"}));
        let mut null = Value::Null;
        assert!(!path.hide_in("personal_details.father_name", &mut null, &marker));
        let mut other = json!("male");
        assert!(!path.hide_in("personal_details.gender", &mut other, &marker));
    }

    #[test]
    fn refuses_malformed_paths() {
        for bad in ["", "a..b", ".a", "a.", "a[0].b", " a"] {
            assert!(FieldPath::parse(bad).is_none(), "{bad:?}");
        }
    }
}
