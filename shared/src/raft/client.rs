//! Client interaction (§8): taking a request, forwarding it to the leader in the *command* model,
//! executing it at the leader in the *state* model, and recognising a request the log already
//! holds (same client and serial) so it is appended once. Owns what `propose` answers.

use crate::command::Command;
use crate::raft::event::{RaftEvent, RejectKind};
use crate::raft::message::{ClientRequest, MessageBody};
use crate::raft::node::RaftNode;
use crate::types::{ClientSerial, EntryData, LogIndex, LogModel, NodeId, Role, Term};

/// A client request as it reaches a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// What to do.
    pub command: Command,
    /// The driver's id for it, echoed in the events about it.
    pub request_id: u64,
    /// The client's id and serial (§8); `None` when nobody can retry it.
    pub client: Option<ClientSerial>,
}

/// What `propose` did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposeOutcome {
    /// This node is the leader and appended the entry (or already had it: a duplicate).
    Appended {
        /// Index given.
        index: LogIndex,
        /// Term given.
        term: Term,
        /// The log already held this request (same client and serial): nothing was appended,
        /// and `index`/`term` name the entry it has.
        duplicate: bool,
    },
    /// *command* model: forwarded to the leader as a `ClientRequest` message.
    Forwarded {
        /// Where it went.
        leader: NodeId,
    },
}

/// Why `propose` refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// *state* model: only the leader executes requests.
    #[error("S{node} is not the leader{}", leader_hint.map(|l| format!(": try S{l}")).unwrap_or_default())]
    NotLeader {
        /// The node asked.
        node: NodeId,
        /// The leader it knows of.
        leader_hint: Option<NodeId>,
    },
    /// Nobody to forward to.
    #[error("S{node} knows no leader yet (an election is probably under way); try again shortly")]
    NoLeader {
        /// The node asked.
        node: NodeId,
    },
}

impl ProposeError {
    /// The refusal's kind, as events carry it.
    pub fn kind(&self) -> RejectKind {
        match self {
            ProposeError::NotLeader { .. } => RejectKind::NotLeader,
            ProposeError::NoLeader { .. } => RejectKind::NoLeader,
        }
    }
}

impl RaftNode {
    /// A client request without a serial (see [`RaftNode::propose_request`]).
    pub fn propose(
        &mut self,
        command: Command,
        request_id: u64,
    ) -> Result<ProposeOutcome, ProposeError> {
        self.propose_request(Proposal {
            command,
            request_id,
            client: None,
        })
    }

    /// A client request arriving at this node (§8). The leader appends it (once: a request whose
    /// client and serial the log already holds is answered with the entry it already has); a
    /// follower forwards it in the *command* model and refuses it in the *state* model.
    pub fn propose_request(&mut self, p: Proposal) -> Result<ProposeOutcome, ProposeError> {
        if self.role == Role::Leader {
            let (index, term, duplicate) = self.append_client_entry(p);
            return Ok(ProposeOutcome::Appended {
                index,
                term,
                duplicate,
            });
        }
        let result = match (self.config.log_model, self.leader_id) {
            (LogModel::State, leader_hint) => Err(ProposeError::NotLeader {
                node: self.id(),
                leader_hint,
            }),
            (LogModel::Command, Some(leader)) => {
                let forward = ClientRequest {
                    command: p.command,
                    request_id: p.request_id,
                    client: p.client,
                };
                self.send(leader, MessageBody::ClientRequest(forward));
                Ok(ProposeOutcome::Forwarded { leader })
            }
            (LogModel::Command, None) => Err(ProposeError::NoLeader { node: self.id() }),
        };
        if let Err(e) = &result {
            self.events.push(RaftEvent::ProposalRejected {
                node: self.id(),
                request_id: p.request_id,
                kind: e.kind(),
                reason: e.to_string(),
                leader_hint: self.leader_id,
            });
        }
        result
    }

    pub(super) fn handle_forwarded(&mut self, from: NodeId, request: ClientRequest) {
        if self.role == Role::Leader {
            self.append_client_entry(Proposal {
                command: request.command,
                request_id: request.request_id,
                client: request.client,
            });
        } else {
            self.events.push(RaftEvent::ProposalRejected {
                node: self.id(),
                request_id: request.request_id,
                kind: RejectKind::LeaderChanged,
                reason: format!(
                    "S{from} forwarded the request to S{}, which is no longer the leader",
                    self.id()
                ),
                leader_hint: self.leader_id,
            });
        }
    }

    fn append_client_entry(&mut self, p: Proposal) -> (LogIndex, Term, bool) {
        // §8: a request the log already holds (a duplicated forward, or a client's retry after
        // a leader change whose first try survived in this log) is not appended again. Checking
        // the leader's own log is exact: any entry that will ever commit is in it or appended by
        // this leader, so a second copy can never commit next to the first. The applied part of
        // the log is asked through the state machine (which remembers what it executed); only
        // the unapplied tail is searched, and the whole log only for a real duplicate.
        let existing = p.client.and_then(|c| {
            let after = if self.state_machine.has_executed(c) {
                LogIndex(0)
            } else {
                self.last_applied
            };
            self.log.find_client_after(after, c)
        });
        if let Some(existing) = existing {
            let (index, term) = (existing.index, existing.term);
            self.events.push(RaftEvent::ProposalAccepted {
                node: self.id(),
                request_id: p.request_id,
                index,
                term,
                duplicate: true,
            });
            return (index, term, true);
        }
        let data = match self.config.log_model {
            LogModel::Command => EntryData::Request {
                command: p.command,
                client: p.client,
            },
            LogModel::State => {
                // Primary-backup: execute against the latest state (the newest value in the log,
                // committed or not) and log only the result; even `add rand` is drawn once, here.
                let latest = self
                    .log
                    .entries()
                    .iter()
                    .rev()
                    .find_map(|e| match e.data {
                        EntryData::Value { value, .. } => Some(value),
                        _ => None,
                    })
                    .unwrap_or(0);
                let value = self.state_machine.execute_on(p.command, latest);
                EntryData::Value {
                    value,
                    command: p.command,
                    client: p.client,
                }
            }
        };
        let (index, term) = self.append_entry(data);
        self.events.push(RaftEvent::ProposalAccepted {
            node: self.id(),
            request_id: p.request_id,
            index,
            term,
            duplicate: false,
        });
        self.broadcast_append(false);
        (index, term, false)
    }
}
