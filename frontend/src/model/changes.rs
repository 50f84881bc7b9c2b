//! Which parts of the view changed since the page last asked, so that the page wakes only the
//! components that draw them. The reducer marks; the page takes. Must not decide what to draw.

use std::collections::BTreeSet;

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
