//! Readers of what the server shows the page besides events: the cluster snapshot and its parts
//! (shared/src/protocol/view.rs), the safety panel's verdict (safety.rs, with the rules broken
//! on purpose), the classroom's roles, presenter view and predictions (follow.rs,
//! prediction.rs) and a command's reply (command.rs). Each mirrors that type's serde attributes
//! field by field; must not read `ServerMessage` itself nor the events (their own file does).

use crate::protocol::{
    ClusterSnapshot, CommandOk, ConnectionRole, Highlight, InFlight, InvariantView, LogEntryView,
    MessageId, NetworkView, NodeView, PeerProgress, PredictionView, PresenterView, Reply,
    ReplyWire, SafetyView, SafetyViolation, StorageFailureView, Tally, Timing,
};
use crate::raft::BrokenRules;
use crate::{LogIndex, NodeId};

use super::read::{unit, unknown_variant, Fields, FromJson, Json};

// ----- The cluster snapshot (view.rs) -----

impl FromJson for ClusterSnapshot {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a cluster snapshot")?;
        Ok(ClusterSnapshot {
            time_ms: f.get("time_ms")?,
            seq: f.get("seq")?,
            seed: f.get("seed")?,
            log_model: f.get("log_model")?,
            speed: f.get("speed")?,
            paused: f.get("paused")?,
            timing: f.get("timing")?,
            network: f.get("network")?,
            nodes: f.get("nodes")?,
            messages: f.get("messages")?,
            // The three below are `#[serde(default)]`: left out when empty.
            log_window: f.or_default("log_window")?,
            warnings: f.or_default("warnings")?,
            safety: f.or_default("safety")?,
        })
    }
}

impl FromJson for Timing {
    fn from_json(json: &Json) -> Result<Self, String> {
        // No `#[serde(default)]` here, although `Timing` has a `Default`: every field is needed.
        let f = Fields::of(json, "timings")?;
        Ok(Timing {
            election_timeout_ms_min: f.get("election_timeout_ms_min")?,
            election_timeout_ms_max: f.get("election_timeout_ms_max")?,
            heartbeat_interval_ms: f.get("heartbeat_interval_ms")?,
            fsync_ms: f.get("fsync_ms")?,
            max_entries_per_append: f.get("max_entries_per_append")?,
        })
    }
}

impl FromJson for NetworkView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a network view")?;
        Ok(NetworkView {
            partitions: f.get("partitions")?,
            cut_links: f.get("cut_links")?,
            loss_probability: f.get("loss_probability")?,
            duplicate_probability: f.get("duplicate_probability")?,
            latency_ms_min: f.get("latency_ms_min")?,
            latency_ms_max: f.get("latency_ms_max")?,
        })
    }
}

/// A cut link `[from, to]`: an array of exactly two ids, as serde reads a `[NodeId; 2]`.
impl FromJson for [NodeId; 2] {
    fn from_json(json: &Json) -> Result<Self, String> {
        let ids = Vec::<NodeId>::from_json(json)?;
        match ids[..] {
            [from, to] => Ok([from, to]),
            _ => Err(format!(
                "invalid length {}, expected an array of length 2",
                ids.len()
            )),
        }
    }
}

impl FromJson for NodeView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a node")?;
        Ok(NodeView {
            id: f.get("id")?,
            up: f.get("up")?,
            role: f.get("role")?,
            current_term: f.get("current_term")?,
            voted_for: f.get("voted_for")?,
            commit_index: f.get("commit_index")?,
            last_applied: f.get("last_applied")?,
            value: f.get("value")?,
            log: f.get("log")?,
            // `#[serde(default = "first_index")]`: a snapshot without it holds the whole log.
            log_first_index: match f.raw("log_first_index") {
                None => NodeView::LOG_FIRST_INDEX_DEFAULT,
                Some(_) => f.get("log_first_index")?,
            },
            log_len: f.or_default("log_len")?,
            synced_index: f.get("synced_index")?,
            leader_id: f.get("leader_id")?,
            election_deadline_ms: f.get("election_deadline_ms")?,
            // `deserialize_with = "node_keyed_map"` and no default: the object keyed by the
            // ids as text, and required (a follower's is `{}`, never left out).
            progress: f.get("progress")?,
            votes: f.get("votes")?,
            storage_failure: f.or_default("storage_failure")?,
        })
    }
}

