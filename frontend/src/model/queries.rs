//! Read-only questions the page asks of the view: who leads, how wide the logs are, how many
//! copies an entry has, which votes are still travelling, where a message is. Must not change
//! anything.

use shared::protocol::RequestVoteResponse;
use shared::protocol::{InFlight, LogEntryView, MessageBody, MessageId, LOG_PAGE_MAX};
use shared::types::{LogIndex, NodeId, Role, Term};

use super::messages::FlightStatus;
use super::network;
use super::node::NodeState;
use super::ClusterView;

impl ClusterView {
    /// Server `id`, if it exists.
    pub fn node(&self, id: NodeId) -> Option<&NodeState> {
        id.checked_slot().and_then(|i| self.nodes.get(i))
    }

    /// Votes needed for a majority.
    pub fn quorum(&self) -> usize {
        self.nodes.len() / 2 + 1
    }

    /// The cluster's leader: a running leader whose term is not behind the cluster's
    /// ([`ClusterView::majority_term`]). A leader cut off in a minority at an older term still
    /// believes it leads (see [`ClusterView::stale_leaders`]) but is not the cluster's leader once a
    /// majority has moved on to a newer term.
    pub fn leader(&self) -> Option<NodeId> {
        let cluster_term = self.majority_term();
        self.nodes
            .iter()
            .filter(|n| n.up && n.role == Role::Leader && n.current_term >= cluster_term)
            .max_by_key(|n| n.current_term)
            .map(|n| n.id)
    }

    /// Running servers that lead the term the cluster's leader leads, in id order: normally only
    /// that leader. Two only when election safety is broken (two leaders elected in one term,
    /// as the break-Raft lab shows), and then both are leaders, neither an "old leader".
    pub fn leaders_now(&self) -> Vec<NodeId> {
        let Some(term) = self
            .leader()
            .and_then(|l| self.node(l))
            .map(|l| l.current_term)
        else {
            return Vec::new();
        };
        self.nodes
            .iter()
            .filter(|n| n.up && n.role == Role::Leader && n.current_term == term)
            .map(|n| n.id)
            .collect()
    }

    /// The term the cluster is at: the highest term that a majority of servers have reached
    /// (terms are on disk, so crashed servers count too). A lone server that keeps timing out
    /// runs its own term up without moving the cluster; a leader behind this term can no longer
    /// win a majority for anything.
    pub fn majority_term(&self) -> Term {
        let mut terms: Vec<Term> = self.nodes.iter().map(|n| n.current_term).collect();
        shared::tree::sort_small_by_key(&mut terms, |t| std::cmp::Reverse(*t));
        terms.get(self.quorum() - 1).copied().unwrap_or(Term(0))
    }

    /// Running servers that still act as leader of a term the cluster has left behind (cut off
    /// in a minority, say): `(server, its term)`, oldest first.
    pub fn stale_leaders(&self) -> Vec<(NodeId, Term)> {
        let cluster_term = self.majority_term();
        let mut stale: Vec<(NodeId, Term)> = self
            .nodes
            .iter()
            .filter(|n| n.up && n.role == Role::Leader && n.current_term < cluster_term)
            .map(|n| (n.id, n.current_term))
            .collect();
        shared::tree::sort_small_by_key(&mut stale, |(id, term)| (*term, *id));
        stale
    }

    /// The highest term any server is in.
    pub fn max_term(&self) -> Term {
        self.nodes
            .iter()
            .map(|n| n.current_term)
            .max()
            .unwrap_or(Term(0))
    }

    /// The longest log's last index (how wide the log rows are).
    pub fn max_index(&self) -> LogIndex {
        self.nodes
            .iter()
            .map(NodeState::last_index)
            .chain(std::iter::once(self.commit_index()))
            .max()
            .unwrap_or(LogIndex(0))
    }

    /// The global commit index (last entry of the committed log).
    pub fn commit_index(&self) -> LogIndex {
        self.committed_first_index - 1 + self.committed.len() as u64
    }

    /// The committed entry at `index`, if the page holds it.
    pub fn committed_entry(&self, index: LogIndex) -> Option<&LogEntryView> {
        index
            .checked_sub(self.committed_first_index)
            .and_then(|i| self.committed.get(i as usize))
    }

