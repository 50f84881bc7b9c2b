//! `snapshot-bench`: how the snapshot's size and build time, and the recovery of a cluster after
//! `kill -9`, depend on the length of the logs. Owns only measurement and the printed table
//! (recorded in docs/reliability.md, "Snapshots and storage"); must not be used as a test.
//!
//! Run: `cargo build --release -p logscope-backend && target/release/snapshot-bench`
//! (`--entries 1000,100000` for a shorter run).
//!
//! For each log length it writes a 3-node cluster whose every node holds that many entries (real
//! files, fsynced, as a run would have left them), then:
//! * in process: opens the files and builds the simulator (recovery), and times the windowed
//!   snapshot (what `GET /api/cluster` and the WebSocket hello carry) and the full-log form
//!   (`?full=true`), each built and serialized to JSON;
//! * with the real `logscope` binary: starts it on the directory, waits for a leader, kills it
//!   with SIGKILL, starts it again and times the second start until it listens and until a leader
//!   is elected, then times `GET /api/cluster` over HTTP (median of 21, the server running at
//!   speed 1).

use shared::{LogIndex, NodeId, Term};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use backend::driver::{DataDir, Manifest};
use clap::Parser;
use shared::protocol::LOG_WINDOW;
use shared::sim::SimConfig;
use shared::{Entry, EntryData, HardState, Sim, Storage};

/// Measure snapshot size and build time, and recovery time, against the log's length.
#[derive(Parser, Debug)]
#[command(name = "snapshot-bench")]
struct Args {
    /// Log lengths (entries per node), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,100000,1000000")]
    entries: Vec<u64>,
    /// Scratch directory (deleted and rewritten for each length).
    #[arg(long, default_value = "target/snapshot-bench")]
    dir: PathBuf,
    /// The `logscope` binary (default: next to this one).
    #[arg(long)]
    logscope: Option<PathBuf>,
    /// Skip the full-log form above this many entries per node (it is refused by the server
    /// above 100,000 anyway).
    #[arg(long, default_value_t = 1_000_000)]
    full_max: u64,
}

const NODES: u64 = 3;
/// Entries written per append + fsync while preparing a node's files.
const PREPARE_BATCH: u64 = 10_000;
/// Windowed snapshots built, and `GET /api/cluster` requests made, per measurement (the median
/// is reported).
const REPEATS: usize = 21;

fn main() -> Result<()> {
    let args = Args::parse();
    let logscope = match &args.logscope {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("logscope"),
    };
    if !logscope.is_file() {
        bail!(
            "no logscope binary at {}: build it (cargo build --release -p logscope-backend) or \
             pass --logscope",
            logscope.display()
        );
    }
    println!(
        "| entries/node | recovery in process | windowed snapshot: bytes | build + JSON (median) \
         | full form: bytes | build + JSON | restart after kill -9: listening | leader elected \
         | GET /api/cluster: bytes | time |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &args.entries {
        let row = measure(&args, &logscope, n)?;
        println!("{row}");
    }
    Ok(())
}

