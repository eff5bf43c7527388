//! JSON and JSON Lines sources, parsed strictly: a key twice in one object, nesting past
//! the limit, an overlong string or more than the memory budget is an error at its line.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::limits::{over_limit, Budget};
use super::{read_source, strip_bom, ReadError, ReadOptions};

/// serde_json refuses nesting past 128 levels by itself; ours must stay below.
const PARSER_DEPTH: usize = 127;

/// Reads a JSON document.
pub fn read_json(dir: &Path, name: &str, options: &ReadOptions) -> Result<Value, ReadError> {
    let Some(bytes) = read_source(dir, name, options, true)? else {
        return Ok(Value::Null);
    };
    let state = RefCell::new(State::new(name, options));
    parse_strict(strip_bom(&bytes), &state).map_err(|e| json_error(name, None, &e))
}

/// Reads a JSON document into a typed value. The document is checked as [`read_json`]
/// checks it first, then parsed into `T` (so type errors keep their line and column).
pub fn read_json_as<T: DeserializeOwned>(
    dir: &Path,
    name: &str,
    options: &ReadOptions,
) -> Result<T, ReadError> {
    let Some(bytes) = read_source(dir, name, options, true)? else {
        return serde_json::from_value(Value::Null).map_err(|e| ReadError::new(name, e.to_string()));
    };
    let state = RefCell::new(State::new(name, options));
    drop(parse_strict(strip_bom(&bytes), &state).map_err(|e| json_error(name, None, &e))?);
    serde_json::from_slice(strip_bom(&bytes)).map_err(|e| json_error(name, None, &e))
}

/// Reads JSON Lines: one document per non-empty line.
///
/// Lines may end in LF or CRLF; lines holding only whitespace are skipped.
pub fn read_jsonl(dir: &Path, name: &str, options: &ReadOptions) -> Result<Vec<Value>, ReadError> {
    let Some(bytes) = read_source(dir, name, options, true)? else {
        return Ok(Vec::new());
    };
    let state = RefCell::new(State::new(name, options));
    let mut docs = Vec::new();
    for (i, line) in strip_bom(&bytes).split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = i as u64 + 1;
        if docs.len() as u64 >= options.max_rows {
            return Err(over_limit(
                name,
                Some(at),
                "the number of lines",
                options.max_rows,
                "max_rows",
            ));
        }
        docs.push(parse_strict(line, &state).map_err(|e| json_error(name, Some(at), &e))?);
    }
    Ok(docs)
}

/// One document, through [`Strict`], refusing trailing data as serde_json does.
fn parse_strict(bytes: &[u8], state: &RefCell<State<'_>>) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict { state, depth: 0 }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// What a strict parse counts and checks across one read.
struct State<'a> {
    name: &'a str,
    budget: Budget<'a>,
    max_depth: usize,
    max_string: u64,
}

impl<'a> State<'a> {
    fn new(name: &'a str, options: &ReadOptions) -> Self {
        Self {
            name,
            budget: Budget::new(name, options),
            max_depth: options.max_depth.min(PARSER_DEPTH),
            max_string: options.max_cell_bytes,
        }
    }
}

/// Counts a value of `bytes` against the budget and checks a string's length; a refusal is
/// a message for serde's error, which adds the position.
fn charge<E: de::Error>(state: &RefCell<State<'_>>, bytes: usize, string: bool) -> Result<(), E> {
    let mut state = state.borrow_mut();
    if string && bytes as u64 > state.max_string {
        let limit = state.max_string;
        let what = format!("a string's length ({bytes} bytes)");
        return Err(E::custom(
            over_limit(state.name, None, &what, limit, "max_cell_bytes").message,
        ));
    }
    state.budget.charge(bytes, None).map_err(|e| E::custom(e.message))
}

/// A [`Value`] built as serde_json's own would be, refusing duplicate keys and counting.
struct Strict<'s, 'a> {
    state: &'s RefCell<State<'a>>,
    depth: usize,
}

impl<'s, 'a> Strict<'s, 'a> {
    fn nested<E: de::Error>(&self) -> Result<Strict<'s, 'a>, E> {
        let state = self.state.borrow();
        if self.depth >= state.max_depth {
            let limit = state.max_depth as u64;
            return Err(E::custom(
                over_limit(
                    state.name,
                    None,
                    "the nesting of arrays and objects",
                    limit,
                    "max_depth",
                )
                .message,
            ));
        }
        Ok(Strict {
            state: self.state,
            depth: self.depth + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        charge(self.state, 0, false)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        charge(self.state, 0, false)?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        charge(self.state, 0, false)?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        charge(self.state, 0, false)?;
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        charge(self.state, v.len(), true)?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        charge(self.state, v.len(), true)?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        charge(self.state, 0, false)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        charge(self.state, 0, false)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.nested()?)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        charge(self.state, 0, false)?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            charge(self.state, key.len(), true)?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key `{key}` in one object (Python's json would keep the last value silently; \
                     nes refuses the ambiguity: remove one)"
                )));
            }
            let value = map.next_value_seed(self.nested()?)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Turns a serde_json error into a positioned [`ReadError`].
///
/// `jsonl_line` is the file line when the document was parsed alone (JSON Lines): serde's
/// own line is then always 1 and only its column is kept.
fn json_error(name: &str, jsonl_line: Option<u64>, err: &serde_json::Error) -> ReadError {
    let message = json_message(err);
    // serde_json reports 0 for what it does not know: the line on I/O errors, the column
    // at the very start of a line (an empty document).
    let column = (err.line() > 0 && err.column() > 0).then_some(err.column() as u64);
    match (jsonl_line, err.line()) {
        (Some(line), _) => ReadError::at(name, line, column, message),
        (None, 0) => ReadError::new(name, message),
        (None, line) => ReadError::at(name, line as u64, column, message),
    }
}

/// serde_json's message without its trailing " at line L column C": the position is
/// already carried by the [`ReadError`].
fn json_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    full.strip_suffix(&suffix).map(str::to_owned).unwrap_or(full)
}
