//! The commands' and `ForkAt`'s readers against serde: every command built by hand reads back
//! (alone and inside a request), and odd or bad texts are accepted or refused as serde does.

use crate::protocol::{Highlight, PresenterView};
use crate::raft::BrokenRules;
use crate::{LogModel, NodeId};

use super::*;
use crate::wire::{read, reads_back};

/// The position of `command`'s variant in the enum. Exhaustive on purpose: a new variant fails
/// to compile here until it is added to [`every_command`] (and so read back by the tests).
fn variant(command: &ClientCommand) -> usize {
    match command {
        ClientCommand::Append { .. } => 0,
        ClientCommand::Crash { .. } => 1,
        ClientCommand::Restart { .. } => 2,
        ClientCommand::PowerLoss { .. } => 3,
        ClientCommand::Timeout { .. } => 4,
        ClientCommand::Partition { .. } => 5,
        ClientCommand::Cut { .. } => 6,
        ClientCommand::Uncut { .. } => 7,
        ClientCommand::Isolate { .. } => 8,
        ClientCommand::Heal => 9,
        ClientCommand::Network { .. } => 10,
        ClientCommand::DropMessage { .. } => 11,
        ClientCommand::Pause => 12,
        ClientCommand::Resume => 13,
        ClientCommand::Step => 14,
        ClientCommand::Speed { .. } => 15,
        ClientCommand::PresenterView(_) => 16,
        ClientCommand::Answer { .. } => 17,
        ClientCommand::AlignTimers => 18,
        ClientCommand::SpreadTimers => 19,
        ClientCommand::BreakRules { .. } => 20,
        ClientCommand::Reset { .. } => 21,
    }
}

/// Every command, with its optional fields both given and left out.
fn every_command() -> Vec<ClientCommand> {
    let append = |node, client_id, serial| ClientCommand::Append {
        command: "add 5".into(),
        node,
        client_id,
        serial,
    };
    let some_rules = BrokenRules {
        vote_without_log_check: true,
        ack_before_fsync: true,
        ..BrokenRules::default()
    };
    vec![
        append(None, None, None),
        append(Some(NodeId(3)), Some(7), Some(2)),
        // Half a pair reads as written: the engine refuses it later, with its own sentence.
        append(None, Some(7), None),
        ClientCommand::Append {
            command: "not a command at all".into(),
            node: Some(NodeId(9)),
            client_id: None,
            serial: Some(0),
        },
        ClientCommand::Crash { node: NodeId(1) },
        ClientCommand::Restart { node: NodeId(2) },
        ClientCommand::PowerLoss { node: NodeId(3) },
        ClientCommand::Timeout { node: NodeId(4) },
        ClientCommand::Partition {
            groups: vec![vec![NodeId(1), NodeId(2)], vec![NodeId(3)]],
        },
        ClientCommand::Partition { groups: vec![] },
        ClientCommand::Cut {
            from: NodeId(1),
            to: NodeId(5),
        },
        ClientCommand::Uncut {
            from: NodeId(5),
            to: NodeId(1),
        },
        ClientCommand::Isolate { node: NodeId(2) },
        ClientCommand::Heal,
        ClientCommand::Network {
            loss_probability: None,
            duplicate_probability: None,
            latency_ms_min: None,
            latency_ms_max: None,
        },
        ClientCommand::Network {
            loss_probability: Some(0.25),
            duplicate_probability: Some(0.1),
            latency_ms_min: Some(3),
            latency_ms_max: Some(40),
        },
        ClientCommand::Network {
            loss_probability: Some(1.0),
            duplicate_probability: None,
            latency_ms_min: None,
            latency_ms_max: Some(0),
        },
        ClientCommand::DropMessage { id: 42 },
        ClientCommand::Pause,
        ClientCommand::Resume,
        ClientCommand::Step,
        ClientCommand::Speed { speed: 0.01 },
        ClientCommand::Speed { speed: 0.0 },
        ClientCommand::Speed { speed: 1.0 },
        ClientCommand::PresenterView(PresenterView::default()),
        ClientCommand::PresenterView(PresenterView {
            selected_node: Some(NodeId(2)),
            selected_message: Some(17),
            highlight: Some(Highlight::NodeEntry {
                node: NodeId(2),
                index: crate::LogIndex(4),
            }),
            presenter_layout: true,
            scrub_seq: Some(300),
            scrub_ms: Some(1500),
        }),
        ClientCommand::Answer {
            question: 3,
            choice: 1,
        },
        ClientCommand::AlignTimers,
        ClientCommand::SpreadTimers,
        ClientCommand::BreakRules {
            rules: BrokenRules::default(),
        },
        ClientCommand::BreakRules { rules: some_rules },
        ClientCommand::Reset {
            nodes: None,
            seed: None,
            log_model: None,
            election_timeout_ms_min: None,
            election_timeout_ms_max: None,
            heartbeat_interval_ms: None,
            default_settings: false,
        },
        ClientCommand::Reset {
            nodes: Some(3),
            seed: Some(u64::MAX),
            log_model: Some(LogModel::State),
            election_timeout_ms_min: Some(150),
            election_timeout_ms_max: Some(300),
            heartbeat_interval_ms: Some(50),
            default_settings: true,
        },
    ]
}

