//! The network as the page understands it: which directed links are blocked, and the sentences
//! that describe a change of partitions, cuts, loss and latency. Pure; must not touch servers.

use crate::decimal::Fixed;
use std::collections::BTreeSet;

use shared::protocol::NetworkView;
use shared::tree::IntoTree;
use shared::types::NodeId;

use super::narration::Focus;

/// True when the directed link `from → to` is blocked by a cut or a partition.
pub fn link_blocked(network: &NetworkView, from: NodeId, to: NodeId) -> bool {
    if network.cut_links.iter().any(|l| l[0] == from && l[1] == to) {
        return true;
    }
    if network.partitions.is_empty() {
        return false;
    }
    !network
        .partitions
        .iter()
        .any(|g| g.contains(&from) && g.contains(&to))
}

/// True when the directed link `from → to` is cut by hand (not by a partition).
pub fn link_cut(network: &NetworkView, from: NodeId, to: NodeId) -> bool {
    network.cut_links.iter().any(|l| l[0] == from && l[1] == to)
}

/// One sentence per thing that changed from `old` to `new`, each with what it points at.
pub(super) fn describe_network_change(
    old: &NetworkView,
    new: &NetworkView,
) -> Vec<(String, Focus)> {
    let mut out = Vec::new();
    let healed_everything = new.partitions.is_empty()
        && new.cut_links.is_empty()
        && (!old.partitions.is_empty() || !old.cut_links.is_empty());
    if healed_everything {
        out.push((
            "The network is healed: every link works again".to_string(),
            Focus::None,
        ));
    } else {
        describe_partitions(old, new, &mut out);
        describe_cuts(old, new, &mut out);
    }
    if (new.loss_probability - old.loss_probability).abs() > 1e-9 {
        out.push((
            format!(
                "Message loss set to {}%",
                Fixed(new.loss_probability * 100.0, 0)
            ),
            Focus::None,
        ));
    }
    if (new.duplicate_probability - old.duplicate_probability).abs() > 1e-9 {
        out.push((
            format!(
                "Message duplication set to {}%",
                Fixed(new.duplicate_probability * 100.0, 0)
            ),
            Focus::None,
        ));
    }
    if new.latency_ms_min != old.latency_ms_min || new.latency_ms_max != old.latency_ms_max {
        out.push((
            format!(
                "Latency set to {}–{} ms",
                new.latency_ms_min, new.latency_ms_max
            ),
            Focus::None,
        ));
    }
    out
}

fn describe_partitions(old: &NetworkView, new: &NetworkView, out: &mut Vec<(String, Focus)>) {
    if new.partitions == old.partitions {
        return;
    }
    if new.partitions.is_empty() {
        out.push(("The partition is healed".to_string(), Focus::None));
        return;
    }
    let groups = new
        .partitions
        .iter()
        .map(|g| {
            g.iter()
                .map(|id| format!("S{id}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" | ");
    out.push((format!("The network is partitioned: {groups}"), Focus::None));
}

fn describe_cuts(old: &NetworkView, new: &NetworkView, out: &mut Vec<(String, Focus)>) {
    let old_cuts: BTreeSet<[NodeId; 2]> = old.cut_links.iter().copied().into_set();
    let new_cuts: BTreeSet<[NodeId; 2]> = new.cut_links.iter().copied().into_set();
    let added: Vec<[NodeId; 2]> = new_cuts.difference(&old_cuts).copied().collect();
    let removed: Vec<[NodeId; 2]> = old_cuts.difference(&new_cuts).copied().collect();
    // Isolating a node cuts 2(n-1) links at once: say it in one sentence.
    let mut isolated = BTreeSet::new();
    for &[a, b] in &added {
        for x in [a, b] {
            let all_cut = new_cuts.iter().filter(|l| l[0] == x || l[1] == x).count();
            let mine = added.iter().filter(|l| l[0] == x || l[1] == x).count();
            if mine >= 2 && all_cut == mine && mine == added.len() {
                isolated.insert(x);
            }
        }
    }
    if let Some(&x) = isolated.iter().next().filter(|_| isolated.len() == 1) {
        out.push((
            format!("S{x} is isolated: every link to and from it is cut"),
            Focus::Node(x),
        ));
    } else {
        for (pair, focus) in describe_links(&added) {
            out.push((format!("Link {pair} cut"), focus));
        }
    }
    for (pair, focus) in describe_links(&removed) {
        out.push((format!("Link {pair} restored"), focus));
    }
}

/// Group directed links into "S1 ↔ S2" (both ways) and "S1 → S2" (one way).
fn describe_links(links: &[[NodeId; 2]]) -> Vec<(String, Focus)> {
    let set: BTreeSet<[NodeId; 2]> = links.iter().copied().into_set();
    let mut out = Vec::new();
    for &[a, b] in &set {
        if set.contains(&[b, a]) {
            if a < b {
                out.push((format!("S{a} ↔ S{b}"), Focus::Link(a, b)));
            }
        } else {
            out.push((format!("S{a} → S{b}"), Focus::Link(a.min(b), a.max(b))));
        }
    }
    out
}
