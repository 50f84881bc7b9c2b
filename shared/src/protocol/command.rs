//! What people and scripts send (WebSocket and `POST /api/commands`) and what they get back.
//! Owns the command and reply JSON; parsing a request's text into a typed command happens at the
//! edge that receives it, with [`crate::Command`]'s parser.

use serde::{Deserialize, Serialize};

use crate::shortest::Shortest;
use crate::types::{LogIndex, LogModel, NodeId, Term};

use super::event::SimEvent;
use super::follow::{ConnectionRole, PresenterView};
use super::view::ClusterSnapshot;
use super::view::MessageId;

/// A command from a person or script (WebSocket and `POST /api/commands`), tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientCommand {
    /// Append a client request ("add 5"), optionally to a chosen node.
    Append {
        /// The request text (parsed where it is received, into a [`crate::Command`]).
        command: String,
        /// Node to send it to (default: the leader, or any live node in *command* mode).
        #[serde(default)]
        node: Option<NodeId>,
        /// The client's id (1 or more), for exactly-once execution (Raft §8): give it together
        /// with `serial`, and a retry with the same pair is executed once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<u64>,
        /// This request's serial number within `client_id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        serial: Option<u64>,
    },
    /// Crash a node (volatile state lost).
    Crash {
        /// Node.
        node: NodeId,
    },
    /// Restart a crashed node from its disk.
    Restart {
        /// Node.
        node: NodeId,
    },
    /// Cut a node's power (unsynced writes lost).
    PowerLoss {
        /// Node.
        node: NodeId,
    },
    /// Make a node's election timer fire now.
    Timeout {
        /// Node.
        node: NodeId,
    },
    /// Split the cluster into groups; nodes not listed form one more group.
    Partition {
        /// Groups of node ids.
        groups: Vec<Vec<NodeId>>,
    },
    /// Cut the directed link `from → to`.
    Cut {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Restore the directed link `from → to`.
    Uncut {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Cut every link to and from a node.
    Isolate {
        /// Node.
        node: NodeId,
    },
    /// Remove all partitions and cuts.
    Heal,
    /// Change loss, duplication or latency (fields left out stay as they are).
    Network {
        /// 0..=1.
        #[serde(default)]
        loss_probability: Option<f64>,
        /// 0..=1.
        #[serde(default)]
        duplicate_probability: Option<f64>,
        /// Minimum one-way latency.
        #[serde(default)]
        latency_ms_min: Option<u64>,
        /// Maximum one-way latency.
        #[serde(default)]
        latency_ms_max: Option<u64>,
    },
    /// Lose one message in flight.
    DropMessage {
        /// Its id.
        id: MessageId,
    },
    /// Stop virtual time.
    Pause,
    /// Let virtual time run.
    Resume,
    /// Advance to the next event (pauses first).
    Step,
    /// Set the speed: virtual ms per wall ms (1/1000 ..= 1), or 0 for as fast as possible.
    Speed {
        /// The factor.
        speed: f64,
    },
    /// The presenter's page tells viewers what it shows (presenter only, WebSocket only: relayed
    /// to viewers as `ServerMessage::PresenterView`, never run on the cluster).
    PresenterView(PresenterView),
    /// A viewer's answer to the question a lesson asks now (the one request a viewer may send;
    /// WebSocket only, never run on the cluster). Changeable until the reveal.
    Answer {
        /// The `question` of the `prediction` it answers.
        question: u64,
        /// Index of the chosen choice.
        choice: usize,
    },
    /// Set every running follower's and candidate's election timer to the same deadline, so
    /// they time out together and split the vote (RaftScope's "align timers").
    AlignTimers,
    /// Spread those timers evenly over the election timeout range (RaftScope's "spread timers").
    SpreadTimers,
    /// Switch Raft rules off on purpose, or back on: every switch is given (those left out are
    /// off, i.e. correct). Takes effect from now on; see docs/api.md for when each one shows.
    BreakRules {
        /// The switches.
        #[serde(default)]
        rules: crate::raft::BrokenRules,
    },
    /// Start a new cluster (fields left out keep their current values).
    Reset {
        /// 1..=9.
        #[serde(default)]
        nodes: Option<u64>,
        /// Seed.
        #[serde(default)]
        seed: Option<u64>,
        /// "command" or "state".
        #[serde(default)]
        log_model: Option<LogModel>,
        /// Timings.
        #[serde(default)]
        election_timeout_ms_min: Option<u64>,
        /// Timings.
        #[serde(default)]
        election_timeout_ms_max: Option<u64>,
        /// Timings.
        #[serde(default)]
        heartbeat_interval_ms: Option<u64>,
        /// Start from the default settings — timings, network, every Raft rule on — rather than
        /// the current cluster's (a lesson's or the lab's); the fields given still replace them.
        /// The servers, seed and log model left out stay as now either way.
        #[serde(default)]
        default_settings: bool,
    },
}

/// A command on the WebSocket: a client-chosen request id plus the command's fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientRequest {
    /// Echoed in the reply.
    pub request_id: u64,
    /// The command (its `type` and fields sit beside `request_id` in the JSON object).
    #[serde(flatten)]
    pub command: ClientCommand,
}

