//! The story of a single step: while the run is paused and stepped by hand, events that say
//! nothing at full speed (a message arriving, a disk sync) get their own sentence, so every step
//! yields one ("S3 received S1's AppendEntries with entries 4–5, after entry 3 of term 2").
//! Running, they stay quiet: hundreds of heartbeats a second would drown the story. Owns these
//! sentences; must not change the cluster's state. Refused AppendEntries and votes are told by
//! `events` (log repair, votes) whatever the pace.

use shared::protocol::{AppendEntries, AppendEntriesResponse, ForwardedRequest, RequestVote};
use shared::protocol::{InFlight, MessageBody};
use shared::types::{LogIndex, NodeId};

use super::narration::{Focus, Tone};
use super::{ClusterView, Stamp};

/// What a delivered message did, told from the receiver's side; `None` when another handler
/// tells it already (vote replies, refused AppendEntries).
pub(super) fn delivered(flight: &InFlight) -> Option<String> {
    let (from, to, term) = (flight.from, flight.to, flight.message.term);
    Some(match &flight.message.body {
        MessageBody::RequestVote(RequestVote {
            last_log_index,
            last_log_term,
        }) => format!(
            "S{to} received S{from}'s RequestVote for term {term} (its log ends at entry \
             {last_log_index} of term {last_log_term})"
        ),
        MessageBody::RequestVoteResponse(_) => return None,
        MessageBody::AppendEntries(AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        }) => match (entries.first(), entries.last()) {
            (Some(first), Some(last)) => format!(
                "S{to} received S{from}'s AppendEntries with {}, after entry {prev_log_index} of \
                 term {prev_log_term} (leader's commit index {leader_commit})",
                span(first.index, last.index)
            ),
            _ => format!(
                "S{to} received S{from}'s heartbeat (term {term}, leader's commit index \
                 {leader_commit})"
            ),
        },
        MessageBody::AppendEntriesResponse(AppendEntriesResponse {
            success: true,
            match_index,
            ..
        }) => format!("S{to} learned that S{from} holds its log up to entry {match_index}"),
        MessageBody::AppendEntriesResponse(_) => return None,
        MessageBody::ClientRequest(ForwardedRequest { command, .. }) => {
            format!("S{to} received \"{command}\", forwarded by S{from}")
        }
    })
}

/// "entry 4", "entries 4–5".
fn span(first: LogIndex, last: LogIndex) -> String {
    if first == last {
        format!("entry {first}")
    } else {
        format!("entries {first}–{last}")
    }
}

impl ClusterView {
    /// A message reached its receiver during a hand step.
    pub(super) fn tell_delivery(&mut self, at: Stamp, flight: &InFlight) {
        if let Some(text) = delivered(flight) {
            self.say(at, text, Focus::Message(flight.id), Tone::Control);
        }
    }

    /// A leader's heartbeat sent during a hand step (its timer fired; the sends were the step's
    /// only events, and the story said nothing). The sends of one round come one event each, at
    /// one instant: they make one sentence, "S1 sent a heartbeat (term 2) to S2, S3 and S4".
    pub(super) fn tell_heartbeat_sent(&mut self, at: Stamp, flight: &InFlight) {
        let MessageBody::AppendEntries(a) = &flight.message.body else {
            return;
        };
        if !a.entries.is_empty() {
            return;
        }
        let (from, to, term) = (flight.from, flight.to, flight.message.term);
        let head = format!("S{from} sent a heartbeat (term {term}) to ");
        if let Some(last) = self.narration.front_mut() {
            if last.time_ms == at.time_ms && last.text.starts_with(&head) {
                // "… to S2" → "… to S2 and S3" → "… to S2, S3 and S4".
                let listed = last.text[head.len()..].replace(" and ", ", ");
                last.text = format!("{head}{listed} and S{to}");
                last.seq = at.seq;
                self.changes.narration = true;
                return;
            }
        }
        self.say(at, format!("{head}S{to}"), Focus::Node(from), Tone::Control);
    }

    /// A disk sync finished during a hand step.
    pub(super) fn tell_sync(&mut self, at: Stamp, node: NodeId, synced_index: LogIndex) {
        let text = format!("S{node}'s disk synced its log up to entry {synced_index}");
        self.say(
            at,
            text,
            Focus::NodeEntry(node, synced_index),
            Tone::Control,
        );
    }
}