#[test]
fn every_command_reads_back_alone_and_in_a_request() {
    let commands = every_command();
    let mut seen = [false; COMMAND_TYPES.len()];
    for (i, command) in commands.into_iter().enumerate() {
        // The name table says what serde writes for this variant.
        let written = serde_json::to_value(&command).unwrap();
        assert_eq!(
            written["type"],
            COMMAND_TYPES[variant(&command)],
            "{written}"
        );
        seen[variant(&command)] = true;
        reads_back(&command);
        reads_back(&ClientRequest {
            request_id: i as u64 * 1000,
            command,
        });
    }
    assert!(seen.iter().all(|s| *s), "a variant is never read back");
}

/// Both readers accept `text` and read it alike, or both refuse it.
fn agree<T>(text: &str)
where
    T: FromJson + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let ours = read::<T>(text);
    let serdes = serde_json::from_str::<T>(text);
    match (&ours, &serdes) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
        (Err(_), Err(_)) => {}
        _ => panic!("{text}: ours {ours:?}, serde's {serdes:?}"),
    }
}

#[test]
fn odd_and_bad_commands_are_read_or_refused_as_serde_does() {
    let texts = [
        // Unknown members are ignored, on unit commands too.
        r#"{"type":"heal","node":1,"x":[1,2]}"#,
        r#"{"node":4,"type":"crash"}"#,
        // Nulls for the optional fields.
        r#"{"type":"append","command":"add 1","node":null,"client_id":null}"#,
        r#"{"type":"network","loss_probability":null,"latency_ms_max":7}"#,
        r#"{"type":"reset","log_model":null,"nodes":3}"#,
        // A speed written as an integer is a float all the same.
        r#"{"type":"speed","speed":1}"#,
        r#"{"type":"network","loss_probability":0}"#,
        // A presenter view with nothing in it, and with a highlight.
        r#"{"type":"presenter_view"}"#,
        r#"{"type":"presenter_view","highlight":{"kind":"link","a":1,"b":2}}"#,
        r#"{"type":"presenter_view","highlight":{"kind":"link","a":1}}"#,
        r#"{"type":"presenter_view","selected_node":"2"}"#,
        // `break_rules`: every switch given or left out, none unknown.
        r#"{"type":"break_rules"}"#,
        r#"{"type":"break_rules","rules":{}}"#,
        r#"{"type":"break_rules","rules":{"ack_before_fsync":true}}"#,
        r#"{"type":"break_rules","rules":{"ack_before_fsycn":true}}"#,
        r#"{"type":"break_rules","rules":null}"#,
        // Wrong, missing, or unknown.
        r#"{"type":"crash"}"#,
        r#"{"type":"crash","node":null}"#,
        r#"{"type":"crash","node":"1"}"#,
        r#"{"type":"crash","node":1.0}"#,
        r#"{"type":"crash","node":-1}"#,
        r#"{"type":"append"}"#,
        r#"{"type":"append","command":5}"#,
        r#"{"type":"speed"}"#,
        r#"{"type":"speed","speed":"fast"}"#,
        r#"{"type":"partition","groups":[[1,"x"]]}"#,
        r#"{"type":"partition","groups":null}"#,
        r#"{"type":"reset","log_model":"bogus"}"#,
        r#"{"type":"answer","question":1}"#,
        r#"{"type":"answer","question":1,"choice":-2}"#,
        r#"{"type":"explode"}"#,
        r#"{"type":null}"#,
        r#"{"type":"Heal"}"#,
        r#"{}"#,
        "null",
        r#""heal""#,
        "",
        "{",
    ];
    for text in texts {
        agree::<ClientCommand>(text);
        // In a request, with `request_id` first or last.
        if let Some(rest) = text.strip_prefix('{') {
            let sep = if rest.starts_with('}') { "" } else { "," };
            agree::<ClientRequest>(&format!(r#"{{"request_id":9{sep}{rest}"#));
            let body = text.strip_suffix('}').unwrap_or(text);
            let sep = if body == "{" { "" } else { "," };
            agree::<ClientRequest>(&format!(r#"{body}{sep}"request_id":9}}"#));
        }
    }
    for text in [
        r#"{"type":"heal"}"#,
        r#"{"request_id":-1,"type":"heal"}"#,
        r#"{"request_id":"1","type":"heal"}"#,
        r#"{"request_id":1}"#,
        r#"{"request_id":1,"type":"explode"}"#,
        "[1]",
    ] {
        agree::<ClientRequest>(text);
    }
}

#[test]
fn a_refusal_names_what_is_wrong() {
    assert_eq!(
        read::<ClientCommand>(r#"{"node":1}"#).unwrap_err(),
        "missing field `type`"
    );
    assert_eq!(
        read::<ClientCommand>(r#"{"type":"crash"}"#).unwrap_err(),
        "missing field `node`"
    );
    let unknown = read::<ClientCommand>(r#"{"type":"explode"}"#).unwrap_err();
    assert!(
        unknown.starts_with("unknown variant `explode`, expected one of `append`, `crash`"),
        "{unknown}"
    );
    assert!(unknown.ends_with("`break_rules`, `reset`"), "{unknown}");
    assert_eq!(
        read::<ClientRequest>(r#"{"type":"heal"}"#).unwrap_err(),
        "missing field `request_id`"
    );
    assert_eq!(
        read::<ForkAt>(r#"{"at":1500}"#).unwrap_err(),
        "unknown field `at`, expected one of `at_ms`, `seq`, `before_input`"
    );
    assert_eq!(
        read::<ForkAt>(r#"{"seq":1,"seq":2}"#).unwrap_err(),
        "duplicate field `seq`"
    );
}

#[test]
fn every_fork_at_reads_back() {
    let forks = [
        ForkAt::default(),
        ForkAt {
            at_ms: Some(1500),
            ..ForkAt::default()
        },
        ForkAt {
            seq: Some(612),
            ..ForkAt::default()
        },
        ForkAt {
            before_input: Some(0),
            ..ForkAt::default()
        },
        // Read, though `ForkAt::position` refuses it: the refusal is the engine's to word.
        ForkAt {
            at_ms: Some(0),
            seq: Some(u64::MAX),
            before_input: Some(3),
        },
    ];
    for fork in forks {
        reads_back(&fork);
    }
}

#[test]
fn fork_at_accepts_and_refuses_what_serde_does() {
    let texts = [
        // Accepted, one field or several (the engine then asks for exactly one).
        "{}",
        r#"{"at_ms":1500}"#,
        r#"{"seq":612}"#,
        r#"{"before_input":0}"#,
        r#"{"at_ms":1,"seq":2}"#,
        r#"{"before_input":3,"seq":2,"at_ms":1}"#,
        r#"{"at_ms":null}"#,
        r#"{"at_ms":null,"seq":null,"before_input":null}"#,
        r#"{"at_ms":18446744073709551615}"#,
        // Arrays, as serde reads any derived struct: fields in order, missing ones default.
        "[]",
        "[1500]",
        "[null,612]",
        "[null,null,3]",
        "[1,2,3]",
        // Refused: unknown or repeated members, wrong types, too long an array, not an object.
        r#"{"at_ms":1500,"x":1}"#,
        r#"{"at":1500}"#,
        r#"{"AT_MS":1500}"#,
        r#"{"at_ms":1,"at_ms":2}"#,
        r#"{"at_ms":1,"seq":null,"at_ms":null}"#,
        r#"{"at_ms":-1}"#,
        r#"{"at_ms":1.5}"#,
        r#"{"at_ms":1e3}"#,
        r#"{"at_ms":"1500"}"#,
        r#"{"at_ms":18446744073709551616}"#,
        r#"{"before_input":true}"#,
        r#"{"seq":[1]}"#,
        "[1,2,3,4]",
        r#"["x"]"#,
        "[[]]",
        "null",
        "1500",
        "true",
        r#""at_ms""#,
        "",
        "{} {}",
    ];
    for text in texts {
        agree::<ForkAt>(text);
    }
}

/// Where ours differs from serde on purpose, as every reader in wire/ does: serde also reads an
/// internally tagged enum from an array (`["crash", 1]`), a flattened command's `type` from a
/// variant's index (`{"request_id": 1, "type": 1, "node": 2}` is a crash). No one writes those
/// (serde itself never does); ours refuses them. A member given twice is refused by both.
#[test]
fn known_differences_from_serde() {
    assert!(read::<ClientCommand>(r#"["crash",1]"#).is_err());
    assert!(read::<ClientRequest>(r#"{"request_id":1,"type":1,"node":2}"#).is_err());
    assert_eq!(
        read::<ClientCommand>(r#"{"type":"crash","node":1,"node":2}"#),
        Err("duplicate field `node`".to_string())
    );
    assert!(
        serde_json::from_str::<ClientCommand>(r#"{"type":"crash","node":1,"node":2}"#).is_err()
    );
}
