//! Builders for the paper tests: configs, entries and logs, durable state, nodes, and the
//! messages tests step into a node by hand (with small readers for the messages a node sends).
//! Also `persist`, which handles one node's `Ready`s the way a driver must, and `leader_of`,
//! which makes a node leader of a given term. Owns no production behaviour.

use shared::protocol::{
    AppendEntries, AppendEntriesResponse, Event, Message, MessageBody, RequestVote,
    RequestVoteResponse,
};
use shared::{
    Command, Config, Entry, EntryData, HardState, LogIndex, LogModel, MemStorage, NodeId, RaftNode,
    Rng, Role, Storage, Term,
};

/// The configuration every paper test starts from: node `id` of `1..=n`, timeouts as in the
/// paper's example (150–300 ms), heartbeats every 50 ms, generous batches.
pub fn config(id: NodeId, n: u64) -> Config {
    Config {
        id,
        peers: NodeId::all(n).collect(),
        election_timeout_ms_min: 150,
        election_timeout_ms_max: 300,
        heartbeat_interval_ms: 50,
        max_entries_per_append: 100,
        log_model: LogModel::Command,
        broken: Default::default(),
    }
}

/// An entry whose command names its index (`add <index>`), so that mixed-up entries show.
pub fn entry(index: LogIndex, term: Term) -> Entry {
    Entry {
        index,
        term,
        data: EntryData::Request {
            command: Command::Add(index.get() as i64),
            client: None,
        },
    }
}

/// A log with one entry per term listed: `log_of_terms(&[1, 1, 2])` is indexes 1..=3.
pub fn log_of_terms(terms: &[u64]) -> Vec<Entry> {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| entry(LogIndex::of_slot(i), Term(*t)))
        .collect()
}

/// The terms of a log, in order (what the paper's figures draw).
pub fn terms(entries: &[Entry]) -> Vec<u64> {
    entries.iter().map(|e| e.term.get()).collect()
}

/// A node recovered from the given durable state; its RNGs derive from its id.
pub fn node_with(config: Config, hard_state: HardState, entries: Vec<Entry>) -> RaftNode {
    let id = config.id;
    RaftNode::new(
        config,
        hard_state,
        entries,
        Rng::new(0xE1EC_7100 + id.get()),
        Rng::new(0x5EED_0000 + id.get()),
        0,
    )
}

/// A brand-new node `id` of an `n`-node cluster.
pub fn new_node(id: NodeId, n: u64) -> RaftNode {
    node_with(config(id, n), HardState::default(), Vec::new())
}

/// Hard state `term` with no vote.
pub fn hs(current_term: Term) -> HardState {
    HardState {
        current_term,
        voted_for: None,
    }
}

/// A storage holding (durably) the given state, as a restarted node would find it.
pub fn storage_with(hard_state: HardState, entries: &[Entry]) -> MemStorage {
    let mut s = MemStorage::new();
    s.set_hard_state(hard_state).unwrap();
    s.append(entries).unwrap();
    s.sync().unwrap();
    s
}

// ----- Messages -----

/// An AppendEntries from `from` to `to`.
pub fn append(
    from: NodeId,
    to: NodeId,
    term: Term,
    prev_log_index: LogIndex,
    prev_log_term: Term,
    entries: Vec<Entry>,
    leader_commit: LogIndex,
) -> Message {
    Message {
        from,
        to,
        term,
        body: MessageBody::AppendEntries(AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        }),
    }
}

/// A RequestVote from `from` to `to`.
pub fn request_vote(
    from: NodeId,
    to: NodeId,
    term: Term,
    last_log_index: LogIndex,
    last_log_term: Term,
) -> Message {
    Message {
        from,
        to,
        term,
        body: MessageBody::RequestVote(RequestVote {
            last_log_index,
            last_log_term,
        }),
    }
}

/// A RequestVoteResponse from `from` to `to`.
pub fn vote_response(from: NodeId, to: NodeId, term: Term, vote_granted: bool) -> Message {
    Message {
        from,
        to,
        term,
        body: MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted }),
    }
}

/// A successful AppendEntriesResponse.
pub fn append_ok(from: NodeId, to: NodeId, term: Term, match_index: LogIndex) -> Message {
    Message {
        from,
        to,
        term,
        body: MessageBody::AppendEntriesResponse(AppendEntriesResponse::accept(
            match_index,
            LogIndex(0),
        )),
    }
}

/// True for an AppendEntries (heartbeat or not).
pub fn is_append(m: &Message) -> bool {
    matches!(m.body, MessageBody::AppendEntries(_))
}

/// The entries an AppendEntries carries (empty for anything else).
pub fn carried(m: &Message) -> &[Entry] {
    match &m.body {
        MessageBody::AppendEntries(ae) => &ae.entries,
        _ => &[],
    }
}

/// `Some(granted)` for a RequestVoteResponse.
pub fn vote_of(m: &Message) -> Option<bool> {
    match m.body {
        MessageBody::RequestVoteResponse(r) => Some(r.vote_granted),
        _ => None,
    }
}

/// `Some(success)` for an AppendEntriesResponse.
pub fn append_success(m: &Message) -> Option<bool> {
    match m.body {
        MessageBody::AppendEntriesResponse(r) => Some(r.success),
        _ => None,
    }
}

// ----- Persisting one node -----

/// What a driver does with one node until it has nothing left: take each `Ready`, write it,
/// sync it, and only then take its messages and advance. Returns the messages and events.
pub fn persist(node: &mut RaftNode, storage: &mut MemStorage) -> (Vec<Message>, Vec<Event>) {
    let mut messages = Vec::new();
    let mut events = Vec::new();
    while node.has_ready() {
        let mut ready = node.ready();
        events.extend(ready.events.drain(..).map(Event::from));
        let unsynced = ready.write(storage).expect("MemStorage never fails");
        let (mut sent, persisted) = unsynced.sync(storage).expect("MemStorage never fails");
        messages.append(&mut sent);
        node.advance(persisted);
    }
    (messages, events)
}

/// A node made leader of `term` in an `n`-node cluster, starting from `entries`: it campaigns
/// from `term - 1` and receives votes from a majority. Its first `Ready`s (votes, the no-op and
/// the first AppendEntries) are already persisted and their messages discarded.
pub fn leader_of(n: u64, term: Term, entries: Vec<Entry>) -> (RaftNode, MemStorage) {
    let hard_state = hs(term - 1);
    let mut storage = storage_with(hard_state, &entries);
    let mut node = node_with(config(NodeId(1), n), hard_state, entries);
    node.campaign();
    persist(&mut node, &mut storage); // the vote for itself counts once durable
    for voter in 2..=n / 2 + 1 {
        node.step(vote_response(NodeId(voter), NodeId(1), term, true));
    }
    assert_eq!(node.role(), Role::Leader, "setup: S1 must have won");
    assert_eq!(node.current_term(), term);
    persist(&mut node, &mut storage);
    (node, storage)
}
