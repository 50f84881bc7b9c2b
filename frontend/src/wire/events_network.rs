//! Readers of the two view types events carry: a message in flight ([`InFlight`], in
//! `message_sent`) and the network's state ([`NetworkView`], in `network_changed`), both from
//! shared/src/protocol/view.rs. Owns only these two; must not read the rest of the snapshot.
//!
//! Kept in a file of their own because the snapshot carries them too: if the snapshot's readers
//! also define them, this file is the one to delete (two impls of one trait do not compile).

use shared::protocol::{InFlight, NetworkView};
use shared::NodeId;

use crate::wire::read::{Fields, FromJson, Json};

impl FromJson for InFlight {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a message in flight")?;
        Ok(InFlight {
            id: f.get("id")?,
            kind: f.get("kind")?,
            from: f.get("from")?,
            to: f.get("to")?,
            sent_at_ms: f.get("sent_at_ms")?,
            deliver_at_ms: f.get("deliver_at_ms")?,
            message: f.get("message")?,
        })
    }
}

impl FromJson for NetworkView {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "the network's state")?;
        Ok(NetworkView {
            partitions: f.get("partitions")?,
            cut_links: cut_links(&f)?,
            loss_probability: f.get("loss_probability")?,
            duplicate_probability: f.get("duplicate_probability")?,
            latency_ms_min: f.get("latency_ms_min")?,
            latency_ms_max: f.get("latency_ms_max")?,
        })
    }
}

/// `cut_links`: pairs `[from, to]`, which serde reads as arrays of exactly two. Read here rather
/// than by a general reader of fixed-size arrays, which would belong in read.rs.
fn cut_links(f: &Fields) -> Result<Vec<[NodeId; 2]>, String> {
    let links: Vec<Vec<NodeId>> = f.get("cut_links")?;
    links
        .into_iter()
        .enumerate()
        .map(|(i, link)| {
            <[NodeId; 2]>::try_from(link).map_err(|link| {
                format!(
                    "cut_links: [{i}]: invalid length {}, expected an array of length 2",
                    link.len()
                )
            })
        })
        .collect()
}
