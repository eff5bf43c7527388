//! [`Doc`]: an entity document shared between the run's catalog and the entities a query
//! returns, so that a listing copies pointers, not documents. It reads as a
//! `serde_json::Value`; the first change through it copies the document (copy on write),
//! so a migration never alters what another query sees.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::Value;

/// A shared, copy-on-write JSON document (see the module docs). `doc["names"]`,
/// `doc.get(..)`, `&doc` where a `&Value` is wanted and `doc["x"] = ...` all work as on a
/// `Value`; `Value::from(doc)` takes it out.
#[derive(Clone, PartialEq)]
pub struct Doc(Arc<Value>);

impl Doc {
    /// The document as a `Value` (copied only when it is shared).
    pub fn into_value(self) -> Value {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }

    pub(super) fn shared(value: &Arc<Value>) -> Self {
        Self(Arc::clone(value))
    }
}

impl Deref for Doc {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl DerefMut for Doc {
    fn deref_mut(&mut self) -> &mut Value {
        Arc::make_mut(&mut self.0)
    }
}

impl From<Value> for Doc {
    fn from(value: Value) -> Self {
        Self(Arc::new(value))
    }
}

impl From<Doc> for Value {
    fn from(doc: Doc) -> Self {
        doc.into_value()
    }
}

impl PartialEq<Value> for Doc {
    fn eq(&self, other: &Value) -> bool {
        *self.0 == *other
    }
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_change_copies_and_leaves_the_shared_document_alone() {
        let shared = Arc::new(json!({"names": ["a"], "tags": null}));
        let mut doc = Doc::shared(&shared);
        assert_eq!(doc["names"][0], "a");
        doc["tags"] = json!(["x"]);
        assert_eq!(shared["tags"], Value::Null, "the catalog's copy is untouched");
        assert_eq!(doc, json!({"names": ["a"], "tags": ["x"]}));
        let value: Value = doc.into();
        assert_eq!(value["tags"][0], "x");
    }
}
