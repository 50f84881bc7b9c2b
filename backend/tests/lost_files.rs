//! Files lost from the data directory while the server was down (or while a node was crashed):
//! a missing `cluster.json` must not be taken for an interrupted wipe (which destroys every
//! node's log), and a node whose directory or hard state is gone must not come back blank at term
//! 0 (it could vote twice in a term), and a log emptied by hand must not be read as a node that
//! is merely behind (Raft would overwrite committed entries). Owns no production code; waits poll
//! with a deadline.

use shared::NodeId;
use std::path::Path;
use std::time::{Duration, Instant};

use backend::driver::{
    self, AppendWait, CommandError, DriverConfig, DriverHandle, ErrorKind, Input, MANIFEST_FILE,
    WIPE_MARKER,
};
use shared::protocol::ClientCommand;
use shared::sim::SimConfig;

const DEADLINE: Duration = Duration::from_secs(30);

fn config(dir: &Path) -> DriverConfig {
    DriverConfig {
        data_dir: dir.to_path_buf(),
        cluster: SimConfig {
            nodes: 3,
            seed: 11,
            ..SimConfig::default()
        },
        speed: 0.0,
        ..DriverConfig::default()
    }
}

/// Start a cluster in `dir`, run it until a leader has been elected (so every node has voted
/// and holds entries), and stop it.
async fn run_until_leader(dir: &Path) {
    let (handle, _info, thread) = driver::start(config(dir)).await.expect("starts");
    wait_for_leader(&handle).await;
    handle.shutdown().await;
    thread.join().await;
}

async fn wait_for_leader(handle: &DriverHandle) {
    let start = Instant::now();
    loop {
        let status = handle.status().await.expect("status");
        if status.leader.is_some() && status.time_ms > 2_000 {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "no leader: {status:?}");
        tokio::task::yield_now().await;
    }
}

async fn start_error(dir: &Path) -> String {
    match driver::start(config(dir)).await {
        Ok(_) => panic!("the driver started on a damaged data directory"),
        Err(e) => e.to_string(),
    }
}

/// Crash S3, `damage` its files, and try to restart it: the refusal, after checking S3 stays
/// down.
async fn restart_after(handle: &DriverHandle, damage: impl FnOnce()) -> CommandError {
    let control = |c: ClientCommand| Input::Control(c);
    handle
        .command(
            control(ClientCommand::Crash { node: NodeId(3) }),
            AppendWait::Appended,
        )
        .await
        .expect("crash");
    damage();
    let err = handle
        .command(
            control(ClientCommand::Restart { node: NodeId(3) }),
            AppendWait::Appended,
        )
        .await
        .expect_err("a damaged node must not restart");
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert_eq!(handle.status().await.unwrap().nodes_up, 2, "S3 stays down");
    err
}

/// `--fresh` is the way out: a new cluster starts.
async fn start_fresh(dir: &Path) {
    let (handle, info, thread) = driver::start(DriverConfig {
        fresh: true,
        ..config(dir)
    })
    .await
    .expect("--fresh starts");
    assert!(!info.recovered);
    assert!(dir.join("node-2/hard_state").exists());
    handle.shutdown().await;
    thread.join().await;
}

#[tokio::test]
async fn a_missing_manifest_is_refused_and_the_logs_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    run_until_leader(&dir).await;
    let log_bytes = std::fs::metadata(dir.join("node-1/log")).unwrap().len();
    assert!(log_bytes > 0, "the run wrote entries");
    std::fs::remove_file(dir.join(MANIFEST_FILE)).unwrap();

    let err = start_error(&dir).await;
    assert!(err.contains("cluster.json is missing"), "{err}");
    assert!(err.contains("S1, S2 and S3"), "{err}");
    assert!(err.contains("--fresh"), "{err}");
    assert_eq!(
        std::fs::metadata(dir.join("node-1/log")).unwrap().len(),
        log_bytes,
        "nothing was wiped"
    );

    // An interrupted wipe (the marker is there) is finished: a new cluster starts.
    std::fs::write(dir.join(WIPE_MARKER), "").unwrap();
    let (handle, info, thread) = driver::start(config(&dir)).await.expect("starts");
    assert!(!info.recovered, "a new cluster");
    assert!(!dir.join(WIPE_MARKER).exists(), "the wipe finished");
    handle.shutdown().await;
    thread.join().await;
}

/// QA: a `cluster.json` edited to name 2 of the 3 servers started a 2-server cluster and
/// silently left S3's files aside: a majority of 2 could overwrite what S2 and S3 committed.
#[tokio::test]
async fn a_manifest_naming_fewer_servers_than_hold_files_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    run_until_leader(&dir).await;
    let manifest = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("\"nodes\": 3"), "{text}");
    std::fs::write(&manifest, text.replace("\"nodes\": 3", "\"nodes\": 2")).unwrap();

    let err = start_error(&dir).await;
    assert!(err.contains("describes a cluster of 2 servers"), "{err}");
    assert!(err.contains("also holds the files of S3"), "{err}");
    assert!(err.contains("--fresh"), "{err}");
    assert!(dir.join("node-3/hard_state").exists(), "nothing was wiped");
    start_fresh(&dir).await;
}