impl FromJson for LogEntryView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a log entry")?;
        Ok(LogEntryView {
            index: f.get("index")?,
            term: f.get("term")?,
            command: f.get("command")?,
            data: f.get("data")?,
        })
    }
}

impl FromJson for PeerProgress {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a follower's progress")?;
        Ok(PeerProgress {
            next_index: f.get("next_index")?,
            match_index: f.get("match_index")?,
        })
    }
}

impl FromJson for StorageFailureView {
    fn from_json(json: &Json) -> Result<Self, String> {
        // `kind` is plain text on the wire (it includes the backend's own `lost_files`).
        let f = Fields::of(json, "a storage failure")?;
        Ok(StorageFailureView {
            kind: f.get("kind")?,
            error: f.get("error")?,
        })
    }
}

impl FromJson for InFlight {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a message in flight")?;
        Ok(InFlight {
            id: f.get("id")?,
            kind: f.get("kind")?,
            from: f.get("from")?,
            to: f.get("to")?,
            sent_at_ms: f.get("sent_at_ms")?,
            deliver_at_ms: f.get("deliver_at_ms")?,
            message: f.get("message")?,
        })
    }
}

// ----- The safety panel (safety.rs) -----

impl FromJson for SafetyView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a safety verdict")?;
        Ok(SafetyView {
            invariants: f.get("invariants")?,
            violation: f.or_default("violation")?,
            checked_seq: f.get("checked_seq")?,
            broken_rules: f.or_default("broken_rules")?,
        })
    }
}

impl FromJson for InvariantView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "an invariant")?;
        Ok(InvariantView {
            name: f.get("name")?,
            holds: f.get("holds")?,
        })
    }
}

impl FromJson for SafetyViolation {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a safety violation")?;
        Ok(SafetyViolation {
            invariant: f.get("invariant")?,
            property: f.get("property")?,
            detail: f.get("detail")?,
            time_ms: f.get("time_ms")?,
            seq: f.get("seq")?,
            nodes: f.get("nodes")?,
            indexes: f.get("indexes")?,
            before_input: f.or_default("before_input")?,
            input: f.or_default("input")?,
        })
    }
}

/// The rules switched off on purpose: `#[serde(default, deny_unknown_fields)]`, so a switch left
/// out is off, and a name it does not know is refused (a typo must not read as correct Raft).
impl FromJson for BrokenRules {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "the rules broken on purpose")?;
        if let Json::Object(members) = json {
            if let Some((key, _)) = members
                .iter()
                .find(|(key, _)| !BrokenRules::NAMES.contains(&key.as_ref()))
            {
                let expected: Vec<String> = BrokenRules::NAMES
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect();
                return Err(format!(
                    "unknown field `{key}`, expected one of {}",
                    expected.join(", ")
                ));
            }
        }
        Ok(BrokenRules {
            commit_old_term_by_counting: f.or_default("commit_old_term_by_counting")?,
            vote_without_log_check: f.or_default("vote_without_log_check")?,
            forget_vote_on_restart: f.or_default("forget_vote_on_restart")?,
            ack_before_fsync: f.or_default("ack_before_fsync")?,
        })
    }
}

// ----- The classroom (follow.rs, prediction.rs) -----

impl FromJson for crate::trace::answers::Reason {
    fn from_json(json: &Json) -> Result<Self, String> {
        use crate::trace::answers::Reason;
        unit(json, Reason::NAMES, Reason::ALL)
    }
}

impl FromJson for ConnectionRole {
    fn from_json(json: &Json) -> Result<Self, String> {
        unit(json, ConnectionRole::NAMES, ConnectionRole::ALL)
    }
}

