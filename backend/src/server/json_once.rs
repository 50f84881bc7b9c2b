//! A command's JSON read with every object's keys given once. serde_json keeps the last of two
//! equal keys, so `{"type":"crash","node":1,"node":2}` crashed S2: a command that says two things
//! is refused instead, as a misspelt field is. Owns that reading; must not know any command
//! (`parse_command` does).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// `text` as a JSON value, refusing an object that gives a key twice ("the key \"node\" is
/// given twice at line 1 column 33").
pub(crate) fn read(text: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Once>(text).map(|once| once.0)
}

/// A value whose objects, at any depth, give each key once.
struct Once(Value);

impl<'de> Deserialize<'de> for Once {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OnceVisitor).map(Once)
    }
}

struct OnceVisitor;

impl<'de> Visitor<'de> for OnceVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Once(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Once(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("the key {key:?} is given twice")));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth() {
        let e = read(br#"{"type":"crash","node":1,"node":2}"#).unwrap_err();
        assert!(
            e.to_string().contains(r#"the key "node" is given twice"#),
            "{e}"
        );
        let e = read(
            br#"{"type":"break_rules","rules":{"ack_before_fsync":true,"ack_before_fsync":false}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("ack_before_fsync"), "{e}");
    }

    #[test]
    fn everything_else_reads_as_serde_json_reads_it() {
        for text in [
            r#"{"type":"append","command":"add 5","node":3,"request_id":18446744073709551615}"#,
            r#"{"a":[1,-2,3.5,null,true,"x",{"b":{}}],"c":[]}"#,
            r#"[{"same":1},{"same":2}]"#,
            "42",
            r#""text""#,
        ] {
            let direct: Value = serde_json::from_str(text).unwrap();
            assert_eq!(read(text.as_bytes()).unwrap(), direct, "{text}");
        }
        assert!(read(b"{oops").is_err());
    }
}
