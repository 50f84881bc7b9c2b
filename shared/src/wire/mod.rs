//! The JSON reader of the browser's two wasm modules: everything the page reads (the
//! WebSocket's `ServerMessage`s, the server's and the engine's HTTP answers, a trace's outline)
//! is parsed once into a [`Json`] tree by `json.rs` and read from it by a [`FromJson`] impl per
//! type. Owns reading only: both still *write* with serde, and the server reads with serde too;
//! must not decide what a message means (the page's reducer does).
//!
//! Why not serde here: serde's derived readers, its `Content` buffer for internally tagged
//! enums and serde_json's parser inlined into each were ≈ 74 KB of the page's ≈ 353 KB brotli
//! (docs/bench-frontend.md, "The page's own JSON reader"). The readers here mirror what each
//! type's `Serialize` writes, and the `*_tests.rs` files hold them to it: what serde writes, for
//! every type and every event of faulty runs, reads back equal. No I/O, no clock: pure code, as
//! the rest of `shared`.

mod commands;
mod events;
mod float;
mod json;
mod messages;
mod raft;
mod read;
pub(crate) mod trace;
mod views;

pub use raft::command_text;

pub use read::{invalid, parse, read, unit, unknown_variant, Fields, FromJson, Json, Number};

/// For the readers' tests: `value` as serde writes it reads back equal, as text and inside an
/// array (so a reader that reads past its value is caught), and every field removed in turn is
/// either refused or read as serde's derived reader reads it (the same `Option`'s `None`, the
/// same default).
#[cfg(test)]
pub(crate) fn reads_back<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + FromJson + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(value).expect("serde writes it");
    let read_back: T = read(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(&read_back, value, "{text}");
    let listed: Vec<T> = read(&format!("[{text}, {text}]")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed.len(), 2);
    let Json::Object(members) = parse(&text).expect("serde wrote JSON") else {
        return;
    };
    for i in 0..members.len() {
        let mut fewer = members.clone();
        let (key, _) = fewer.remove(i);
        let text = print(&Json::Object(fewer));
        let ours = read::<T>(&text);
        let serdes = serde_json::from_str::<T>(&text);
        match (&ours, &serdes) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "without `{key}`: {text}"),
            (Err(_), Err(_)) => {}
            _ => panic!("without `{key}`: ours {ours:?}, serde's {serdes:?}: {text}"),
        }
    }
}

/// A tree back to text, for the tests (through serde_json, which prints any JSON).
#[cfg(test)]
pub(crate) fn print(json: &Json) -> String {
    fn value(json: &Json) -> serde_json::Value {
        match json {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => (*b).into(),
            Json::Number(Number::Unsigned(n)) => (*n).into(),
            Json::Number(Number::Negative(n)) => (*n).into(),
            Json::Number(Number::Float(x)) => (*x).into(),
            Json::String(s) => s.to_string().into(),
            Json::Array(items) => items.iter().map(value).collect(),
            Json::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), value(v)))
                    .collect(),
            ),
        }
    }
    value(json).to_string()
}