/// What a successful command returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct CommandOk {
    /// `append`: index given to the entry (absent when forwarded and not yet accepted).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<LogIndex>,
    /// `append`: term given to the entry.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub term: Option<Term>,
    /// `append`: the node that appended it (the leader).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub leader: Option<NodeId>,
    /// `append`: true when the log already held this request (same `client_id` and `serial`),
    /// so nothing new was appended and `index`/`term` name the entry it has.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duplicate: Option<bool>,
    /// `append?wait=commit`: true once committed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub committed: Option<bool>,
    /// Human-readable summary.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
}

/// Slowest allowed speed (virtual ms per wall ms), apart from 0.
pub const SPEED_MIN: f64 = 0.001;
/// Fastest paced speed: real time.
pub const SPEED_MAX: f64 = 1.0;
/// Default speed: RaftScope's 1/100.
pub const SPEED_DEFAULT: f64 = 0.01;

/// 0 (as fast as possible), or a speed in `SPEED_MIN..=SPEED_MAX`; the refusal in a sentence.
pub fn check_speed(speed: f64) -> Result<(), String> {
    if speed == 0.0 || (SPEED_MIN..=SPEED_MAX).contains(&speed) {
        Ok(())
    } else {
        Err(format!(
            "speed must be 0 (as fast as possible) or between {} and {} virtual ms per wall ms, \
             got {}",
            Shortest(SPEED_MIN),
            Shortest(SPEED_MAX),
            Shortest(speed)
        ))
    }
}

impl CommandOk {
    /// The reply to an append that leader `leader` took at `index` (`committed`: when the
    /// client waited for the commit). Shared by the server's driver and the browser's engine, so
    /// both word it alike.
    pub fn appended(leader: NodeId, index: LogIndex, term: Term, committed: Option<bool>) -> Self {
        let message = match committed {
            Some(true) => format!(
                "S{leader} appended the entry at index {index} (term {term}); it is committed"
            ),
            _ => format!("S{leader} appended the entry at index {index} (term {term})"),
        };
        CommandOk {
            index: Some(index),
            term: Some(term),
            leader: Some(leader),
            committed,
            message: Some(message),
            duplicate: None,
        }
    }

    /// The answer to a request the leader's log already held (same client and serial, Raft §8).
    pub fn duplicate(leader: NodeId, index: LogIndex, term: Term) -> Self {
        CommandOk {
            duplicate: Some(true),
            message: Some(format!(
                "S{leader} already holds this request at index {index} (term {term}): duplicate \
                 request ignored, nothing appended"
            )),
            ..CommandOk::appended(leader, index, term, None)
        }
    }
}

/// A message from server to browser, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on every connection.
    Hello {
        /// [`crate::protocol::PROTOCOL_VERSION`].
        protocol_version: u32,
        /// Current state.
        snapshot: ClusterSnapshot,
        /// This connection's role (the server adds it per connection; absent from older servers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<ConnectionRole>,
        /// The URL to give viewers (the LAN address), when the server listens beyond loopback.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        viewer_url: Option<String>,
    },
    /// A fresh full state (after a reset, or when the client fell behind).
    Snapshot {
        /// Current state.
        snapshot: ClusterSnapshot,
        /// Why the run was replaced, when a page or a script replaced it (`fork`, `undo`,
        /// `loaded`, `restored`, `reset`): a page that did not ask can then tell another run
        /// (a loaded trace) from the same run taken back. Absent for a lesson's stop and for a
        /// page that fell behind.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        moved: Option<crate::trace::answers::Reason>,
    },
    /// Events, in order.
    Events {
        /// The batch.
        events: Vec<SimEvent>,
    },
    /// The driver's clock, a few times a second, so viewers can animate between events.
    Clock {
        /// Virtual time now (ms).
        time_ms: u64,
        /// Paused?
        paused: bool,
        /// Virtual ms per wall ms (0 = as fast as possible).
        speed: f64,
    },
    /// The live safety checker's verdict changed: a violation was found (the run paused), or
    /// the rules switched off on purpose changed.
    Safety {
        /// The verdict.
        safety: super::SafetyView,
    },
    /// Answer to one client request.
    Reply(Reply),
    /// The presenter's view state, relayed to viewers (see [`PresenterView`]).
    PresenterView(PresenterView),
    /// The question a lesson asks now and its tally (`None`: none is asked).
    Prediction {
        /// The question, or `null`.
        prediction: Option<super::PredictionView>,
    },
    /// The open lesson changed — opened, moved to another pause point, revealed or closed —
    /// by any page or script: `GET /api/lesson` says where it stands now. Only a notice, so
    /// a close (which leaves the cluster alone, hence sends no snapshot) reaches every page.
    LessonChanged,
}

