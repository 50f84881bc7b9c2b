//! The parser against serde_json: the same values from the same text, and refusals where
//! serde_json refuses.

use super::*;

/// serde_json's reading of `text`, as a tree to compare with ours.
fn via_serde(text: &str) -> Option<Json<'static>> {
    fn convert(v: &serde_json::Value) -> Json<'static> {
        match v {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(*b),
            serde_json::Value::Number(n) => Json::Number(if let Some(u) = n.as_u64() {
                Number::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                Number::Negative(i)
            } else {
                Number::Float(n.as_f64().unwrap())
            }),
            serde_json::Value::String(s) => Json::String(s.clone().into()),
            serde_json::Value::Array(a) => Json::Array(a.iter().map(convert).collect()),
            serde_json::Value::Object(o) => Json::Object(
                o.iter()
                    .map(|(k, v)| (k.clone().into(), convert(v)))
                    .collect(),
            ),
        }
    }
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .map(|v| convert(&v))
}

#[test]
fn reads_what_serde_json_reads() {
    let texts = [
        "null",
        " true ",
        "false",
        "0",
        "-0",
        "12345678901234567890",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "0.1",
        "1e-7",
        "-2.5E+3",
        "0.30000000000000004",
        "1.7976931348623157e308",
        r#""plain""#,
        r#""esc \" \\ \/ \b \f \n \r \t""#,
        r#""\u00e9 \u2603 \ud83d\ude00 é ☃""#,
        "[]",
        "[1, [2, [3]], {}]",
        r#"{"a": 1, "b": {"c": [true, null]}, "d": "x"}"#,
        "\n\t{ \"spaced\" :\r\n [ 1 , 2 ] }\n",
    ];
    for text in texts {
        let ours = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(Some(ours), via_serde(text), "{text}");
    }
}

#[test]
fn refuses_what_serde_json_refuses() {
    let texts = [
        "",
        "   ",
        "nul",
        "tru",
        "[1, 2",
        "[1 2]",
        "[1,]",
        "{\"a\" 1}",
        "{\"a\": 1,}",
        "{a: 1}",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "\"unterminated",
        "\"bad \\x escape\"",
        "\"lone \\ud83d surrogate\"",
        "\"tab\tinside\"",
        "1 2",
        "{} x",
        "[1]]",
        "1e400",
        "-1e400",
        "1e99999999999",
        "[1.8e308]",
    ];
    for text in texts {
        assert!(via_serde(text).is_none(), "serde_json reads {text:?}");
        assert!(parse(text).is_err(), "{text:?} was read");
    }
}

#[test]
fn an_error_says_where() {
    assert_eq!(
        parse("[1,\n2 x]").unwrap_err(),
        "expected `,` or `]` at line 2 column 3"
    );
    assert_eq!(
        parse("").unwrap_err(),
        "EOF while parsing a value at line 1 column 1"
    );
    assert_eq!(
        parse("{} x").unwrap_err(),
        "trailing characters at line 1 column 4"
    );
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    assert!(parse(&deep).unwrap_err().starts_with("nested too deeply"));
    // At serde_json's limit exactly: 127 levels read, 128 refused, by both.
    for (levels, read) in [(127, true), (128, false)] {
        let text = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert_eq!(parse(&text).is_ok(), read, "{levels} levels");
        assert_eq!(
            via_serde(&text).is_some(),
            read,
            "serde_json, {levels} levels"
        );
    }
}

#[test]
fn objects_compare_as_json_values() {
    assert_eq!(parse(r#"{"a":1,"b":2}"#), parse(r#"{"b":2,"a":1}"#));
    assert_ne!(parse(r#"{"a":1}"#), parse(r#"{"a":1,"b":2}"#));
    assert_ne!(parse("[1,2]"), parse("[2,1]"));
    assert_eq!(
        parse(r#"{"a":1}"#).unwrap().get("a"),
        Some(&Json::Number(Number::Unsigned(1)))
    );
}
