//! One small handler per `Event`: each changes the state the event reports, marks what it
//! changed, and asks `narration` for the words when the event is worth a sentence. `apply` (in
//! the parent module) checks the sequence number and dispatches here; nothing else calls these.

use shared::protocol::ForwardedRequest;
use shared::protocol::{
    DropReason, InFlight, LogEntryView, MessageBody, MessageId, NetworkView, PeerProgress,
};
use shared::tree::IntoTree;
use shared::types::{Entry, LogIndex, NodeId, Role, Term};
use shared::Command;

use super::messages::Ghost;
use super::narration::{self, Focus, Tone};
use super::network::describe_network_change;
use super::{ClusterView, RequestTrack, Stamp, GHOSTS_MAX, REQUESTS_MAX};

// Messages.
impl ClusterView {
    pub(super) fn message_sent(&mut self, at: Stamp, message: &InFlight) {
        if let MessageBody::ClientRequest(ForwardedRequest { command, .. }) = &message.message.body
        {
            let text = narration::forwarded(message.from, message.to, &command.to_string());
            self.say(at, text, Focus::Message(message.id), Tone::Client);
        }
        self.messages.insert(message.id, message.clone());
        self.changes.messages = true;
    }

    pub(super) fn message_delivered(&mut self, at: Stamp, id: MessageId) {
        let Some(flight) = self.messages.remove(&id) else {
            return;
        };
        self.changes.messages = true;
        // Log repair (§5.3): a follower's "no" reaches its leader, which backs up. The sentence
        // waits for the leader's new nextIndex (the `progress_updated` of the same step).
        self.repair = None;
        if let MessageBody::AppendEntriesResponse(r) = &flight.message.body {
            if !r.success && r.conflict_index > 0 {
                self.repair = Some(Repair {
                    leader: flight.to,
                    follower: flight.from,
                    stamp: at,
                    prev: r.rejected_index,
                    conflict_term: r.conflict_term,
                    conflict_index: r.conflict_index,
                });
            }
        }
    }

    /// A lost message leaves a ghost where it vanished (and a sentence if it was dropped by hand).
    pub(super) fn message_dropped(&mut self, at: Stamp, id: MessageId, reason: DropReason) {
        let Some(flight) = self.messages.remove(&id) else {
            return;
        };
        if reason == DropReason::Dropped {
            let text = narration::dropped_by_hand(&flight);
            self.say(at, text, Focus::Message(id), Tone::Fault);
        }
        self.ghosts.push_back(Ghost {
            flight,
            lost_at_ms: at.time_ms,
            reason,
        });
        while self.ghosts.len() > GHOSTS_MAX {
            self.ghosts.pop_front();
        }
        self.changes.messages = true;
        self.changes.ghosts = true;
    }
}

// Elections.
impl ClusterView {
    pub(super) fn election_timeout(&mut self, node: NodeId) {
        if let Some(n) = self.node_mut(node) {
            n.timed_out = true;
        }
    }

    pub(super) fn role_changed(
        &mut self,
        at: Stamp,
        node: NodeId,
        role: Role,
        term: Term,
        leader_id: Option<NodeId>,
    ) {
        let cluster_size = self.nodes.len() as u64;
        let Some(n) = self.node_mut(node) else {
            return;
        };
        let before = (n.role, n.current_term);
        let timed_out = std::mem::take(&mut n.timed_out);
        if term > n.current_term {
            n.voted_for = None;
        }
        n.current_term = term;
        n.role = role;
        n.leader_id = leader_id;
        n.votes_refused.clear();
        let mut won_with = Vec::new();
        match role {
            Role::Candidate => {
                n.voted_for = Some(node);
                n.votes = vec![node];
                n.progress.clear();
            }
            Role::Leader => {
                won_with = std::mem::take(&mut n.votes);
                n.election_deadline_ms = None;
                // Figure 2: "nextIndex … initialized to leader last log index + 1; matchIndex
                // … initialized to 0". The core reports no ProgressUpdated for this.
                let next_index = n.last_index() + 1;
                n.progress = NodeId::all(cluster_size)
                    .filter(|p| *p != node)
                    .map(|p| {
                        let fresh = PeerProgress {
                            next_index,
                            match_index: LogIndex(0),
                        };
                        (p, fresh)
                    })
                    .into_map();
            }
            Role::Follower => {
                n.votes.clear();
                n.progress.clear();
            }
        }
        if role == Role::Leader {
            self.leaders_by_term.insert(term, node);
            self.changes.leaders = true;
        }
        let sentence =
            narration::role_changed(node, before, role, term, leader_id, timed_out, &won_with);
        if let Some((text, tone)) = sentence {
            self.say(at, text, Focus::Node(node), tone);
        }
    }

