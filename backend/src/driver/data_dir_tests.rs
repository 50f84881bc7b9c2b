//! The data directory's tests (a child module of `data_dir`, in its own file for length).
use super::*;

#[test]
fn manifest_round_trips_and_wipe_spares_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("data"));
    assert_eq!(dir.read_manifest().unwrap(), None);
    let config = SimConfig {
        nodes: 3,
        seed: 42,
        log_model: LogModel::State,
        ..SimConfig::default()
    };
    dir.write_manifest(&Manifest::from_config(&config)).unwrap();
    let back = dir.read_manifest().unwrap().expect("manifest written");
    assert_eq!(back.to_config(), config);

    fs::create_dir_all(dir.node_dir(NodeId(1))).unwrap();
    fs::write(dir.root().join("notes.txt"), "keep me").unwrap();
    fs::create_dir_all(dir.root().join("node-x")).unwrap();
    dir.wipe().unwrap();
    assert_eq!(dir.read_manifest().unwrap(), None);
    assert!(
        !dir.node_dir(NodeId(1)).exists(),
        "node directories are wiped"
    );
    assert!(
        dir.root().join("notes.txt").exists(),
        "other files are kept"
    );
    assert!(
        dir.root().join("node-x").exists(),
        "only node-<number> is ours"
    );
}

#[test]
fn a_second_user_of_the_directory_is_refused_until_the_first_lets_go() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path().join("data"));
    let held = dir.lock().expect("first lock");
    let err = dir.lock().expect_err("a second lock must fail").to_string();
    assert!(err.contains("another logscope process"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    drop(held);
    dir.lock().expect("free again once released");
    dir.wipe().unwrap();
    assert!(
        dir.root().join(LOCK_FILE).exists(),
        "wiping keeps the lock file"
    );
}

#[test]
fn a_damaged_manifest_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    fs::write(tmp.path().join(MANIFEST_FILE), "{\"format\":1,\"nodes\":").unwrap();
    let err = dir.read_manifest().unwrap_err().to_string();
    assert!(err.contains("not a valid logscope manifest"), "{err}");
    assert!(err.contains("--fresh"), "{err}");

    let mut m = Manifest::from_config(&SimConfig::default());
    m.nodes = 12;
    dir.write_manifest(&m).unwrap();
    let err = dir.read_manifest().unwrap_err().to_string();
    assert!(err.contains("1 to 9 nodes"), "{err}");

    // A newer format is not damage: no advice to wipe it.
    m.nodes = 3;
    m.format = MANIFEST_FORMAT + 1;
    dir.write_manifest(&m).unwrap();
    let err = dir.read_manifest().unwrap_err().to_string();
    assert!(
        err.contains("newer logscope") && !err.contains("to wipe it"),
        "{err}"
    );
}
