//! Readers of the run's events: [`SimEvent`] and [`Event`] (shared/src/protocol/event.rs) and
//! the unit enums only events carry (why a message was dropped, why a request was refused, how
//! storage failed). Each mirrors what serde writes, with the defaults of shared's own reader
//! (shared/src/protocol/event_read.rs); must not decide what an event means (the reducer does).

use crate::protocol::{DropReason, Event, SimEvent};
use crate::raft::RejectKind;
use crate::storage::StorageFailureKind;

use super::raft::command_text;
use super::read::{unit, unknown_variant, Fields, FromJson, Json};

impl FromJson for DropReason {
    fn from_json(json: &Json) -> Result<Self, String> {
        unit(json, DropReason::NAMES, DropReason::ALL)
    }
}

impl FromJson for RejectKind {
    fn from_json(json: &Json) -> Result<Self, String> {
        unit(json, RejectKind::NAMES, RejectKind::ALL)
    }
}

/// `StorageFailureKind`'s wire names. Kept here, not in shared, because shared/src/storage.rs
/// is not ours to change; the tests hold the table to what serde writes for each kind.
const STORAGE_FAILURE_NAMES: [&str; 3] = ["not_contiguous", "io", "corrupt"];
const STORAGE_FAILURES: [StorageFailureKind; 3] = [
    StorageFailureKind::NotContiguous,
    StorageFailureKind::Io,
    StorageFailureKind::Corrupt,
];

impl FromJson for StorageFailureKind {
    fn from_json(json: &Json) -> Result<Self, String> {
        unit(json, &STORAGE_FAILURE_NAMES, &STORAGE_FAILURES)
    }
}

/// An event, tagged by `type` with its fields beside it (`#[serde(tag = "type")]`).
impl FromJson for Event {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "an event (a JSON object with its `type`)")?;
        event(&f)
    }
}

/// An event with its place in the run. `#[serde(flatten)]` writes `seq` and `time_ms` in the
/// same object as the event's own fields, so both are read from one set of [`Fields`].
impl FromJson for SimEvent {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "an event (a JSON object with its `type`)")?;
        // shared's reader looks at `type` first; do the same, so that both name the same
        // missing field when several are missing.
        f.tag("type")?;
        Ok(SimEvent {
            seq: f.get("seq")?,
            time_ms: f.get("time_ms")?,
            event: event(&f)?,
        })
    }
}

/// The event named by the `type` in `f`, built from the fields beside it. The names are
/// `Event::NAMES` (shared's table); the tests check that every one of them is read here.
fn event(f: &Fields) -> Result<Event, String> {
    Ok(match f.tag("type")? {
        "message_sent" => Event::MessageSent {
            message: f.get("message")?,
        },
        "message_delivered" => Event::MessageDelivered {
            id: f.get("id")?,
            from: f.get("from")?,
            to: f.get("to")?,
        },
        "message_dropped" => Event::MessageDropped {
            id: f.get("id")?,
            from: f.get("from")?,
            to: f.get("to")?,
            reason: f.get("reason")?,
        },
        "election_timeout" => Event::ElectionTimeout {
            node: f.get("node")?,
            term: f.get("term")?,
        },
        "role_changed" => Event::RoleChanged {
            node: f.get("node")?,
            role: f.get("role")?,
            term: f.get("term")?,
            leader_id: f.get("leader_id")?,
        },
        "vote_granted" => Event::VoteGranted {
            voter: f.get("voter")?,
            candidate: f.get("candidate")?,
            term: f.get("term")?,
        },
        "vote_received" => Event::VoteReceived {
            node: f.get("node")?,
            from: f.get("from")?,
            granted: f.get("granted")?,
            votes: f.get("votes")?,
        },
        "timer_reset" => Event::TimerReset {
            node: f.get("node")?,
            election_deadline_ms: f.get("election_deadline_ms")?,
        },
        "entries_appended" => Event::EntriesAppended {
            node: f.get("node")?,
            entries: f.get("entries")?,
        },
        "entries_truncated" => Event::EntriesTruncated {
            node: f.get("node")?,
            from_index: f.get("from_index")?,
        },
        "entries_persisted" => Event::EntriesPersisted {
            node: f.get("node")?,
            synced_index: f.get("synced_index")?,
        },
        "commit_advanced" => Event::CommitAdvanced {
            node: f.get("node")?,
            commit_index: f.get("commit_index")?,
        },
        "entry_applied" => Event::EntryApplied {
            node: f.get("node")?,
            index: f.get("index")?,
            value: f.get("value")?,
        },
        "duplicate_ignored" => Event::DuplicateIgnored {
            node: f.get("node")?,
            index: f.get("index")?,
            client: f.get("client")?,
        },
        "progress_updated" => Event::ProgressUpdated {
            leader: f.get("leader")?,
            peer: f.get("peer")?,
            next_index: f.get("next_index")?,
            match_index: f.get("match_index")?,
        },
        "client_request" => Event::ClientRequest {
            node: f.get("node")?,
            // Written as text ("add 5", `command::as_text`), not as a command object.
            command: match f.raw("command") {
                Some(json) => command_text(json).map_err(|e| format!("command: {e}"))?,
                None => return Err("missing field `command`".to_string()),
            },
            request_id: f.get("request_id")?,
            // `#[serde(default)]`, and left out when `None`.
            client: f.or_default("client")?,
        },
        "proposal_accepted" => Event::ProposalAccepted {
            node: f.get("node")?,
            request_id: f.get("request_id")?,
            index: f.get("index")?,
            term: f.get("term")?,
            // `#[serde(default)]`: written only when true.
            duplicate: f.or_default("duplicate")?,
        },
        "proposal_rejected" => Event::ProposalRejected {
            node: f.get("node")?,
            request_id: f.get("request_id")?,
            kind: f.get("kind")?,
            reason: f.get("reason")?,
            leader_hint: f.get("leader_hint")?,
        },
        "node_crashed" => Event::NodeCrashed {
            node: f.get("node")?,
        },
        "power_lost" => Event::PowerLost {
            node: f.get("node")?,
            synced_index: f.get("synced_index")?,
            lost_entries: f.get("lost_entries")?,
        },
        "node_restarted" => Event::NodeRestarted {
            node: f.get("node")?,
            term: f.get("term")?,
            last_index: f.get("last_index")?,
        },
        "storage_failed" => Event::StorageFailed {
            node: f.get("node")?,
            kind: f.get("kind")?,
            error: f.get("error")?,
        },
        "network_changed" => Event::NetworkChanged {
            network: f.get("network")?,
        },
        "control_changed" => Event::ControlChanged {
            paused: f.get("paused")?,
            speed: f.get("speed")?,
        },
        other => return Err(unknown_variant(other, Event::NAMES)),
    })
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