    /// The pages of older entries to fetch (`GET /api/nodes/{id}/log?from=&to=`) for the
    /// indexes `wanted` (what is scrolled to) to be drawn: for each server that lacks some of
    /// them, the page that ends right before what it holds (only such a page can be put in front
    /// of it) and reaches back at most [`LOG_PAGE_MAX`] entries, no further than `wanted` starts.
    /// Scrolling far back takes several pages, one after the other.
    pub fn pages_to_fetch(
        &self,
        wanted: std::ops::RangeInclusive<LogIndex>,
    ) -> Vec<(NodeId, std::ops::RangeInclusive<LogIndex>)> {
        self.nodes
            .iter()
            .filter_map(|n| {
                let missing = n.missing_before();
                let to = *missing.end();
                if missing.is_empty() || wanted.is_empty() || *wanted.start() > to {
                    return None;
                }
                let from = (*wanted.start())
                    .max(*missing.start())
                    .max((to + 1).saturating_sub(LOG_PAGE_MAX));
                Some((n.id, from..=to))
            })
            .collect()
    }

    /// For the leader's uncommitted entry at `index`: on how many servers' disks it is (every
    /// server whose synced log holds that same entry, the leader included once it has synced
    /// it; a crashed server's disk counts), and the cluster size. What the leader itself knows
    /// lags behind (it learns of a follower's copy from its reply: `match_index`). `None` when
    /// there is no leader, the leader has no such entry, or it is already committed.
    pub fn replication(&self, index: LogIndex) -> Option<(usize, usize)> {
        let holders = self.on_disks(index)?;
        Some((holders.len(), self.nodes.len()))
    }

    /// The servers whose disk holds the leader's uncommitted entry at `index` (see
    /// [`ClusterView::replication`]), S1 first.
    pub fn on_disks(&self, index: LogIndex) -> Option<Vec<NodeId>> {
        let leader = self.node(self.leader()?)?;
        if index == 0 || index > leader.last_index() || index <= leader.commit_index {
            return None;
        }
        let term = leader.term_at(index);
        Some(
            self.nodes
                .iter()
                .filter(|n| n.synced_index >= index && n.term_at(index) == term)
                .map(|n| n.id)
                .collect(),
        )
    }

    /// Voters whose granted vote for `candidate` is still travelling (drawn grey, as in
    /// RaftScope).
    pub fn votes_coming(&self, candidate: NodeId) -> Vec<NodeId> {
        let Some(c) = self.node(candidate) else {
            return Vec::new();
        };
        self.messages
            .values()
            .filter(|m| {
                m.to == candidate
                    && m.message.term == c.current_term
                    && matches!(
                        m.message.body,
                        MessageBody::RequestVoteResponse(RequestVoteResponse {
                            vote_granted: true
                        })
                    )
            })
            .map(|m| m.from)
            .collect()
    }

    /// True when the directed link `from → to` is blocked by a cut or a partition.
    pub fn link_blocked(&self, from: NodeId, to: NodeId) -> bool {
        network::link_blocked(&self.network, from, to)
    }

    /// True when every link to and from `id` is blocked (and there is someone to be cut from).
    pub fn is_isolated(&self, id: NodeId) -> bool {
        self.nodes.len() > 1
            && self
                .nodes
                .iter()
                .filter(|n| n.id != id)
                .all(|n| self.link_blocked(id, n.id) && self.link_blocked(n.id, id))
    }

    /// True when replicas computed different values for entry `index`.
    pub fn is_divergent(&self, index: LogIndex) -> bool {
        self.divergent.contains(&index)
    }

    /// The first entry after which replicas computed different values, if any did: seen as
    /// they applied it, or, after a jump (a snapshot), two servers that applied as many entries
    /// and hold different values.
    pub fn first_divergent(&self) -> Option<LogIndex> {
        self.divergent.first().copied().or_else(|| {
            self.nodes
                .iter()
                .filter(|n| n.last_applied > LogIndex(0))
                .flat_map(|n| self.nodes.iter().map(move |m| (n, m)))
                .filter(|(n, m)| n.last_applied == m.last_applied && n.value != m.value)
                .map(|(n, _)| n.last_applied)
                .min()
        })
    }

    /// Message `id` if it is in flight or a ghost, and which.
    pub fn find_message(&self, id: MessageId) -> Option<(&InFlight, FlightStatus)> {
        if let Some(m) = self.messages.get(&id) {
            return Some((m, FlightStatus::InFlight));
        }
        self.ghosts
            .iter()
            .find(|g| g.flight.id == id)
            .map(|g| (&g.flight, FlightStatus::Lost(g.reason)))
    }
}
