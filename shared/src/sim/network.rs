//! The simulated network: partitions and cut links, loss, duplication and latency, and every
//! message from the moment it is sent until it is delivered or dropped. Owns the messages in
//! flight and the network's RNG; must not change a node's state except by handing it a delivered
//! message.

use std::collections::BTreeSet;

use crate::protocol::{DropReason, Event, InFlight, Message, MessageId};
use crate::storage::Storage;
use crate::types::NodeId;

use super::config::NetworkPatch;
use super::queue::Item;
use super::{Sim, SimError};

impl<S: Storage> Sim<S> {
    // ----- Faults and controls -----

    /// Split the cluster into groups that cannot talk to each other; unlisted nodes form one more
    /// group. Replaces any earlier partition (link cuts stay).
    pub fn partition(&mut self, groups: Vec<Vec<NodeId>>) -> Result<(), SimError> {
        let mut seen = BTreeSet::new();
        let mut clean = Vec::new();
        for group in groups {
            let mut g = Vec::new();
            for id in group {
                self.check_node(id)?;
                if !seen.insert(id) {
                    return Err(SimError::BadConfig(format!(
                        "S{id} appears in two partition groups"
                    )));
                }
                g.push(id);
            }
            if !g.is_empty() {
                crate::tree::sort_small_by_key(&mut g, |id| *id);
                clean.push(g);
            }
        }
        let rest: Vec<NodeId> = self.node_ids().filter(|id| !seen.contains(id)).collect();
        if !rest.is_empty() && !clean.is_empty() {
            clean.push(rest);
        }
        if clean.len() == 1 {
            clean.clear(); // One group is no partition at all.
        }
        self.partitions = clean;
        self.network_changed();
        Ok(())
    }

    /// Cut the directed link `from → to`.
    pub fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), SimError> {
        self.check_link(from, to)?;
        self.cut_links.insert((from, to));
        self.network_changed();
        Ok(())
    }

    /// Restore the directed link `from → to`.
    pub fn uncut(&mut self, from: NodeId, to: NodeId) -> Result<(), SimError> {
        self.check_link(from, to)?;
        self.cut_links.remove(&(from, to));
        self.network_changed();
        Ok(())
    }

    /// Cut every link to and from `id`.
    pub fn isolate(&mut self, id: NodeId) -> Result<(), SimError> {
        self.check_node(id)?;
        for other in self.node_ids().filter(|o| *o != id).collect::<Vec<_>>() {
            self.cut_links.insert((id, other));
            self.cut_links.insert((other, id));
        }
        self.network_changed();
        Ok(())
    }

    /// Remove every partition and cut link.
    pub fn heal(&mut self) {
        self.cut_links.clear();
        self.partitions.clear();
        self.network_changed();
    }

    /// Change loss, duplication and latency (each `None` keeps its value). Same as
    /// [`Sim::apply_network`] with the fields of a [`NetworkPatch`].
    pub fn set_network(
        &mut self,
        loss_probability: Option<f64>,
        duplicate_probability: Option<f64>,
        latency_ms_min: Option<u64>,
        latency_ms_max: Option<u64>,
    ) -> Result<(), SimError> {
        self.apply_network(NetworkPatch {
            loss_probability,
            duplicate_probability,
            latency_ms_min,
            latency_ms_max,
        })
    }

    /// Change loss, duplication and latency as `patch` says (see [`super::NetworkSettings::patched`]).
    /// A refused patch changes nothing and emits nothing.
    pub fn apply_network(&mut self, patch: NetworkPatch) -> Result<(), SimError> {
        self.config.network = self.config.network.patched(&patch)?;
        self.network_changed();
        Ok(())
    }

    /// Lose one message in flight (a person clicked "drop").
    pub fn drop_message(&mut self, id: MessageId) -> Result<(), SimError> {
        let (m, key) = self
            .in_flight
            .remove(&id)
            .ok_or(SimError::UnknownMessage(id))?;
        self.queue.cancel(&key);
        self.drop_in_flight(&m, DropReason::Dropped);
        Ok(())
    }

    // ----- Internals -----

    fn check_link(&self, from: NodeId, to: NodeId) -> Result<(), SimError> {
        self.check_node(from)?;
        self.check_node(to)?;
        if from == to {
            return Err(SimError::BadConfig(format!(
                "S{from} to S{to} is not a link: pick two different nodes"
            )));
        }
        Ok(())
    }

    fn network_changed(&mut self) {
        let network = self.network_view();
        self.emit(Event::NetworkChanged { network });
    }

    fn link_open(&self, from: NodeId, to: NodeId) -> bool {
        if self.cut_links.contains(&(from, to)) {
            return false;
        }
        if self.partitions.is_empty() {
            return true;
        }
        self.partitions
            .iter()
            .any(|g| g.contains(&from) && g.contains(&to))
    }

    pub(super) fn send_all(&mut self, messages: Vec<Message>) {
        for m in messages {
            self.send(m);
        }
    }

    fn send(&mut self, message: Message) {
        let net = self.config.network;
        let copies = if self.net_rng.chance(net.duplicate_probability) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let latency = self
                .net_rng
                .range_inclusive(net.latency_ms_min, net.latency_ms_max);
            let id = self.next_message_id;
            self.next_message_id += 1;
            let flight = InFlight {
                id,
                kind: message.body.kind(),
                from: message.from,
                to: message.to,
                sent_at_ms: self.now_ms,
                deliver_at_ms: self.now_ms + latency,
                message: message.clone(),
            };
            let key = if self.net_rng.chance(net.loss_probability) {
                // Lost somewhere along the way: it vanishes part-way through its flight.
                let lost_after = (latency as f64 * self.net_rng.unit()) as u64;
                self.queue
                    .schedule(self.now_ms + lost_after, Item::Lose(id))
            } else {
                self.queue
                    .schedule(self.now_ms + latency, Item::Deliver(id))
            };
            self.emit(Event::MessageSent {
                message: flight.clone(),
            });
            self.in_flight.insert(id, (flight, key));
        }
    }

    /// A lost message's time came: it vanishes (unless a person dropped it already).
    pub(super) fn lose(&mut self, id: MessageId) {
        if let Some((m, _)) = self.in_flight.remove(&id) {
            self.drop_in_flight(&m, DropReason::Loss);
        }
    }

    fn drop_in_flight(&mut self, m: &InFlight, reason: DropReason) {
        self.stats.messages_dropped += 1;
        self.emit(Event::MessageDropped {
            id: m.id,
            from: m.from,
            to: m.to,
            reason,
        });
    }

    pub(super) fn deliver(&mut self, id: MessageId) {
        let Some((m, _)) = self.in_flight.remove(&id) else {
            return;
        };
        if !self.link_open(m.from, m.to) {
            return self.drop_in_flight(&m, DropReason::Cut);
        }
        if !self.is_up(m.to) {
            return self.drop_in_flight(&m, DropReason::NodeDown);
        }
        self.stats.messages_delivered += 1;
        self.emit(Event::MessageDelivered {
            id,
            from: m.from,
            to: m.to,
        });
        let to = m.to;
        let raft = self.nodes[to.slot()].raft.as_mut().expect("checked up");
        raft.advance_clock(self.now_ms);
        raft.step(m.message);
        self.flush(to);
    }
}
