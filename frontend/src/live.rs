//! The cluster as the page holds it, finely grained: the reducer's `ClusterView` sits in one
//! non-reactive store, and each part the reducer reports changed (a server, the messages, the
//! ghosts, the committed log, the story, the network, the controls) has its own trigger. A
//! component names the parts it reads (`read(&[Part::Node(3)], …)`) and wakes only when one of
//! those changes: an event batch that touches S3 re-runs S3's memos, not every memo on the page.
//! Also derives the few facts many components share (leader, number of servers, pause, speed),
//! once per change. Owns no Raft knowledge (that is `model`) and sends nothing.

use leptos::prelude::*;
use shared::protocol::ClusterSnapshot;
use shared::types::NodeId;

use crate::model::{watching, Changes, ClusterView, Resync, Tone};

/// A part of the view a component can depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// What only a snapshot changes: seed, log model, timings, the number of servers.
    Cluster,
    /// One server.
    Node(NodeId),
    /// Every server (for facts about all of them: the leader, the longest log, the terms).
    AllNodes,
    /// Messages in flight.
    Messages,
    /// Lost messages still shown.
    Ghosts,
    /// The committed log and the indexes where replicas disagree.
    Committed,
    /// The story.
    Narration,
    /// Partitions, cuts, loss and latency.
    Network,
    /// Pause and speed.
    Control,
    /// Who led which term.
    Leaders,
}

/// One trigger per part that is not a server.
#[derive(Clone, Copy)]
struct Triggers {
    cluster: Trigger,
    messages: Trigger,
    ghosts: Trigger,
    committed: Trigger,
    narration: Trigger,
    network: Trigger,
    control: Trigger,
    leaders: Trigger,
}

impl Triggers {
    fn new() -> Triggers {
        Triggers {
            cluster: Trigger::new(),
            messages: Trigger::new(),
            ghosts: Trigger::new(),
            committed: Trigger::new(),
            narration: Trigger::new(),
            network: Trigger::new(),
            control: Trigger::new(),
            leaders: Trigger::new(),
        }
    }
}

/// The reducer's view and the triggers of its parts. `Copy` handles.
#[derive(Clone, Copy)]
struct Store {
    /// `None` until the first `Hello`. Never read without naming parts (or `peek`).
    view: StoredValue<Option<ClusterView>>,
    parts: Triggers,
    /// Server `id`'s trigger at `id - 1` (reference-counted: grown whenever a bigger cluster
    /// comes, and kept across resets so components keep their subscriptions).
    nodes: StoredValue<Vec<ArcTrigger>>,
}

impl Store {
    fn read<T>(&self, parts: &[Part], f: impl FnOnce(&ClusterView) -> T) -> Option<T> {
        for part in parts {
            self.track(*part);
        }
        self.view.with_value(|v| v.as_ref().map(f))
    }

    fn track(&self, part: Part) {
        let p = self.parts;
        match part {
            Part::Cluster => p.cluster.track(),
            Part::Messages => p.messages.track(),
            Part::Ghosts => p.ghosts.track(),
            Part::Committed => p.committed.track(),
            Part::Narration => p.narration.track(),
            Part::Network => p.network.track(),
            Part::Control => p.control.track(),
            Part::Leaders => p.leaders.track(),
            Part::Node(id) => {
                self.grow_nodes(id.get() as usize);
                let i = (id.get() as usize).saturating_sub(1);
                self.nodes.with_value(|t| t.get(i).map(ArcTrigger::track));
            }
            Part::AllNodes => {
                // A reset can change how many servers there are: follow the cluster too.
                p.cluster.track();
                self.nodes
                    .with_value(|t| t.iter().for_each(ArcTrigger::track));
            }
        }
    }

    /// Notify the trigger of every part the reducer reports changed since the last time.
    fn notify(&self, changes: Changes, node_count: usize) {
        self.grow_nodes(node_count);
        let Changes {
            everything,
            nodes,
            messages,
            ghosts,
            committed,
            narration,
            network,
            control,
            leaders,
        } = changes;
        let p = self.parts;
        for (changed, trigger) in [
            (everything, p.cluster),
            (messages, p.messages),
            (ghosts, p.ghosts),
            (committed, p.committed),
            (narration, p.narration),
            (network, p.network),
            (control, p.control),
            (leaders, p.leaders),
        ] {
            if changed || everything {
                trigger.notify();
            }
        }
        // Notify outside the store's lock (cloning a trigger only clones a reference).
        for (i, t) in self.nodes.get_value().iter().enumerate() {
            if everything || nodes.contains(&NodeId::of_slot(i)) {
                t.notify();
            }
        }
    }