#[tokio::test]
async fn a_node_that_lost_its_hard_state_or_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    run_until_leader(&dir).await;

    std::fs::remove_file(dir.join("node-2/hard_state")).unwrap();
    let err = start_error(&dir).await;
    assert!(
        err.contains("S2 of the stored cluster lost its files"),
        "{err}"
    );
    assert!(err.contains("hard_state missing"), "{err}");

    std::fs::remove_dir_all(dir.join("node-2")).unwrap();
    let err = start_error(&dir).await;
    assert!(err.contains("the node directory missing"), "{err}");
    assert!(err.contains("vote twice"), "{err}");

    // --fresh is the way out: a new cluster, every node with both files.
    start_fresh(&dir).await;
}

#[tokio::test]
async fn restarting_a_crashed_node_whose_hard_state_was_deleted_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (handle, _info, thread) = driver::start(config(&dir)).await.expect("starts");
    wait_for_leader(&handle).await;
    let err = restart_after(&handle, || {
        std::fs::remove_file(dir.join("node-3/hard_state")).unwrap()
    })
    .await;
    assert!(err.message.contains("lost its files"), "{}", err.message);
    handle.shutdown().await;
    thread.join().await;
}

/// Append `count` requests and wait for each to commit, then let heartbeats carry the commit
/// index to every follower.
async fn commit_requests(handle: &DriverHandle, count: u64) {
    for i in 1..=count {
        let append = ClientCommand::Append {
            command: format!("add {i}"),
            node: None,
            client_id: None,
            serial: None,
        };
        let wait = AppendWait::Committed {
            wall_timeout: DEADLINE,
        };
        handle
            .command(Input::parse(append).expect("a request"), wait)
            .await
            .expect("committed");
    }
    let until = handle.status().await.unwrap().time_ms + 1_000;
    let start = Instant::now();
    while handle.status().await.unwrap().time_ms < until {
        assert!(start.elapsed() < DEADLINE, "virtual time stopped");
        tokio::task::yield_now().await;
    }
}

fn empty_log(dir: &Path, node: u64) {
    let log = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(format!("node-{node}/log")))
        .unwrap();
    log.set_len(0).unwrap();
}

#[tokio::test]
async fn logs_emptied_by_hand_are_refused_and_not_repaired() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (handle, _info, thread) = driver::start(config(&dir)).await.expect("starts");
    wait_for_leader(&handle).await;
    commit_requests(&handle, 6).await;
    handle.shutdown().await;
    thread.join().await;
    for node in 1..=3 {
        let line = std::fs::read_to_string(dir.join(format!("node-{node}/commit_index"))).unwrap();
        let recorded: u64 = line[..20].parse().unwrap();
        assert!(recorded >= 6, "S{node} recorded {line:?}");
    }
    let log3 = std::fs::read(dir.join("node-3/log")).unwrap();

    // Two of three logs emptied: a majority that would elect a leader without the six entries.
    empty_log(&dir, 1);
    empty_log(&dir, 2);
    let err = start_error(&dir).await;
    assert!(err.contains("S1"), "{err}");
    assert!(err.contains("committed entries are gone"), "{err}");
    assert!(err.contains("--fresh"), "{err}");
    assert_eq!(std::fs::metadata(dir.join("node-1/log")).unwrap().len(), 0);
    assert_eq!(
        std::fs::read(dir.join("node-3/log")).unwrap(),
        log3,
        "S3 untouched"
    );

    start_fresh(&dir).await;
}

#[tokio::test]
async fn restarting_a_crashed_node_whose_log_was_emptied_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (handle, _info, thread) = driver::start(config(&dir)).await.expect("starts");
    wait_for_leader(&handle).await;
    commit_requests(&handle, 3).await;
    let err = restart_after(&handle, || empty_log(&dir, 3)).await;
    assert!(
        err.message.contains("committed entries are gone"),
        "{}",
        err.message
    );
    handle.shutdown().await;
    thread.join().await;
}

/// A hard state written with a term no election can follow (u64::MAX; a checksum that holds):
/// the first election overflowed the term and killed the server, on every restart. Refused at
/// start with the node and the way out.
#[tokio::test]
async fn a_term_with_no_room_for_an_election_is_refused_at_start() {
    use backend::storage::FileStorage;
    use shared::storage::Storage;
    use shared::{HardState, Term};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    run_until_leader(&dir).await;
    {
        let (mut storage, _) = FileStorage::open(dir.join("node-3")).unwrap();
        storage
            .set_hard_state(HardState {
                current_term: Term(u64::MAX),
                voted_for: None,
            })
            .unwrap();
    }
    let err = start_error(&dir).await;
    assert!(err.contains("S3's files cannot be run"), "{err}");
    assert!(err.contains("above 4294967295"), "{err}");
    assert!(err.contains("--fresh"), "{err}");
    start_fresh(&dir).await;
}
