//! The classroom and reply readers against what serde writes (every highlight, predictions,
//! replies of every shape), and bad snapshots refused as serde refuses them.

use crate::protocol::{ClientCommand, ClientRequest, ServerMessage};
use crate::{LogIndex, NodeId};

use super::tests::{faulty_run, same_as_serde};
use super::*;
use crate::wire::{read, reads_back};

// ----- The classroom -----

#[test]
fn connection_roles_have_serde_s_names() {
    // Exhaustive: a new role is a compile error here until `ALL` (and this test) has it.
    let position = |role: ConnectionRole| match role {
        ConnectionRole::Presenter => 0,
        ConnectionRole::Viewer => 1,
    };
    assert_eq!(ConnectionRole::ALL.len(), ConnectionRole::NAMES.len());
    for (i, role) in ConnectionRole::ALL.iter().enumerate() {
        assert_eq!(position(*role), i);
        let written = serde_json::to_string(role).unwrap();
        assert_eq!(written, format!("\"{}\"", ConnectionRole::NAMES[i]));
        reads_back(role);
    }
    assert_eq!(
        read::<ConnectionRole>(r#""teacher""#).unwrap_err(),
        "unknown variant `teacher`, expected one of `presenter`, `viewer`"
    );
}

#[test]
fn run_reasons_have_serde_s_names_and_a_snapshot_says_why_it_came() {
    use crate::trace::answers::Reason;
    // Exhaustive: a new reason is a compile error here until `ALL` (and this test) has it.
    let position = |reason: Reason| match reason {
        Reason::New => 0,
        Reason::Recovered => 1,
        Reason::Reset => 2,
        Reason::Fork => 3,
        Reason::Undo => 4,
        Reason::Loaded => 5,
        Reason::Restored => 6,
    };
    assert_eq!(Reason::ALL.len(), Reason::NAMES.len());
    for (i, reason) in Reason::ALL.iter().enumerate() {
        assert_eq!(position(*reason), i);
        let written = serde_json::to_string(reason).unwrap();
        assert_eq!(written, format!("\"{}\"", Reason::NAMES[i]));
        reads_back(reason);
    }
    // The snapshot a loaded trace sends every page, and the one a lagging page gets (no reason).
    for moved in [Some(Reason::Loaded), None] {
        let message = ServerMessage::Snapshot {
            snapshot: faulty_run(3, false).remove(0),
            moved,
        };
        let text = serde_json::to_string(&message).unwrap();
        assert_eq!(text.contains("\"moved\""), moved.is_some());
        same_as_serde::<ServerMessage>(&text);
    }
}

fn highlights() -> [Highlight; 5] {
    [
        Highlight::Node { node: NodeId(2) },
        Highlight::Entry { index: LogIndex(9) },
        Highlight::NodeEntry {
            node: NodeId(3),
            index: LogIndex(4),
        },
        Highlight::Message { message: 17 },
        Highlight::Link {
            a: NodeId(1),
            b: NodeId(5),
        },
    ]
}

#[test]
fn presenter_views_read_back_with_each_highlight() {
    reads_back(&PresenterView::default());
    for (i, highlight) in highlights().into_iter().enumerate() {
        reads_back(&highlight);
        let i = i as u64;
        let view = PresenterView {
            selected_node: i.is_multiple_of(2).then_some(NodeId(i + 1)),
            selected_message: (i % 2 == 1).then_some(100 + i),
            highlight: Some(highlight),
            presenter_layout: i.is_multiple_of(3),
            scrub_seq: (i > 1).then_some(40 + i),
            scrub_ms: (i > 2).then_some(1_500 + i),
        };
        reads_back(&view);
        // As relayed inside a `presenter_view` server message (its fields beside `type`).
        let text = serde_json::to_string(&ServerMessage::PresenterView(view.clone())).unwrap();
        assert_eq!(read::<PresenterView>(&text), Ok(view.clone()));
        // And as the presenter's request, beside `request_id`.
        let request = ClientRequest {
            request_id: 9,
            command: ClientCommand::PresenterView(view.clone()),
        };
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(read::<PresenterView>(&text), Ok(view));
    }
}

#[test]
fn bad_highlights_are_refused_as_shared_s_reader_refuses_them() {
    let texts = [
        r#"{"kind":"node","node":4,"from_a_newer_page":true}"#,
        r#"{"kind":"link","a":1}"#,
        r#"{"kind":"link","a":1,"b":null}"#,
        r#"{"kind":"glow"}"#,
        r#"{"node":1}"#,
        r#"{"kind":3,"node":1}"#,
        "7",
        r#"{"kind":"node","node":"two"}"#,
        r#"{"kind":"node","node":1,"index":"x"}"#,
        r#"{"kind":"entry","index":2,"a":-1}"#,
        r#"{"kind":"node_entry","node":1}"#,
        r#"{"kind":"message","message":null}"#,
    ];
    for text in texts {
        same_as_serde::<Highlight>(text);
    }
    let error = |text: &str| read::<Highlight>(text).unwrap_err();
    assert_eq!(error(r#"{"kind":"link","a":1}"#), "missing field `b`");
    assert_eq!(error(r#"{"node":1}"#), "missing field `kind`");
    assert_eq!(
        error(r#"{"kind":"glow"}"#),
        "unknown variant `glow`, expected one of `node`, `entry`, `node_entry`, `message`, `link`"
    );
    assert_eq!(
        error("7"),
        "invalid type: a number, expected a highlight (a JSON object with its `kind`)"
    );
}

#[test]
fn predictions_read_back_asked_and_revealed() {
    let asked = PredictionView {
        question: 3,
        text: "Who wins the election of term 4?".into(),
        choices: vec!["S1".into(), "S2".into(), "nobody: a split vote".into()],
        open: true,
        answer: None,
        why: None,
        tally: Some(Tally {
            counts: vec![1, 0, 4],
            answered: 5,
            viewers: 25,
        }),
    };
    let revealed = PredictionView {
        open: false,
        answer: Some(2),
        why: Some("They timed out together.".into()),
        ..asked.clone()
    };
    let viewers = PredictionView {
        tally: None,
        ..asked.clone()
    };
    for p in [&asked, &revealed, &viewers] {
        reads_back(p);
    }
    reads_back(&Tally::default());
    reads_back(&asked.tally.clone().unwrap());
    assert_eq!(
        read::<PredictionView>(r#"{"question":1,"text":"?","open":true}"#).unwrap_err(),
        "missing field `choices`"
    );
    same_as_serde::<Tally>(r#"{"counts":[1],"answered":1}"#);
    same_as_serde::<Tally>(r#"{"counts":[-1],"answered":1,"viewers":2}"#);
}

// ----- Replies -----

#[test]
fn replies_read_back_ok_and_error() {
    let replies = [
        Reply {
            request_id: 1,
            outcome: Ok(CommandOk::default()),
        },
        Reply {
            request_id: 2,
            outcome: Ok(CommandOk::appended(
                NodeId(3),
                LogIndex(12),
                crate::Term(4),
                Some(true),
            )),
        },
        Reply {
            request_id: 3,
            outcome: Ok(CommandOk::appended(
                NodeId(1),
                LogIndex(2),
                crate::Term(1),
                None,
            )),
        },
        Reply {
            request_id: 4,
            outcome: Ok(CommandOk::duplicate(NodeId(2), LogIndex(7), crate::Term(3))),
        },
        Reply {
            request_id: u64::MAX,
            outcome: Err("S9 is down".into()),
        },
        Reply {
            request_id: 0,
            outcome: Err(String::new()),
        },
    ];
    for reply in &replies {
        reads_back(reply);
        if let Ok(ok) = &reply.outcome {
            reads_back(ok);
        }
        // As the server sends it: `{"type":"reply", …}`, the reply's fields beside `type`.
        let text = serde_json::to_string(&ServerMessage::Reply(reply.clone())).unwrap();
        assert_eq!(read::<Reply>(&text).as_ref(), Ok(reply));
    }
}

#[test]
fn every_shape_of_reply_is_taken_or_refused_as_reply_wire_does() {
    // Every combination of `ok`, `result` and `error` (absent, null or given): ours and serde's
    // `TryFrom<ReplyWire>` agree on each, with the same sentence when refused.
    for ok in ["", r#","ok":true"#, r#","ok":false"#] {
        for result in ["", r#","result":null"#, r#","result":{"index":4}"#] {
            for error in ["", r#","error":null"#, r#","error":"S2 is down""#] {
                let text = format!(r#"{{"request_id":5{ok}{result}{error}}}"#);
                same_as_serde::<Reply>(&text);
                if let (Err(ours), Err(serdes)) =
                    (read::<Reply>(&text), serde_json::from_str::<Reply>(&text))
                {
                    assert!(
                        serdes.to_string().starts_with(&ours),
                        "{text}: {ours} / {serdes}"
                    );
                }
            }
        }
    }
    assert_eq!(
        read::<Reply>(r#"{"request_id":4,"ok":true,"error":"x"}"#).unwrap_err(),
        "a reply with ok=true must carry no error"
    );
    assert_eq!(
        read::<Reply>(r#"{"request_id":4,"ok":false,"result":{},"error":"x"}"#).unwrap_err(),
        "a reply with ok=false must carry an error and no result"
    );
    assert_eq!(
        read::<Reply>(r#"{"ok":true}"#).unwrap_err(),
        "missing field `request_id`"
    );
}

// ----- Bad snapshots -----

#[test]
fn bad_snapshots_are_refused_with_a_sentence() {
    let snapshot = faulty_run(21, false).pop().expect("a snapshot");
    let good = serde_json::to_value(&snapshot).unwrap();
    // One change at a time, each refused by serde too.
    let mut cases: Vec<(serde_json::Value, &str)> = Vec::new();
    let mut bad = good.clone();
    bad["log_model"] = "paper".into();
    cases.push((
        bad,
        "log_model: unknown variant `paper`, expected one of `command`, `state`",
    ));
    let mut bad = good.clone();
    bad["nodes"][0].as_object_mut().unwrap().remove("role");
    cases.push((bad, "nodes: [0]: missing field `role`"));
    let mut bad = good.clone();
    bad["nodes"][0]["role"] = "king".into();
    cases.push((
        bad,
        "nodes: [0]: role: unknown variant `king`, expected one of `follower`, `candidate`, \
         `leader`",
    ));
    let mut bad = good.clone();
    bad["nodes"][1].as_object_mut().unwrap().remove("progress");
    cases.push((bad, "nodes: [1]: missing field `progress`"));
    let mut bad = good.clone();
    bad["nodes"][1]["progress"] = serde_json::json!({"two": {"next_index": 1, "match_index": 0}});
    cases.push((bad, "nodes: [1]: progress: invalid node id `two`"));
    let mut bad = good.clone();
    bad["network"]["cut_links"] = serde_json::json!([[1, 2, 3]]);
    cases.push((
        bad,
        "network: cut_links: [0]: invalid length 3, expected an array of length 2",
    ));
    let mut bad = good.clone();
    bad["timing"].as_object_mut().unwrap().remove("fsync_ms");
    cases.push((bad, "timing: missing field `fsync_ms`"));
    let mut bad = good.clone();
    bad["safety"] = serde_json::json!({"invariants": [], "checked_seq": 1,
        "broken_rules": {"ack_before_fsink": true}});
    cases.push((
        bad,
        "safety: broken_rules: unknown field `ack_before_fsink`, expected one of \
         `commit_old_term_by_counting`, `vote_without_log_check`, `forget_vote_on_restart`, \
         `ack_before_fsync`",
    ));
    for (bad, sentence) in cases {
        let text = bad.to_string();
        assert!(
            serde_json::from_str::<ClusterSnapshot>(&text).is_err(),
            "{sentence}"
        );
        assert_eq!(read::<ClusterSnapshot>(&text).unwrap_err(), sentence);
    }
    // A message in flight needs one (the run has some at its end).
    let mut bad = good.clone();
    let messages = bad["messages"].as_array_mut().unwrap();
    assert!(
        !messages.is_empty(),
        "messages in flight at the end of the run"
    );
    messages[0]["kind"] = "Gossip".into();
    let error = read::<ClusterSnapshot>(&bad.to_string()).unwrap_err();
    assert!(
        error.starts_with("messages: [0]: kind: unknown variant `Gossip`"),
        "{error}"
    );
    assert_eq!(
        read::<ClusterSnapshot>("[]").unwrap_err(),
        "invalid type: an array, expected a cluster snapshot"
    );
}
