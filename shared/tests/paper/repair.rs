//! §5.3 Log replication when logs disagree: the Figure 7 followers converge in O(terms) round
//! trips, catch-up is batched by `max_entries_per_append`, duplicated or reordered
//! AppendEntries never truncate matching entries, and only followers ever truncate.

use crate::common::*;
use shared::protocol::{AppendEntries, AppendEntriesResponse, Event, Message, MessageBody};
use shared::{LogIndex, NodeId, Term};
use shared::{MemStorage, Role};

/// §5.3, Figure 7: a new leader (term 8) meets six followers whose logs are missing entries
/// (a, b), have extra uncommitted entries (c, d), or both (e, f). "The leader handles
/// inconsistencies by forcing the followers' logs to duplicate its own", and with the
/// optimisation of §5.3 ("the follower can include the term of the conflicting entry and the
/// first index it stores for that term … one AppendEntries RPC will be required for each term
/// with conflicting entries, rather than one RPC per entry") each repair takes O(terms) round
/// trips, not O(entries).
#[test]
fn figure7_every_follower_log_converges_in_o_terms_round_trips() {
    let leader_terms: &[u64] = &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    let followers: [(&str, &[u64]); 6] = [
        ("a", &[1, 1, 1, 4, 4, 5, 5, 6, 6]),
        ("b", &[1, 1, 1, 4]),
        ("c", &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]),
        ("d", &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]),
        ("e", &[1, 1, 1, 4, 4, 4, 4]),
        ("f", &[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]),
    ];
    // S1 is the leader; S2..S7 are followers (a)..(f).
    let log_for = |id: u64| -> &[u64] {
        if id == 1 {
            leader_terms
        } else {
            followers[id as usize - 2].1
        }
    };
    // Each follower is in the term of its last entry; the leader was around in term 7 too.
    let mut net = Network::with_states(
        7,
        |id| {
            let t = log_for(id.get());
            let current_term = if id == 1 { 7 } else { *t.last().unwrap() };
            (hs(Term(current_term)), log_of_terms(t))
        },
        |_| {},
    );
    net.campaign(NodeId(1));
    net.deliver_all();
    assert_eq!(net.node(NodeId(1)).role(), Role::Leader);
    assert_eq!(
        net.node(NodeId(1)).current_term(),
        8,
        "the leader of term 8, as in the figure"
    );
    // It won without (c) and (d), whose logs are more up-to-date (§5.4.1).
    assert_eq!(net.node(NodeId(4)).voted_for(), None);
    assert_eq!(net.node(NodeId(5)).voted_for(), None);

    let leader_log = net.log(NodeId(1));
    let mut want_terms = leader_terms.to_vec();
    want_terms.push(8); // the leader's no-op
    assert_eq!(terms(&leader_log), want_terms);
    for (i, (name, have)) in followers.iter().enumerate() {
        let id = i as u64 + 2;
        assert_eq!(
            net.log(NodeId(id)),
            leader_log,
            "follower ({name}) must end with the leader's log"
        );
        assert_eq!(
            net.storage(NodeId(id)).synced_entries(),
            &leader_log[..],
            "({name}) durably"
        );
        assert_eq!(
            net.node(NodeId(id)).commit_index(),
            11,
            "({name}) learns the commit"
        );

        // A round trip is one probe position: the prev_log_index of an AppendEntries carrying
        // entries. (A heartbeat may resend the same probe while it is unanswered; that is a
        // retry, not another round trip.)
        let probes = distinct_positions(&net.delivered, 1, id, |m| match &m.body {
            MessageBody::AppendEntries(AppendEntries {
                prev_log_index,
                entries,
                ..
            }) if !entries.is_empty() => Some(prev_log_index.get()),
            _ => None,
        });
        let rejected = distinct_positions(&net.delivered, id, 1, |m| match m.body {
            MessageBody::AppendEntriesResponse(AppendEntriesResponse {
                success: false,
                rejected_index,
                ..
            }) => Some(rejected_index.get()),
            _ => None,
        });
        assert_eq!(
            probes,
            rejected + 1,
            "({name}) each refused probe costs one more round trip"
        );
        let mut distinct_terms = have.to_vec();
        distinct_terms.dedup();
        let bound = distinct_terms.len() + 1;
        assert!(
            probes <= bound,
            "({name}) took {probes} round trips, bound {bound}"
        );
        // Backing up one entry per round trip needs one per index from the leader's end down to
        // the last matching entry: more than the bound for (b), (e) and (f).
        let matching = have
            .iter()
            .zip(leader_terms)
            .take_while(|(a, b)| a == b)
            .count();
        let naive = leader_terms.len() + 1 - matching;
        if ["b", "e", "f"].contains(name) {
            assert!(
                naive > bound,
                "({name}) the bound must tell fast from naive backup"
            );
        }
    }
}