/// Answer to one client request: on the wire `{"request_id", "ok", "result" | "error"}`, in
/// Rust a `Result`, so a reply can never be both or neither.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "ReplyWire", try_from = "ReplyWire")]
pub struct Reply {
    /// The request's id.
    pub request_id: u64,
    /// What came of it: details, or what went wrong in a sentence.
    pub outcome: Result<CommandOk, String>,
}

/// [`Reply`]'s JSON shape (documented in docs/api.md).
/// (`pub(crate)` for the browser's reader, shared/src/wire/views.rs, which builds one too.)
#[derive(Serialize, Deserialize)]
pub(crate) struct ReplyWire {
    pub(crate) request_id: u64,
    pub(crate) ok: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(crate) result: Option<CommandOk>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(crate) error: Option<String>,
}

impl From<Reply> for ReplyWire {
    fn from(r: Reply) -> Self {
        let ok = r.outcome.is_ok();
        let (result, error) = match r.outcome {
            Ok(result) => (Some(result), None),
            Err(error) => (None, Some(error)),
        };
        ReplyWire {
            request_id: r.request_id,
            ok,
            result,
            error,
        }
    }
}

impl TryFrom<ReplyWire> for Reply {
    type Error = String;
    fn try_from(w: ReplyWire) -> Result<Self, String> {
        let outcome = match (w.ok, w.result, w.error) {
            (true, result, None) => Ok(result.unwrap_or_default()),
            (false, None, Some(error)) => Err(error),
            (ok, _, _) => {
                return Err(format!(
                    "a reply with ok={ok} must carry {}",
                    if ok {
                        "no error"
                    } else {
                        "an error and no result"
                    }
                ))
            }
        };
        Ok(Reply {
            request_id: w.request_id,
            outcome,
        })
    }
}

