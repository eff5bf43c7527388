//! Reading `model/privacy.toml` and refusing a policy the model contradicts: an unknown
//! prefix, a path through fields the model does not declare, a rule given twice.

use serde::Deserialize;

use super::{FieldPath, Policy, Rule};
use crate::store::model::{self, Description, Type};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    field: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    prefix: String,
    path: String,
    reason: String,
}

/// Parses a policy and checks it against the model in use; every problem names its entry
/// (`field[2] (person: personal_details.fathers_name): ...`).
pub fn load(text: &str) -> Result<Policy, Vec<String>> {
    let file: File = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
    let model = model::model();
    let mut problems = Vec::new();
    let mut rules: Vec<Rule> = Vec::new();
    for (i, entry) in file.field.into_iter().enumerate() {
        let at = format!("field[{i}] ({}: {})", entry.prefix, entry.path);
        let Some(path) = FieldPath::parse(&entry.path) else {
            problems.push(format!(
                "{at}: a path is keys separated by dots, like `personal_details.father_name`"
            ));
            continue;
        };
        let kinds: Vec<usize> = model
            .prefixes
            .iter()
            .filter(|(p, _)| p.as_str() == entry.prefix || p.starts_with(&format!("{}/", entry.prefix)))
            .map(|(_, &k)| k)
            .collect();
        if kinds.is_empty() {
            problems.push(format!(
                "{at}: `{}` is not a registered entity prefix",
                entry.prefix
            ));
            continue;
        }
        for kind in kinds {
            if let Err(problem) = check_path(model, kind, path.keys()) {
                problems.push(format!("{at}: {problem}"));
            }
        }
        if entry.reason.trim().is_empty() || entry.reason.contains('\n') {
            problems.push(format!(
                "{at}: `reason` must say in one line why the field is personal"
            ));
        }
        if rules.iter().any(|r| r.prefix == entry.prefix && r.path == path) {
            problems.push(format!("{at}: listed twice"));
        }
        rules.push(Rule {
            prefix: entry.prefix,
            path,
            reason: entry.reason.trim().to_string(),
        });
    }
    if problems.is_empty() {
        Ok(Policy { rules })
    } else {
        Err(problems)
    }
}

/// Walks `keys` through the kind's declared fields; a free-form object accepts any key below.
fn check_path(model: &Description, kind: usize, keys: &[String]) -> Result<(), String> {
    let mut current = &model.kinds[kind];
    for (depth, key) in keys.iter().enumerate() {
        let Some(field) = current.field(key) else {
            if current.allow_extra {
                return Ok(());
            }
            return Err(format!("kind {} has no field `{key}`", current.name));
        };
        let mut ty = &field.ty;
        while let Type::List(inner) = ty {
            ty = inner;
        }
        let last = depth + 1 == keys.len();
        match ty {
            Type::FreeObject => return Ok(()),
            Type::Kind(k) => current = &model.kinds[*k],
            _ if last => return Ok(()),
            _ => return Err(format!("`{key}` of kind {} holds no fields", current.name)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        load(text).unwrap_err()
    }

    #[test]
    fn refuses_what_the_model_contradicts() {
        let one = |prefix: &str, path: &str| {
            format!("[[field]]\nprefix = \"{prefix}\"\npath = \"{path}\"\nreason = \"r\"\n")
        };
        assert!(problems(&one("person", "personal_details.fathers_name"))[0]
            .contains("kind PersonalDetails has no field `fathers_name`"));
        assert!(problems(&one("persons", "personal_details.father_name"))[0]
            .contains("`persons` is not a registered entity prefix"));
        assert!(problems(&one("person", "slug.x"))[0].contains("`slug` of kind Person holds no fields"));
        assert!(problems(&one("person", "a..b"))[0].contains("keys separated by dots"));
        let twice = one("person", "personal_details.father_name").repeat(2);
        assert!(problems(&twice)[0].contains("listed twice"));
        let blank = one("person", "names.en.full").replace("reason = \"r\"", "reason = \" \"");
        assert!(problems(&blank)[0].contains("why the field is personal"));
        assert!(problems("[[field]]\nprefix = \"person\"\n")[0].contains("missing field"));
    }

    #[test]
    fn accepts_lists_free_objects_and_parent_prefixes() {
        let text = "[[field]]\nprefix = \"person\"\npath = \"contacts.value\"\nreason = \"r\"\n\
                    [[field]]\nprefix = \"organization\"\npath = \"attributes.anything.deep\"\nreason = \"r\"\n";
        let policy = load(text).unwrap();
        assert_eq!(policy.rules.len(), 2);
    }
}
