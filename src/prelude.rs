//! What migration code needs: `use nes::prelude::*;`.

pub use anyhow::{anyhow, bail, ensure, Context as _};
pub use serde::{Deserialize, Serialize};
pub use serde_json::{json, Value};

/// The result type of `migrate`, `check` and `verify`: any error converts through `?`.
pub type Result<T = (), E = anyhow::Error> = std::result::Result<T, E>;