    pub(super) fn vote_granted(&mut self, at: Stamp, voter: NodeId, candidate: NodeId, term: Term) {
        if let Some(n) = self.node_mut(voter) {
            n.voted_for = Some(candidate);
            n.current_term = n.current_term.max(term);
        }
        let text = narration::voted(voter, candidate, term);
        self.say(at, text, Focus::Node(voter), Tone::Election);
    }

    pub(super) fn vote_received(
        &mut self,
        at: Stamp,
        node: NodeId,
        from: NodeId,
        granted: bool,
        votes: &[NodeId],
    ) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        n.votes = votes.to_vec();
        if granted || n.votes_refused.contains(&from) {
            return;
        }
        n.votes_refused.push(from);
        let text = narration::vote_refused(from, node, n.current_term);
        self.say(at, text, Focus::Node(from), Tone::Election);
    }

    pub(super) fn timer_reset(&mut self, node: NodeId, election_deadline_ms: u64) {
        if let Some(n) = self.node_mut(node) {
            n.election_deadline_ms = Some(election_deadline_ms);
        }
    }
}

// Logs.
impl ClusterView {
    /// An entry that does not follow the log (a gap) is skipped and asks for a resync.
    pub(super) fn entries_appended(&mut self, node: NodeId, entries: &[Entry]) {
        let mut broken = false;
        if let Some(n) = self.node_mut(node) {
            for e in entries {
                broken |= !n.put(LogEntryView::from(e));
            }
            n.synced_index = n.synced_index.min(n.last_index());
        }
        self.needs_resync |= broken;
    }

    pub(super) fn entries_truncated(&mut self, at: Stamp, node: NodeId, from_index: LogIndex) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        let keep = from_index.saturating_sub(1);
        let removed = n.last_index().get().saturating_sub(keep.get());
        n.keep_up_to(keep);
        n.synced_index = n.synced_index.min(keep);
        let text = narration::truncated(node, removed, from_index);
        self.say(at, text, Focus::NodeEntry(node, from_index), Tone::Warning);
    }

    pub(super) fn entries_persisted(&mut self, node: NodeId, synced_index: LogIndex) {
        if let Some(n) = self.node_mut(node) {
            n.synced_index = synced_index.min(n.last_index());
        }
    }

    /// A server's commit index moved; entries no one had committed before join the global log.
    pub(super) fn commit_advanced(&mut self, at: Stamp, node: NodeId, commit_index: LogIndex) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        n.commit_index = commit_index.min(n.last_index());
        let known = self.commit_index();
        let Some(n) = self.node(node) else { return };
        if n.commit_index <= known {
            return;
        }
        let (first, last) = (known + 1, n.commit_index);
        let loaded_from = n.log_first_index;
        let new: Vec<LogEntryView> = first
            .max(loaded_from)
            .through(last)
            .filter_map(|i| n.entry(i).cloned())
            .collect();
        if first < loaded_from {
            // This server's loaded part starts after the committed log's end (both are windows
            // of longer logs): the committed log restarts where this server's does.
            self.committed.clear();
            self.committed_first_index = loaded_from;
        }
        self.committed.extend(new);
        self.changes.committed = true;
        let what = self
            .committed
            .last()
            .map(|e| e.command.clone())
            .unwrap_or_default();
        let text = narration::committed(first, last, &what);
        self.say(at, text, Focus::Entry(last), Tone::Log);
    }

    /// Remembers the first value applied at each index, to call out replicas that disagree.
    pub(super) fn entry_applied(&mut self, at: Stamp, node: NodeId, index: LogIndex, value: i64) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        n.last_applied = index;
        n.value = value;
        let first = *self.applied_values.entry(index).or_insert((node, value));
        if first.1 == value || !self.divergent.insert(index) {
            return;
        }
        self.changes.committed = true;
        let what = self.committed_entry(index).map(|e| e.command.clone());
        // Replicas that disagreed at the entry before still do: every later entry is computed
        // from a different value. Say since which entry, so this one does not read as the cause.
        let mut since = index;
        while since.get() > 1 && self.divergent.contains(&LogIndex(since.get() - 1)) {
            since = LogIndex(since.get() - 1);
        }
        let since = (since != index).then(|| {
            let cause = self.committed_entry(since).map(|e| e.command.clone());
            (since, cause)
        });
        let text = narration::replicas_disagree(index, what.as_deref(), node, value, first, since);
        self.say(at, text, Focus::Entry(index), Tone::Warning);
    }

    pub(super) fn progress_updated(
        &mut self,
        at: Stamp,
        leader: NodeId,
        peer: NodeId,
        progress: PeerProgress,
    ) {
        if let Some(r) = self.repair.take() {
            if (r.leader, r.follower) == (leader, peer) && at.seq.saturating_sub(r.stamp.seq) <= 8 {
                let text = narration::append_refused(
                    peer,
                    r.prev,
                    r.conflict_term,
                    r.conflict_index,
                    progress.next_index,
                );
                self.say(at, text, Focus::Node(peer), Tone::Warning);
            }
        }
        if let Some(n) = self.node_mut(leader) {
            n.progress.insert(peer, progress);
        }
    }
}

