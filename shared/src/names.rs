//! Unit enums read from their wire names by one table lookup. Owns that reader only: each enum
//! keeps its names beside it, and its derived `Serialize` writes them.
//!
//! Why: serde's derive for a unit enum compiles, per enum, a matcher for the name as text and
//! another for it as bytes (the 24 event kinds' alone were 5 KB of the page's wasm). Here the
//! name is read as a string, one reader for every enum, and looked up in the enum's table; an
//! unknown name gets serde's own sentence ("unknown variant `x`, expected one of …").

use serde::de::Error;
use serde::Deserializer;

/// The value whose wire name `deserializer` holds: `names[i]` names `values[i]`.
pub(crate) fn read<'de, D: Deserializer<'de>, T: Copy>(
    deserializer: D,
    names: &'static [&'static str],
    values: &[T],
) -> Result<T, D::Error> {
    let name: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(deserializer)?;
    match names.iter().position(|n| *n == name) {
        Some(i) => Ok(values[i]),
        None => Err(D::Error::unknown_variant(&name, names)),
    }
}
