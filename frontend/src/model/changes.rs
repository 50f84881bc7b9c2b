//! Which parts of the view changed since the page last asked, so that the page wakes only the
//! components that draw them. The reducer marks; the page takes. Must not decide what to draw.

use std::collections::BTreeSet;

use shared::tree::IntoTree;
use shared::types::NodeId;

/// The parts of a [`super::ClusterView`] touched since the last [`super::ClusterView::take_changes`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// A new snapshot: every part may differ (and the number of servers too).
    pub everything: bool,
    /// Servers whose state changed.
    pub nodes: BTreeSet<NodeId>,
    /// Messages in flight came or went.
    pub messages: bool,
    /// Ghosts came or faded.
    pub ghosts: bool,
    /// The committed log grew, or replicas were found to disagree.
    pub committed: bool,
    /// The story has new sentences.
    pub narration: bool,
    /// Partitions, cuts, loss or latency.
    pub network: bool,
    /// Pause or speed.
    pub control: bool,
    /// Who led which term.
    pub leaders: bool,
}

impl Changes {
    /// Everything changed (a new snapshot).
    pub fn all() -> Changes {
        Changes {
            everything: true,
            ..Changes::default()
        }
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }

    /// True when server `id` may have changed.
    pub fn node(&self, id: NodeId) -> bool {
        self.everything || self.nodes.contains(&id)
    }
}

impl Changes {
    /// The parts that differ between two views of the same cluster (a past instant shown in
    /// place of another, or the live run again): the page then redraws only those, instead of
    /// everything as for a new snapshot. A different cluster (seed, log model, timings, number
    /// of servers) is `everything`.
    pub fn between(old: &super::ClusterView, new: &super::ClusterView) -> Changes {
        let same_cluster = old.seed == new.seed
            && old.log_model == new.log_model
            && old.timing == new.timing
            && old.nodes.len() == new.nodes.len();
        if !same_cluster {
            return Changes::all();
        }
        Changes {
            everything: false,
            nodes: old
                .nodes
                .iter()
                .zip(&new.nodes)
                .filter(|(a, b)| a != b)
                .map(|(_, b)| b.id)
                .into_set(),
            messages: old.messages != new.messages,
            ghosts: old.ghosts != new.ghosts,
            committed: old.committed_first_index != new.committed_first_index
                || old.committed != new.committed
                || old.divergent != new.divergent,
            narration: old.narration != new.narration,
            network: old.network != new.network,
            control: old.paused != new.paused || old.speed != new.speed,
            leaders: old.leaders_by_term != new.leaders_by_term,
        }
    }
}

impl super::ClusterView {
    /// Take `old`'s place on screen: mark as changed only what differs from it (see
    /// [`Changes::between`]), whatever this view's own marks were.
    pub fn replacing(mut self, old: &super::ClusterView) -> super::ClusterView {
        self.changes = Changes::between(old, &self);
        self
    }
}