fn measure(args: &Args, logscope: &Path, entries: u64) -> Result<String> {
    let dir = args.dir.join(format!("n{entries}"));
    let _ = std::fs::remove_dir_all(&dir);
    prepare(&dir, entries)?;

    // In process: recovery, then the two snapshot forms.
    let started = Instant::now();
    let data_dir = DataDir::new(&dir);
    let config = data_dir
        .read_manifest()?
        .context("manifest written")?
        .to_config();
    let mut storages = Vec::new();
    for id in 1..=NODES {
        storages.push(data_dir.open_node(NodeId(id))?.0);
    }
    let mut storages = storages.into_iter();
    let sim = Sim::with_storage(config, |_| storages.next().expect("one per node"))?;
    let recovery = started.elapsed();

    let mut times = Vec::new();
    let mut window_bytes = 0;
    for _ in 0..REPEATS {
        let t = Instant::now();
        let json = serde_json::to_string(&sim.snapshot_window(LOG_WINDOW))?;
        times.push(t.elapsed());
        window_bytes = json.len();
    }
    times.sort();
    let window_time = times[REPEATS / 2];
    let (full_bytes, full_time) = if entries <= args.full_max {
        let t = Instant::now();
        let json = serde_json::to_string(&sim.snapshot())?;
        (fmt_bytes(json.len()), fmt_time(t.elapsed()))
    } else {
        ("—".to_string(), "—".to_string())
    };
    drop(sim);

    // The real binary: first life, kill -9, second life timed.
    let first = Server::start(logscope, &dir)?;
    first.wait_for_leader()?;
    first.kill_9()?;
    let t = Instant::now();
    let second = Server::start(logscope, &dir)?;
    let listening = t.elapsed();
    second.wait_for_leader()?;
    let leader = t.elapsed();
    let mut get_times = Vec::new();
    let mut body = String::new();
    for _ in 0..REPEATS {
        let t = Instant::now();
        body = second.get("/api/cluster")?;
        get_times.push(t.elapsed());
    }
    get_times.sort();
    let get_time = get_times[REPEATS / 2];
    second.kill_9()?;
    let _ = std::fs::remove_dir_all(&dir);

    Ok(format!(
        "| {entries} | {} | {} | {} | {full_bytes} | {full_time} | {} | {} | {} | {} |",
        fmt_time(recovery),
        fmt_bytes(window_bytes),
        fmt_time(window_time),
        fmt_time(listening),
        fmt_time(leader),
        fmt_bytes(body.len()),
        fmt_time(get_time),
    ))
}

/// A cluster of `NODES` nodes, each with `entries` entries of term 1, durable on disk.
fn prepare(dir: &Path, entries: u64) -> Result<()> {
    let data_dir = DataDir::new(dir);
    let config = SimConfig {
        nodes: NODES,
        seed: 1,
        ..SimConfig::default()
    };
    data_dir.write_manifest(&Manifest::from_config(&config))?;
    for id in 1..=NODES {
        let (mut storage, _) = data_dir.create_node(NodeId(id))?;
        storage.set_hard_state(HardState {
            current_term: Term(1),
            voted_for: Some(NodeId(1)),
        })?;
        let mut next = 1;
        while next <= entries {
            let end = (next + PREPARE_BATCH - 1).min(entries);
            let batch: Vec<Entry> = (next..=end)
                .map(|index| Entry {
                    index: LogIndex(index),
                    term: Term(1),
                    data: EntryData::Request {
                        command: shared::Command::Add(1),
                        client: None,
                    },
                })
                .collect();
            storage.append(&batch)?;
            storage.sync()?;
            next = end + 1;
        }
    }
    Ok(())
}

/// The `logscope` binary running on a data directory.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(logscope: &Path, dir: &Path) -> Result<Server> {
        let mut child = Command::new(logscope)
            .args(["--port", "0", "--speed", "1"])
            .arg("--data-dir")
            .arg(dir)
            .arg("--static-dir")
            .arg(dir.join("no-frontend"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("start logscope")?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(line) => {
                    if let Some(url) = line?.strip_prefix("logscope listening on http://") {
                        break url.trim().to_string();
                    }
                }
                None => bail!("logscope exited before listening"),
            }
        };
        Ok(Server { child, addr })
    }

    fn wait_for_leader(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let health = self.get("/api/health")?;
            if !health.contains("\"leader\":null") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        bail!("no leader within 120 s")
    }

    /// A plain HTTP/1.1 GET; returns the body.
    fn get(&self, path: &str) -> Result<String> {
        let mut stream = TcpStream::connect(&self.addr)?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .context("an HTTP response")?;
        Ok(body)
    }

    fn kill_9(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

fn fmt_time(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1e3)
    }
}

fn fmt_bytes(n: usize) -> String {
    if n < 10_000 {
        format!("{n} B")
    } else if n < 10_000_000 {
        format!("{:.1} KB", n as f64 / 1e3)
    } else {
        format!("{:.1} MB", n as f64 / 1e6)
    }
}