// Clients.
impl ClusterView {
    pub(super) fn client_request(
        &mut self,
        at: Stamp,
        node: NodeId,
        command: &Command,
        request_id: u64,
    ) {
        let command = command.to_string();
        let track = RequestTrack {
            command: command.clone(),
            node,
            index: None,
        };
        self.requests.insert(request_id, track);
        // Only recent requests are ever looked up again (their acceptance follows soon).
        while self.requests.len() > REQUESTS_MAX {
            self.requests.pop_first();
        }
        let text = narration::client_sent(node, &command);
        self.say(at, text, Focus::Node(node), Tone::Client);
    }

    pub(super) fn proposal_accepted(
        &mut self,
        at: Stamp,
        node: NodeId,
        request_id: u64,
        index: LogIndex,
        term: Term,
        duplicate: bool,
    ) {
        let request = self.requests.get_mut(&request_id);
        let command = request.map(|r| {
            r.index = Some(index);
            r.command.clone()
        });
        let text = if duplicate {
            narration::duplicate_request(node, command.as_deref(), index, term)
        } else {
            narration::proposal_accepted(node, command.as_deref(), index, term)
        };
        self.say(at, text, Focus::NodeEntry(node, index), Tone::Client);
    }

    pub(super) fn proposal_rejected(
        &mut self,
        at: Stamp,
        node: NodeId,
        request_id: u64,
        reason: &str,
    ) {
        let command = self.requests.get(&request_id).map(|r| r.command.as_str());
        let text = narration::proposal_rejected(node, command, reason);
        self.say(at, text, Focus::Node(node), Tone::Warning);
    }
}

// Faults.
impl ClusterView {
    pub(super) fn node_crashed(&mut self, at: Stamp, node: NodeId) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        n.crash();
        self.say(at, narration::crashed(node), Focus::Node(node), Tone::Fault);
    }

    /// A crash that also loses what was written but not yet synced.
    pub(super) fn power_lost(
        &mut self,
        at: Stamp,
        node: NodeId,
        synced_index: LogIndex,
        lost_entries: u64,
    ) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        n.crash();
        n.keep_up_to(synced_index);
        n.synced_index = synced_index.min(n.last_index());
        let text = narration::power_lost(node, lost_entries);
        self.say(at, text, Focus::Node(node), Tone::Fault);
    }

    /// Back from its disk; a log shorter than the event says means we missed something.
    pub(super) fn node_restarted(
        &mut self,
        at: Stamp,
        node: NodeId,
        term: Term,
        last_index: LogIndex,
    ) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        n.crash();
        n.up = true;
        n.storage_error = None;
        n.current_term = term;
        n.keep_up_to(last_index);
        n.synced_index = n.last_index();
        self.needs_resync |= n.last_index() != last_index;
        let text = narration::restarted(node, term, last_index);
        self.say(at, text, Focus::Node(node), Tone::Fault);
    }

    pub(super) fn storage_failed(&mut self, at: Stamp, node: NodeId, error: &str) {
        let Some(n) = self.node_mut(node) else {
            return;
        };
        n.crash();
        n.storage_error = Some(error.to_string());
        let text = narration::storage_failed(node, error);
        self.say(at, text, Focus::Node(node), Tone::Fault);
    }
}

// The network and the controls.
impl ClusterView {
    pub(super) fn network_changed(&mut self, at: Stamp, network: &NetworkView) {
        let sentences = describe_network_change(&self.network, network);
        self.network = network.clone();
        self.changes.network = true;
        for (text, focus) in sentences {
            self.say(at, text, focus, Tone::Network);
        }
    }

    pub(super) fn control_changed(&mut self, at: Stamp, paused: bool, speed: f64) {
        let sentences = narration::control_changed((self.paused, self.speed), paused, speed);
        self.set_control(paused, speed);
        for text in sentences {
            self.say(at, text, Focus::None, Tone::Control);
        }
    }
}

/// A refused AppendEntries, delivered to its leader and not yet told (see `message_delivered`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Repair {
    leader: NodeId,
    follower: NodeId,
    stamp: Stamp,
    /// The request's `prev_log_index`.
    prev: LogIndex,
    /// The follower's term at `prev`, when it had an entry there.
    conflict_term: Option<Term>,
    /// The fast-backup hint.
    conflict_index: LogIndex,
}