    fn grow_nodes(&self, n: usize) {
        if self.nodes.with_value(|t| t.len() < n) {
            self.nodes
                .update_value(|t| t.resize_with(n, ArcTrigger::new));
        }
    }
}

/// The live cluster. All fields are `Copy` handles.
#[derive(Clone, Copy)]
pub struct Live {
    store: Store,
    /// Sequence number of the last event applied (0 before the first `Hello`).
    pub seq: RwSignal<u64>,
    /// Snapshots taken so far (`Hello` or `Snapshot`): a change means the run may have been
    /// replaced (a lesson's pause point, another page's fork), even when paused, so what is
    /// fetched about the run (the timeline's markers) is fetched again.
    pub snapshots: RwSignal<u64>,
    /// True once the first snapshot arrived.
    pub ready: Memo<bool>,
    /// Number of servers (0 before the first snapshot).
    pub node_count: Memo<u64>,
    /// The leader of the highest term among running servers.
    pub leader: Memo<Option<NodeId>>,
    /// Paused? (false before the first snapshot)
    pub paused: Memo<bool>,
    /// Virtual ms per wall ms (1/100 before the first snapshot, the server's default).
    pub speed: Memo<f64>,
}

impl Live {
    /// An empty cluster, waiting for the first snapshot. Call inside the page's owner.
    pub fn new() -> Live {
        let store = Store {
            view: StoredValue::new(None),
            parts: Triggers::new(),
            nodes: StoredValue::new(Vec::new()),
        };
        Live {
            store,
            seq: RwSignal::new(0),
            snapshots: RwSignal::new(0),
            ready: Memo::new(move |_| store.read(&[Part::Cluster], |_| ()).is_some()),
            node_count: Memo::new(move |_| {
                let n = store.read(&[Part::Cluster], |v| v.nodes.len() as u64);
                n.unwrap_or(0)
            }),
            leader: Memo::new(move |_| store.read(&[Part::AllNodes], |v| v.leader()).flatten()),
            paused: Memo::new(move |_| {
                let paused = store.read(&[Part::Control], |v| v.paused);
                paused.unwrap_or(false)
            }),
            speed: Memo::new(move |_| {
                let speed = store.read(&[Part::Control], |v| v.speed);
                speed.unwrap_or(0.01)
            }),
        }
    }

    /// Read the view, waking the caller when any of `parts` changes. The closure must read only
    /// those parts (or what follows from them), or it would show stale state. `None` before the
    /// first snapshot.
    pub fn read<T>(&self, parts: &[Part], f: impl FnOnce(&ClusterView) -> T) -> Option<T> {
        self.store.read(parts, f)
    }

    /// Read the view without subscribing (for event handlers).
    pub fn peek<T>(&self, f: impl FnOnce(&ClusterView) -> T) -> Option<T> {
        self.store.view.with_value(|v| v.as_ref().map(f))
    }

    /// Take a new snapshot (`Hello` when `connected`, else `Snapshot`, which says `why` when a
    /// page or a script replaced the run): the first one starts
    /// the story, later ones resynchronise (`ClusterView::resync` after a reconnection,
    /// `ClusterView::moved` on an open connection). Wakes everything.
    pub fn load(
        &self,
        snapshot: ClusterSnapshot,
        connected: bool,
        why: Option<shared::trace::answers::Reason>,
    ) -> Resync {
        let mut kind = Resync::Same;
        self.store.view.update_value(|v| match v {
            Some(view) if connected => kind = view.resync(snapshot),
            Some(view) => kind = view.moved(snapshot, why),
            None => {
                let mut view = ClusterView::from_snapshot(snapshot);
                let text = watching(
                    view.nodes.len(),
                    view.seed,
                    view.leader(),
                    view.commit_index(),
                );
                view.note(text, Tone::Control);
                *v = Some(view);
            }
        });
        self.publish();
        self.snapshots.update(|n| *n += 1);
        kind
    }

    /// Change the view (apply events, a clock tick, a note), then wake what the change touched.
    /// `None` (and no change) before the first snapshot.
    pub fn change<T>(&self, f: impl FnOnce(&mut ClusterView) -> T) -> Option<T> {
        let out = self
            .store
            .view
            .try_update_value(|v| v.as_mut().map(f))
            .flatten();
        self.publish();
        out
    }

    fn publish(&self) {
        let taken = self
            .store
            .view
            .try_update_value(|v| v.as_mut().map(|v| (v.take_changes(), v.seq, v.nodes.len())));
        let Some((changes, seq, node_count)) = taken.flatten() else {
            return;
        };
        if self.seq.get_untracked() != seq {
            self.seq.set(seq);
        }
        if !changes.is_empty() {
            self.store.notify(changes, node_count);
        }
    }
}

impl Default for Live {
    fn default() -> Live {
        Live::new()
    }
}