impl ClientCommand {
    /// An append's client id and serial (§8), checked: both or neither, and the id not 0 (the
    /// simulator's own, for requests sent without one).
    pub fn client_serial(&self) -> Result<Option<crate::types::ClientSerial>, String> {
        let ClientCommand::Append {
            client_id, serial, ..
        } = self
        else {
            return Ok(None);
        };
        match (client_id, serial) {
            (None, None) => Ok(None),
            (Some(0), Some(_)) => Err(
                "client_id 0 is reserved for requests sent without one: use 1 or more".to_string(),
            ),
            (Some(client_id), Some(serial)) => Ok(Some(crate::types::ClientSerial {
                client_id: *client_id,
                serial: *serial,
            })),
            _ => Err("give client_id and serial together, or neither".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::protocol::{Event, NetworkView, NodeView, PeerProgress, Timing, PROTOCOL_VERSION};
    use crate::types::Role;

    #[test]
    fn client_commands_use_the_documented_json() {
        let c: ClientCommand =
            serde_json::from_str(r#"{"type":"append","command":"add 5"}"#).unwrap();
        assert_eq!(
            c,
            ClientCommand::Append {
                command: "add 5".into(),
                node: None,
                client_id: None,
                serial: None,
            }
        );
        let c: ClientCommand = serde_json::from_str(r#"{"type":"crash","node":1}"#).unwrap();
        assert_eq!(c, ClientCommand::Crash { node: NodeId(1) });
        let c: ClientCommand = serde_json::from_str(r#"{"type":"power_loss","node":2}"#).unwrap();
        assert_eq!(c, ClientCommand::PowerLoss { node: NodeId(2) });
        let c: ClientCommand =
            serde_json::from_str(r#"{"type":"partition","groups":[[1,2],[3,4,5]]}"#).unwrap();
        assert_eq!(
            c,
            ClientCommand::Partition {
                groups: vec![
                    vec![NodeId(1), NodeId(2)],
                    vec![NodeId(3), NodeId(4), NodeId(5)]
                ]
            }
        );
        let r: ClientRequest =
            serde_json::from_str(r#"{"request_id":7,"type":"drop_message","id":3}"#).unwrap();
        assert_eq!(r.request_id, 7);
        assert_eq!(r.command, ClientCommand::DropMessage { id: 3 });
        assert!(serde_json::from_str::<ClientCommand>(r#"{"type":"crash"}"#).is_err());
        assert!(serde_json::from_str::<ClientCommand>(r#"{"type":"explode"}"#).is_err());
    }

    #[test]
    fn a_reply_is_a_result_with_the_documented_json() {
        let ok = ServerMessage::Reply(Reply {
            request_id: 3,
            outcome: Ok(CommandOk {
                index: Some(LogIndex(4)),
                ..CommandOk::default()
            }),
        });
        let json = serde_json::to_string(&ok).unwrap();
        assert_eq!(
            json,
            r#"{"type":"reply","request_id":3,"ok":true,"result":{"index":4}}"#
        );
        assert_eq!(serde_json::from_str::<ServerMessage>(&json).unwrap(), ok);
        let err = ServerMessage::Reply(Reply {
            request_id: 4,
            outcome: Err("S9 is down".into()),
        });
        let json = serde_json::to_string(&err).unwrap();
        assert_eq!(
            json,
            r#"{"type":"reply","request_id":4,"ok":false,"error":"S9 is down"}"#
        );
        assert_eq!(serde_json::from_str::<ServerMessage>(&json).unwrap(), err);
        let both = r#"{"type":"reply","request_id":4,"ok":true,"error":"x"}"#;
        assert!(serde_json::from_str::<ServerMessage>(both).is_err());
    }

    #[test]
    fn an_append_takes_client_id_and_serial_together() {
        let with: ClientCommand =
            serde_json::from_str(r#"{"type":"append","command":"add 5","client_id":7,"serial":2}"#)
                .unwrap();
        assert_eq!(
            with.client_serial(),
            Ok(Some(crate::types::ClientSerial {
                client_id: 7,
                serial: 2
            }))
        );
        let half: ClientCommand =
            serde_json::from_str(r#"{"type":"append","command":"add 5","client_id":7}"#).unwrap();
        assert!(half.client_serial().is_err());
        let zero: ClientCommand =
            serde_json::from_str(r#"{"type":"append","command":"add 5","client_id":0,"serial":1}"#)
                .unwrap();
        assert!(zero.client_serial().is_err());
    }

    #[test]
    fn a_snapshot_with_progress_round_trips_inside_a_server_message() {
        let mut progress = BTreeMap::new();
        progress.insert(
            NodeId(2),
            PeerProgress {
                next_index: LogIndex(3),
                match_index: LogIndex(2),
            },
        );
        let node = NodeView {
            id: NodeId(1),
            up: true,
            role: Role::Leader,
            current_term: Term(1),
            voted_for: Some(NodeId(1)),
            commit_index: LogIndex(2),
            last_applied: LogIndex(2),
            value: 0,
            log: Vec::new(),
            log_first_index: LogIndex(1),
            log_len: LogIndex(0),
            synced_index: LogIndex(2),
            leader_id: Some(NodeId(1)),
            election_deadline_ms: None,
            progress,
            votes: Vec::new(),
            storage_failure: None,
        };
        let snapshot = ClusterSnapshot {
            time_ms: 1,
            seq: 1,
            seed: 1,
            log_model: LogModel::Command,
            speed: 1.0,
            paused: false,
            timing: Timing::default(),
            network: NetworkView {
                partitions: Vec::new(),
                cut_links: Vec::new(),
                loss_probability: 0.0,
                duplicate_probability: 0.0,
                latency_ms_min: 1,
                latency_ms_max: 2,
            },
            nodes: vec![node],
            messages: Vec::new(),
            warnings: Vec::new(),
            safety: None,
            log_window: None,
        };
        let m = ServerMessage::Hello {
            protocol_version: PROTOCOL_VERSION,
            snapshot: snapshot.clone(),
            role: Some(ConnectionRole::Viewer),
            viewer_url: Some("http://192.168.1.20:7878/".to_string()),
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""progress":{"2":"#), "{json}");
        assert!(json.contains(r#""role":"viewer""#), "{json}");
        let back: ServerMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let direct: ClusterSnapshot =
            serde_json::from_str(&serde_json::to_string(&snapshot).unwrap()).unwrap();
        assert_eq!(direct, snapshot);
    }

    #[test]
    fn events_flatten_their_type_beside_seq_and_time() {
        let e = SimEvent {
            seq: 3,
            time_ms: 10,
            event: Event::CommitAdvanced {
                node: NodeId(1),
                commit_index: LogIndex(4),
            },
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "commit_advanced");
        assert_eq!(json["seq"], 3);
        assert_eq!(json["commit_index"], 4);
        let back: SimEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn the_lesson_notice_is_its_type_alone() {
        let json = serde_json::to_string(&ServerMessage::LessonChanged).unwrap();
        assert_eq!(json, r#"{"type":"lesson_changed"}"#);
        let back: ServerMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ServerMessage::LessonChanged);
    }
}