impl FromJson for PresenterView {
    fn from_json(json: &Json) -> Result<Self, String> {
        // Every field is `#[serde(default)]`: `{}` is the view with nothing selected.
        let f = Fields::of(json, "a presenter view")?;
        Ok(PresenterView {
            selected_node: f.or_default("selected_node")?,
            selected_message: f.or_default("selected_message")?,
            highlight: f.or_default("highlight")?,
            presenter_layout: f.or_default("presenter_layout")?,
            scrub_seq: f.or_default("scrub_seq")?,
            scrub_ms: f.or_default("scrub_ms")?,
        })
    }
}

/// A highlight, tagged by `kind`, read as shared's hand reader (`HighlightFields` in
/// follow.rs) reads it: every field any kind uses is read with its type first, whatever the
/// kind (so `"index":"x"` is refused even on a `node`), then the kind picks those it needs; a
/// needed field left out or `null` is "missing".
impl FromJson for Highlight {
    fn from_json(json: &Json) -> Result<Self, String> {
        const KINDS: [&str; 5] = ["node", "entry", "node_entry", "message", "link"];
        let f = Fields::of(json, "a highlight (a JSON object with its `kind`)")?;
        let node: Option<NodeId> = f.get("node")?;
        let index: Option<LogIndex> = f.get("index")?;
        let message: Option<MessageId> = f.get("message")?;
        let a: Option<NodeId> = f.get("a")?;
        let b: Option<NodeId> = f.get("b")?;
        Ok(match f.tag("kind")? {
            "node" => Highlight::Node {
                node: need(node, "node")?,
            },
            "entry" => Highlight::Entry {
                index: need(index, "index")?,
            },
            "node_entry" => Highlight::NodeEntry {
                node: need(node, "node")?,
                index: need(index, "index")?,
            },
            "message" => Highlight::Message {
                message: need(message, "message")?,
            },
            "link" => Highlight::Link {
                a: need(a, "a")?,
                b: need(b, "b")?,
            },
            other => return Err(unknown_variant(other, &KINDS)),
        })
    }
}

/// A field the highlight's kind must have (shared's `need`, with serde's sentence).
fn need<T>(field: Option<T>, name: &str) -> Result<T, String> {
    field.ok_or_else(|| format!("missing field `{name}`"))
}

impl FromJson for PredictionView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a prediction")?;
        Ok(PredictionView {
            question: f.get("question")?,
            text: f.get("text")?,
            choices: f.get("choices")?,
            open: f.get("open")?,
            // Left out until the reveal (and the tally, on a viewer's page, until then too).
            answer: f.or_default("answer")?,
            why: f.or_default("why")?,
            tally: f.or_default("tally")?,
        })
    }
}

impl FromJson for Tally {
    fn from_json(json: &Json) -> Result<Self, String> {
        // `Tally` has a `Default`, but no `#[serde(default)]`: every field is needed.
        let f = Fields::of(json, "a tally")?;
        Ok(Tally {
            counts: f.get("counts")?,
            answered: f.get("answered")?,
            viewers: f.get("viewers")?,
        })
    }
}

// ----- A command's answer (command.rs) -----

impl FromJson for CommandOk {
    fn from_json(json: &Json) -> Result<Self, String> {
        // Every field is `#[serde(default)]` and left out when `None`.
        let f = Fields::of(json, "a command's result")?;
        Ok(CommandOk {
            index: f.or_default("index")?,
            term: f.or_default("term")?,
            leader: f.or_default("leader")?,
            duplicate: f.or_default("duplicate")?,
            committed: f.or_default("committed")?,
            message: f.or_default("message")?,
        })
    }
}

/// A reply, written through shared's private `ReplyWire` (`{"request_id", "ok", "result" |
/// "error"}`) and read as its `TryFrom` reads it: `ok` with no error is a success (a missing
/// `result` is the empty one), not `ok` with an error and no result a failure, anything else
/// refused with the same sentence. Keep the two in step: command.rs's `TryFrom<ReplyWire>`.
impl FromJson for Reply {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a reply")?;
        Reply::try_from(ReplyWire {
            request_id: f.get("request_id")?,
            ok: f.get("ok")?,
            result: f.or_default("result")?,
            error: f.or_default("error")?,
        })
    }
}

#[cfg(test)]
#[path = "views_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "views_more_tests.rs"]
mod more_tests;
