//! Every kind of server message, as serde writes it, reads back equal; an unknown or missing
//! `type` is refused with serde's sentence.

use crate::protocol::{
    CommandOk, ConnectionRole, PredictionView, PresenterView, Reply, SafetyView, ServerMessage,
};
use crate::sim::{Sim, SimConfig};
use crate::{Command, LogIndex, NodeId, Term};

use crate::wire::{read, reads_back};

/// A cluster after a few elections and requests, with one server down: its snapshot and events.
fn a_run() -> Sim {
    let mut sim = Sim::new(SimConfig {
        seed: 11,
        ..SimConfig::default()
    })
    .unwrap();
    sim.run_for(1_500);
    for i in 0..5 {
        let _ = sim.propose(None, Command::Add(i));
        sim.run_for(100);
    }
    sim.crash(NodeId(2)).unwrap();
    sim.run_for(700);
    sim
}

fn messages() -> Vec<ServerMessage> {
    let mut sim = a_run();
    let snapshot = sim.snapshot();
    let events = sim.take_events();
    assert!(events.len() > 20, "the run did something");
    let ok = CommandOk {
        index: Some(LogIndex(4)),
        term: Some(Term(2)),
        leader: Some(NodeId(1)),
        duplicate: Some(false),
        committed: Some(true),
        message: Some("appended".into()),
    };
    vec![
        ServerMessage::Hello {
            protocol_version: 7,
            snapshot: snapshot.clone(),
            role: Some(ConnectionRole::Viewer),
            viewer_url: Some("http://10.0.0.2:8080/?view".into()),
        },
        ServerMessage::Hello {
            protocol_version: 7,
            snapshot: snapshot.clone(),
            role: None,
            viewer_url: None,
        },
        ServerMessage::Snapshot {
            snapshot: snapshot.clone(),
            moved: Some(crate::trace::answers::Reason::Fork),
        },
        ServerMessage::Snapshot {
            snapshot,
            moved: None,
        },
        ServerMessage::Events { events },
        ServerMessage::Events { events: Vec::new() },
        ServerMessage::Clock {
            time_ms: 12_345,
            paused: true,
            speed: 0.316_227_766_016_837_94,
        },
        ServerMessage::Safety {
            safety: SafetyView::default(),
        },
        ServerMessage::Reply(Reply {
            request_id: 3,
            outcome: Ok(ok),
        }),
        ServerMessage::Reply(Reply {
            request_id: 4,
            outcome: Ok(CommandOk::default()),
        }),
        ServerMessage::Reply(Reply {
            request_id: 5,
            outcome: Err("no leader".into()),
        }),
        ServerMessage::PresenterView(PresenterView::default()),
        ServerMessage::Prediction { prediction: None },
        ServerMessage::Prediction {
            prediction: Some(PredictionView {
                question: 2,
                text: "Who wins?".into(),
                choices: vec!["S1".into(), "S2".into()],
                open: true,
                answer: None,
                why: None,
                tally: None,
            }),
        },
        ServerMessage::LessonChanged,
    ]
}

#[test]
fn every_message_reads_back() {
    for message in messages() {
        reads_back(&message);
    }
}

#[test]
fn an_unknown_or_missing_type_is_refused() {
    let unknown = read::<ServerMessage>(r#"{"type":"gossip"}"#).unwrap_err();
    assert!(
        unknown.starts_with("unknown variant `gossip`, expected one of `hello`"),
        "{unknown}"
    );
    assert_eq!(
        read::<ServerMessage>(r#"{"time_ms":1}"#).unwrap_err(),
        "missing field `type`"
    );
    assert!(read::<ServerMessage>(r#"{"type":"clock","time_ms":1,"paused":false}"#).is_err());
    assert!(read::<ServerMessage>("[1]").is_err());
}