/// How many different values `key` takes over the delivered messages `from → to`.
fn distinct_positions(
    delivered: &[Message],
    from: u64,
    to: u64,
    key: impl Fn(&Message) -> Option<u64>,
) -> usize {
    let mut seen: Vec<u64> = delivered
        .iter()
        .filter(|m| m.from == from && m.to == to)
        .filter_map(key)
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// §5.3: "the leader must find the latest log entry where the two logs agree, delete any entries
/// in the follower's log after that point, and send the follower all of the leader's entries
/// after that point" — and it batches them, never more than `max_entries_per_append` per RPC.
#[test]
fn catch_up_is_batched_by_max_entries_per_append() {
    let long: Vec<u64> = vec![1; 23];
    let mut net = Network::with_states(
        3,
        |id| {
            if id == 1 {
                (hs(Term(1)), log_of_terms(&long))
            } else {
                (hs(Term(1)), vec![])
            }
        },
        |c| c.max_entries_per_append = 4,
    );
    assert!(net.elect(NodeId(1), 1));
    for m in &net.delivered {
        assert!(
            carried(m).len() <= 4,
            "an AppendEntries carried {} entries",
            carried(m).len()
        );
    }
    for id in [2, 3] {
        assert_eq!(net.log(NodeId(id)), net.log(NodeId(1)));
        let batches = net.count_delivered(NodeId(1), NodeId(id), |m| !carried(m).is_empty());
        assert!(
            batches >= 24usize.div_ceil(4),
            "S{id}: {batches} batches for 24 entries"
        );
    }
    assert_eq!(net.node(NodeId(1)).commit_index(), 24);
}

/// §5.3: Raft RPCs are idempotent and the network may duplicate and reorder them; "if a follower
/// receives an AppendEntries request that includes log entries already present in its log, it
/// ignores those entries in the new request" (§5.5). A late or duplicated AppendEntries must not
/// truncate entries that match, and a leader never moves a follower's match_index back.
#[test]
fn duplicate_or_reordered_append_entries_never_truncate_matching_entries() {
    let mut storage = MemStorage::new();
    let mut node = new_node(NodeId(2), 3);
    let three = log_of_terms(&[1, 1, 1]);
    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(0),
        Term(0),
        three.clone(),
        LogIndex(0),
    ));
    // The same request again, then an older one that carried only index 1, then one carrying
    // index 2 alone.
    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(0),
        Term(0),
        three.clone(),
        LogIndex(0),
    ));
    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(0),
        Term(0),
        three[..1].to_vec(),
        LogIndex(0),
    ));
    node.step(append(
        NodeId(1),
        NodeId(2),
        Term(1),
        LogIndex(1),
        Term(1),
        three[1..2].to_vec(),
        LogIndex(0),
    ));
    let (out, events) = persist(&mut node, &mut storage);
    assert_eq!(node.log().entries(), &three[..], "nothing lost");
    assert_eq!(storage.entries(), &three[..]);
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::EntriesTruncated { .. })));
    let matched: Vec<_> = out
        .iter()
        .map(|m| match m.body {
            MessageBody::AppendEntriesResponse(AppendEntriesResponse {
                success: true,
                match_index,
                ..
            }) => match_index,
            _ => panic!("unexpected {m:?}"),
        })
        .collect();
    // Each reply vouches only for what its own request covered.
    assert_eq!(matched, vec![3, 3, 1, 2]);

    // Leader side: replies arriving out of order never move match_index backwards.
    let (mut leader, mut lstorage) = leader_of(3, Term(2), log_of_terms(&[1, 1]));
    leader.step(append_ok(NodeId(2), NodeId(1), Term(2), LogIndex(3)));
    leader.step(append_ok(NodeId(2), NodeId(1), Term(2), LogIndex(1)));
    persist(&mut leader, &mut lstorage);
    assert_eq!(
        leader.peer_progress(NodeId(2)),
        Some((LogIndex(4), LogIndex(3)))
    );
    assert_eq!(leader.commit_index(), 3);
}

/// §5.3 with a leader's own log (Figure 3, Leader Append-Only): replicating through rejections,
/// a leader only ever appends; every truncation happens on followers.
#[test]
fn only_followers_truncate_never_the_leader() {
    let mut net = Network::with_states(
        3,
        |id| match id {
            NodeId(1) => (hs(Term(3)), log_of_terms(&[1, 3])),
            _ => (hs(Term(2)), log_of_terms(&[1, 2, 2, 2])),
        },
        |_| {},
    );
    // S1 (last term 3) wins over the longer but older logs.
    assert!(net.elect(NodeId(1), 1));
    assert_eq!(net.log(NodeId(2)), net.log(NodeId(1)));
    assert_eq!(net.log(NodeId(3)), net.log(NodeId(1)));
    for e in &net.events {
        if let Event::EntriesTruncated { node, .. } = e {
            assert_ne!(*node, 1, "the leader truncated its own log");
        }
    }
    assert!(net.events.iter().any(|e| matches!(
        e,
        Event::EntriesTruncated {
            node: NodeId(2),
            from_index: LogIndex(2)
        }
    )));
}

/// §5.3 fast backup, leader side: a rejection naming a conflicting term the leader also has moves
/// `nextIndex` just past the leader's last entry of that term (the logs agree up to there), not
/// back to where the follower's run of that term starts.
#[test]
fn a_rejection_naming_a_term_the_leader_has_skips_past_its_last_entry_of_it() {
    // Leader of term 3 with [1, 1, 2] (+ its no-op at 4): its first probe is prev 3 (term 2).
    let (mut leader, _storage) = leader_of(3, Term(3), log_of_terms(&[1, 1, 2]));
    assert_eq!(
        leader.peer_progress(NodeId(2)),
        Some((LogIndex(4), LogIndex(0)))
    );
    // A follower holding [1, 1, 1, 1, 1] answers: index 3 has term 1, which starts at index 1.
    let reject = AppendEntriesResponse::reject(LogIndex(3), LogIndex(1), Some(Term(1)));
    leader.step(Message {
        from: NodeId(2),
        to: NodeId(1),
        term: Term(3),
        body: MessageBody::AppendEntriesResponse(reject),
    });
    assert_eq!(
        leader.peer_progress(NodeId(2)),
        Some((LogIndex(3), LogIndex(0))),
        "the leader's last term-1 entry is 2, so the next probe is at 3"
    );
}
