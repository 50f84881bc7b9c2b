//! What the servers hold at one index, read down the log rows: the caption under the logs when
//! an entry is clicked or tapped. It says what the cells' tooltips say (which a phone cannot
//! show, and a projector shows too small), grouped so that Log Matching can be read off it: the
//! same term at the same index is the same entry; and where the arrow keys move the highlighted
//! cell (`grid_move`). Reads the view; changes nothing.

use shared::protocol::LogEntryView;
use shared::types::{EntryData, LogIndex, NodeId, Term};

use super::{ClusterView, Focus};

/// The servers that hold one same entry (its term and contents) at the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnEntry {
    /// The entry's term.
    pub term: Term,
    /// The entry in full ("add 5"; "value = 41, from add rand" in the state model).
    pub text: String,
    /// Who holds it, S1 first.
    pub holders: Vec<NodeId>,
    /// Those of `holders` that have not synced it yet: a crash would lose it there.
    pub in_memory: Vec<NodeId>,
}

/// One index across every server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The index.
    pub index: LogIndex,
    /// Whether the cluster has committed it (the global commit index has reached it).
    pub committed: bool,
    /// The different entries held there, the most widely held first.
    pub entries: Vec<ColumnEntry>,
    /// The servers whose log does not reach the index.
    pub empty: Vec<NodeId>,
    /// The servers that are down (their row shows what their disk held).
    pub down: Vec<NodeId>,
}

/// An entry in full: in the *state* model the request the leader ran to get the value as well
/// ("value = 41, from add rand"), for which a cell has no room.
pub fn entry_text(e: &LogEntryView) -> String {
    match &e.data {
        EntryData::Value { command, .. } => format!("{}, from {command}", e.command),
        _ => e.command.clone(),
    }
}

impl ClusterView {
    /// What every server holds at `index`. A server whose entry there is older than what the
    /// page holds (not fetched) is counted where its term says, with the committed log's text.
    pub fn column(&self, index: LogIndex) -> Column {
        let mut entries: Vec<ColumnEntry> = Vec::new();
        let mut empty = Vec::new();
        for n in &self.nodes {
            let Some(term) = n.term_at(index).filter(|_| index > LogIndex(0)) else {
                empty.push(n.id);
                continue;
            };
            let text = n
                .entry(index)
                .or_else(|| self.committed_entry(index).filter(|c| c.term == term))
                .map_or_else(|| "…".to_string(), entry_text);
            let at = match entries
                .iter()
                .position(|e| e.term == term && e.text == text)
            {
                Some(at) => at,
                None => {
                    entries.push(ColumnEntry {
                        term,
                        text,
                        holders: Vec::new(),
                        in_memory: Vec::new(),
                    });
                    entries.len() - 1
                }
            };
            entries[at].holders.push(n.id);
            if n.synced_index < index {
                entries[at].in_memory.push(n.id);
            }
        }
        // The most widely held first; a tie keeps the order of first holders (S1 first).
        let mut ordered: Vec<ColumnEntry> = Vec::with_capacity(entries.len());
        for e in entries {
            let at = ordered
                .iter()
                .position(|o| o.holders.len() < e.holders.len())
                .unwrap_or(ordered.len());
            ordered.insert(at, e);
        }
        Column {
            index,
            committed: index > LogIndex(0) && index <= self.commit_index(),
            entries: ordered,
            empty,
            down: self.nodes.iter().filter(|n| !n.up).map(|n| n.id).collect(),
        }
    }
}

impl Column {
    /// "Index 3: committed", "Index 4: not committed; the servers hold different entries".
    pub fn heading(&self) -> String {
        let state = if self.committed {
            "committed"
        } else {
            "not committed"
        };
        let split = if self.entries.len() > 1 {
            if self.committed {
                "; a server holds another entry there, which it will have to replace"
            } else {
                "; the servers hold different entries"
            }
        } else {
            ""
        };
        format!("Index {}: {state}{split}", self.index)
    }

    /// One line per entry held, then the servers with none: "t2 add 5: S1, S2 (in memory
    /// only), S3 (down)", "no entry: S4, S5".
    pub fn lines(&self) -> Vec<String> {
        let name = |id: &NodeId, in_memory: bool| {
            let mut s = format!("S{id}");
            match (self.down.contains(id), in_memory) {
                (true, _) => s.push_str(" (down)"),
                (false, true) => s.push_str(" (in memory only)"),
                (false, false) => {}
            }
            s
        };
        let mut lines: Vec<String> = self
            .entries
            .iter()
            .map(|e| {
                let who: Vec<String> = e
                    .holders
                    .iter()
                    .map(|id| name(id, e.in_memory.contains(id)))
                    .collect();
                format!("t{} {}: {}", e.term, e.text, who.join(", "))
            })
            .collect();
        if !self.empty.is_empty() {
            let who: Vec<String> = self.empty.iter().map(|id| name(id, false)).collect();
            lines.push(format!("no entry: {}", who.join(", ")));
        }
        lines
    }
}

/// Where an arrow key moves the highlighted cell in the focused log table (`nodes` servers,
/// indexes `1..=last`): left and right along the log, up and down across the servers, Home and
/// End to the first and last index. From no cell, the newest index; from a whole index, its
/// first server's cell. `None`: the key is not the table's (or there is no entry yet).
pub fn grid_move(focus: Focus, key: &str, nodes: u64, last: LogIndex) -> Option<Focus> {
    if last == LogIndex(0) || nodes == 0 {
        return None;
    }
    let (node, index) = match focus {
        Focus::NodeEntry(n, i) => (Some(n), i.min(last)),
        Focus::Entry(i) => (None, i.min(last)),
        _ => {
            return matches!(
                key,
                "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" | "End"
            )
            .then_some(Focus::Entry(last))
            .or_else(|| (key == "Home").then_some(Focus::Entry(LogIndex(1))));
        }
    };
    let at = |i: LogIndex| match node {
        Some(n) => Focus::NodeEntry(n, i),
        None => Focus::Entry(i),
    };
    let row = |n: u64| Focus::NodeEntry(NodeId(n), index);
    Some(match key {
        "ArrowLeft" => at(LogIndex(index.get().saturating_sub(1).max(1))),
        "ArrowRight" => at((index + 1).min(last)),
        "Home" => at(LogIndex(1)),
        "End" => at(last),
        "ArrowDown" => row(node.map_or(1, |n| (n.get() + 1).min(nodes))),
        "ArrowUp" => match node {
            Some(n) if n.get() > 1 => row(n.get() - 1),
            // Above the first server: the whole index again.
            _ => Focus::Entry(index),
        },
        _ => return None,
    })
}
