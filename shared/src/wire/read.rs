//! [`FromJson`]: a wire type read from a [`Json`] tree, with the primitives' readers and the
//! helpers every type's reader is written with ([`Fields`], [`unit`], [`read`]). Owns the
//! rules serde's derive follows for the wire (a missing `Option` is `None`, `#[serde(default)]`
//! is [`Fields::or_default`], unknown members are ignored); must not know any one type.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::NodeId;

pub use super::json::{parse, Json, Number};

/// A type the page reads from JSON. Each reader mirrors what the type's `Serialize` writes;
/// `wire/tests.rs` reads back what serde wrote, for every type.
pub trait FromJson: Sized {
    /// Read the type from `json`; an error is a sentence naming the field where it failed.
    fn from_json(json: &Json) -> Result<Self, String>;

    /// What the type reads as when its field is missing: `None` for an `Option` (as serde's
    /// derive does), otherwise nothing, and the field is reported missing.
    fn missing() -> Option<Self> {
        None
    }
}

/// Parse `text` and read a `T` from it: the page's one entry point for JSON.
pub fn read<T: FromJson>(text: &str) -> Result<T, String> {
    T::from_json(&parse(text)?)
}

/// "invalid type: {found}, expected {expected}", serde's words for a value of the wrong kind.
pub fn invalid(json: &Json, expected: &str) -> String {
    format!("invalid type: {}, expected {expected}", json.kind())
}

/// An object's members, for reading a struct or a tagged variant field by field.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    members: &'a [(Cow<'a, str>, Json<'a>)],
}

impl<'a> Fields<'a> {
    /// The members of `json`, which must be an object with no key written twice (serde's
    /// derive refuses that too: which of the two would count?); `what` names the type for the
    /// error.
    pub fn of(json: &'a Json<'a>, what: &str) -> Result<Fields<'a>, String> {
        match json {
            Json::Object(members) => {
                for (i, (key, _)) in members.iter().enumerate() {
                    if members[..i].iter().any(|(k, _)| k == key) {
                        return Err(format!("duplicate field `{key}`"));
                    }
                }
                Ok(Fields { members })
            }
            other => Err(invalid(other, what)),
        }
    }

    /// The member `key`, if present (the first, if written twice).
    pub fn raw(&self, key: &str) -> Option<&'a Json<'a>> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The field `key`: read as a `T`, or `T::missing()` when absent (an error unless `T` is an
    /// `Option`). An error names the field.
    pub fn get<T: FromJson>(&self, key: &str) -> Result<T, String> {
        match self.raw(key) {
            Some(json) => T::from_json(json).map_err(|e| format!("{key}: {e}")),
            None => T::missing().ok_or_else(|| format!("missing field `{key}`")),
        }
    }

    /// A `#[serde(default)]` field: `T::default()` when absent.
    pub fn or_default<T: FromJson + Default>(&self, key: &str) -> Result<T, String> {
        match self.raw(key) {
            Some(_) => self.get(key),
            None => Ok(T::default()),
        }
    }

    /// The tag of an internally tagged enum (`"type"`, `"kind"`): a string member.
    pub fn tag(&self, key: &str) -> Result<&'a str, String> {
        match self.raw(key) {
            Some(Json::String(name)) => Ok(name),
            Some(other) => Err(format!("{key}: {}", invalid(other, "a string"))),
            None => Err(format!("missing field `{key}`")),
        }
    }
}

/// A unit enum written as its name: `values[i]` is named `names[i]`. An unknown name gets
/// serde's sentence.
pub fn unit<T: Copy>(json: &Json, names: &[&str], values: &[T]) -> Result<T, String> {
    let name = json.as_str().ok_or_else(|| invalid(json, "a string"))?;
    match names.iter().position(|n| *n == name) {
        Some(i) => Ok(values[i]),
        None => Err(unknown_variant(name, names)),
    }
}

/// serde's sentence for a tag or unit name it does not know.
pub fn unknown_variant(name: &str, names: &[&str]) -> String {
    let expected = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("unknown variant `{name}`, expected one of {expected}")
}

impl FromJson for bool {
    fn from_json(json: &Json) -> Result<Self, String> {
        match json {
            Json::Bool(b) => Ok(*b),
            other => Err(invalid(other, "a boolean")),
        }
    }
}

impl FromJson for u64 {
    fn from_json(json: &Json) -> Result<Self, String> {
        json.as_u64()
            .ok_or_else(|| invalid(json, "a non-negative integer"))
    }
}

/// The narrower unsigned integers: a `u64` that fits.
macro_rules! narrow_unsigned {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(json: &Json) -> Result<Self, String> {
                let n = u64::from_json(json)?;
                <$t>::try_from(n).map_err(|_| format!("{n} is out of range"))
            }
        }
    )*};
}
narrow_unsigned!(u8, u16, u32, usize);

impl FromJson for i64 {
    fn from_json(json: &Json) -> Result<Self, String> {
        match json {
            Json::Number(Number::Negative(n)) => Ok(*n),
            Json::Number(Number::Unsigned(n)) => {
                i64::try_from(*n).map_err(|_| format!("{n} is out of range"))
            }
            other => Err(invalid(other, "an integer")),
        }
    }
}

impl FromJson for f64 {
    fn from_json(json: &Json) -> Result<Self, String> {
        match json {
            Json::Number(Number::Float(x)) => Ok(*x),
            Json::Number(Number::Unsigned(n)) => Ok(*n as f64),
            Json::Number(Number::Negative(n)) => Ok(*n as f64),
            other => Err(invalid(other, "a number")),
        }
    }
}

impl FromJson for String {
    fn from_json(json: &Json) -> Result<Self, String> {
        json.as_str()
            .map(str::to_string)
            .ok_or_else(|| invalid(json, "a string"))
    }
}

/// A value kept as it is (a trace's configuration, compared as JSON), owning its strings.
impl FromJson for Json<'static> {
    fn from_json(json: &Json) -> Result<Self, String> {
        Ok(json.clone().into_owned())
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(json: &Json) -> Result<Self, String> {
        match json {
            Json::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }

    fn missing() -> Option<Self> {
        Some(None)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(json: &Json) -> Result<Self, String> {
        match json {
            Json::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| T::from_json(item).map_err(|e| format!("[{i}]: {e}")))
                .collect(),
            other => Err(invalid(other, "an array")),
        }
    }
}

impl<T: FromJson> FromJson for Box<T> {
    fn from_json(json: &Json) -> Result<Self, String> {
        T::from_json(json).map(Box::new)
    }
}

/// A map keyed by node, written as an object whose keys are the ids as text (`{"1": …}`).
impl<T: FromJson> FromJson for BTreeMap<NodeId, T> {
    fn from_json(json: &Json) -> Result<Self, String> {
        let Json::Object(members) = json else {
            return Err(invalid(json, "a map keyed by node id"));
        };
        let mut map = BTreeMap::new();
        for (key, value) in members {
            let id = key
                .parse::<u64>()
                .map_err(|_| format!("invalid node id `{key}`"))?;
            map.insert(
                NodeId(id),
                T::from_json(value).map_err(|e| format!("{key}: {e}"))?,
            );
        }
        Ok(map)
    }
}

/// The id newtypes, written as bare numbers (`#[serde(transparent)]`).
macro_rules! transparent_u64 {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(json: &Json) -> Result<Self, String> {
                u64::from_json(json).map(Self)
            }
        }
    )*};
}
transparent_u64!(crate::NodeId, crate::Term, crate::LogIndex);
