//! One index read across the servers (`ClusterView::column`): the caption a clicked or tapped
//! log cell shows, grouped by entry so that Log Matching can be read off it.

mod common;

use common::{entry, snapshot};
use logscope_frontend::model::ClusterView;
use shared::protocol::NodeView;
use shared::types::Entry;
use shared::LogIndex;

fn with_log(n: &mut NodeView, log: Vec<Entry>, synced: u64, commit: u64) {
    n.log_len = LogIndex::of_len(log.len());
    n.log = log.iter().map(Into::into).collect();
    n.synced_index = LogIndex(synced);
    n.commit_index = LogIndex(commit);
}

/// S1 leads term 2 with entry 3 from term 2, on S2 in memory only; S3 kept term 1's entry 3;
/// S4's log ends at 1; S5 is down with an empty disk.
fn view() -> ClusterView {
    let mut snap = snapshot(5, 10);
    let common = || vec![entry(1, 1, 1), entry(2, 1, 2)];
    let mut s1 = common();
    s1.push(entry(3, 2, 3));
    with_log(&mut snap.nodes[0], s1.clone(), 3, 2);
    with_log(&mut snap.nodes[1], s1, 2, 2);
    let mut s3 = common();
    s3.push(entry(3, 1, 9));
    with_log(&mut snap.nodes[2], s3, 3, 2);
    with_log(&mut snap.nodes[3], vec![entry(1, 1, 1)], 1, 1);
    snap.nodes[4].up = false;
    ClusterView::from_snapshot(snap)
}

#[test]
fn an_uncommitted_index_where_the_servers_disagree() {
    let c = view().column(LogIndex(3));
    assert_eq!(
        c.heading(),
        "Index 3: not committed; the servers hold different entries"
    );
    assert_eq!(
        c.lines(),
        [
            "t2 add 3: S1, S2 (in memory only)",
            "t1 add 9: S3",
            "no entry: S4, S5 (down)"
        ]
    );
}

#[test]
fn a_committed_index_held_by_every_server_that_reaches_it() {
    let c = view().column(LogIndex(2));
    assert_eq!(c.heading(), "Index 2: committed");
    assert_eq!(
        c.lines(),
        ["t1 add 2: S1, S2, S3", "no entry: S4, S5 (down)"]
    );
    let first = view().column(LogIndex(1));
    assert_eq!(first.lines()[0], "t1 add 1: S1, S2, S3, S4");
}

#[test]
fn the_arrow_keys_walk_the_log_table() {
    use logscope_frontend::model::{grid_move, Focus};
    use shared::NodeId;
    let (n, last) = (5, LogIndex(6));
    let cell = |node, i| Focus::NodeEntry(NodeId(node), LogIndex(i));
    // From nothing: the newest index; Home the first.
    assert_eq!(
        grid_move(Focus::None, "ArrowLeft", n, last),
        Some(Focus::Entry(last))
    );
    assert_eq!(
        grid_move(Focus::Node(NodeId(2)), "Home", n, last),
        Some(Focus::Entry(LogIndex(1)))
    );
    assert_eq!(grid_move(Focus::None, "a", n, last), None);
    // Along a row, stopping at either end.
    assert_eq!(
        grid_move(cell(2, 3), "ArrowLeft", n, last),
        Some(cell(2, 2))
    );
    assert_eq!(
        grid_move(cell(2, 1), "ArrowLeft", n, last),
        Some(cell(2, 1))
    );
    assert_eq!(
        grid_move(cell(2, 6), "ArrowRight", n, last),
        Some(cell(2, 6))
    );
    assert_eq!(grid_move(cell(2, 3), "End", n, last), Some(cell(2, 6)));
    // Across the servers: from the whole index down to S1, up from S1 back to the index.
    assert_eq!(
        grid_move(Focus::Entry(LogIndex(4)), "ArrowDown", n, last),
        Some(cell(1, 4))
    );
    assert_eq!(
        grid_move(cell(1, 4), "ArrowDown", n, last),
        Some(cell(2, 4))
    );
    assert_eq!(
        grid_move(cell(5, 4), "ArrowDown", n, last),
        Some(cell(5, 4))
    );
    assert_eq!(grid_move(cell(2, 4), "ArrowUp", n, last), Some(cell(1, 4)));
    assert_eq!(
        grid_move(cell(1, 4), "ArrowUp", n, last),
        Some(Focus::Entry(LogIndex(4)))
    );
    // A highlight past the end (the log was cut back) moves from the end; no log, no move.
    assert_eq!(
        grid_move(cell(3, 9), "ArrowLeft", n, last),
        Some(cell(3, 5))
    );
    assert_eq!(grid_move(Focus::None, "ArrowLeft", n, LogIndex(0)), None);
    assert_eq!(grid_move(cell(2, 3), "Enter", n, last), None);
}
