//! `ws-bench`: how well the server fans the live event stream out to many WebSocket viewers.
//! Starts the real server in-process (temp data directory, real files, loopback only) at a busy
//! pace — speed 1 with a steady client load of appends — connects N concurrent viewers, and
//! measures over a fixed window: events/s delivered per viewer and in total, delivery latency
//! (p50/p99), the backend's CPU (driver and server threads) and memory, and whether every viewer
//! received every event exactly once, in order. Stops by itself.
//!
//! # Method
//!
//! * **Viewers run in a child process** (this binary again, with `--viewer-process`), so the
//!   backend's `/proc/self` figures are the backend's alone. They share the machine's cores with
//!   it, as they would in a classroom demo on one laptop.
//! * **Latency** needs nothing added to the protocol. The driver stamps each broadcast message
//!   with the `Instant` it broadcast it (`Outgoing::sent_at`, never sent on the wire); a tap on
//!   the driver's broadcast turns it into wall-clock time and records `first_seq → sent time`.
//!   Each viewer records the wall-clock time a message with that `first_seq` arrived. At the end
//!   the backend hands the map to the child, which computes arrival − broadcast. Both processes
//!   read the same system clock.
//! * **Completeness**: each viewer checks that sequence numbers run on without a gap from its
//!   `hello` snapshot and counts any resync `snapshot`. After the window the run is paused and
//!   every viewer must reach the last event's seq.
//! * **CPU** is read per thread (`/proc/self/task/*/schedstat`, ns on CPU) and grouped by name:
//!   `logscope-driver` (the simulator and its fsyncs), `bench-server` (the axum runtime: the
//!   WebSocket fan-out). The viewers' process and the load generator are reported separately.
//! * **Memory** is the backend process's `VmRSS` before the viewers connect and at the end of the
//!   window, and its peak `VmHWM`, from `/proc/self/status`.
//!
//! Usage: `cargo run --release -p logscope-backend --bin ws-bench -- [--viewers 100,1000]
//! [--seconds 10] [--appends-per-second 100] [--quick]`

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use backend::driver::{AppendWait, DriverConfig, OutgoingKind};
use backend::server::{serve, Limits, ServerConfig};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use shared::protocol::ClientCommand;
use shared::sim::SimConfig;
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Fan-out benchmark for the WebSocket stream (see the module docs for the method).
#[derive(Debug, Parser)]
#[command(name = "ws-bench")]
struct Args {
    /// Viewer counts to measure, one run each.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    viewers: Vec<usize>,
    /// Length of each measured window (wall seconds).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Client load: appends per second, sent by one extra connection.
    #[arg(long, default_value_t = 100)]
    appends_per_second: u64,
    /// Cluster size.
    #[arg(long, default_value_t = 5)]
    nodes: u64,
    /// Virtual ms per wall ms (1 = real time, the busiest paced speed).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// A short smoke run: 20 viewers for 2 seconds.
    #[arg(long)]
    quick: bool,
    /// Internal: run the viewers against this URL (the backend starts this process itself).
    #[arg(long, hide = true)]
    viewer_process: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if let Some(url) = &args.viewer_process {
        let n = args.viewers.first().copied().unwrap_or(1);
        return viewer_process(url, n);
    }
    if args.quick {
        args.viewers = vec![20];
        args.seconds = 2;
    }
    check_fd_limit(args.viewers.iter().copied().max().unwrap_or(0))?;
    println!(
        "ws-bench: speed {}, {} nodes, {} appends/s of client load, {} s windows, loopback, {} CPUs",
        args.speed,
        args.nodes,
        args.appends_per_second,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("load average before: {}", load_average());
    let mut results = Vec::new();
    for &n in &args.viewers {
        let r = run(&args, n).with_context(|| format!("the run with {n} viewers"))?;
        r.print();
        results.push(r);
    }
    println!(
        "load average after: {} (other work on the machine skews every figure)",
        load_average()
    );
    println!();
    println!("| viewers | events/s per viewer | events/s total | messages/s total | p50 latency | p99 latency | max latency | driver CPU | server CPU | backend RSS before → end (peak) | viewers' CPU | complete viewers |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for r in &results {
        r.print_row();
    }
    if results.iter().any(|r| r.v.complete < r.viewers) {
        bail!("some viewers missed events (see above)");
    }
    Ok(())
}

/// What the viewers' process reports.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ViewerSummary {
    connected: usize,
    events: u64,
    messages: u64,
    /// Absent when no message arrived in the window.
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    max_ms: Option<f64>,
    latency_samples: usize,
    gaps: u64,
    resyncs: u64,
    complete: usize,
    errors: Vec<String>,
}

struct RunResult {
    viewers: usize,
    seconds: f64,
    v: ViewerSummary,
    driver_cpu: f64,
    server_cpu: f64,
    viewers_cpu: f64,
    load_cpu: f64,
    rss_start_mib: f64,
    rss_end_mib: f64,
    hwm_mib: f64,
    appends_ok: u64,
    events_broadcast: u64,
}

impl RunResult {
    fn per_viewer(&self) -> f64 {
        self.v.events as f64 / self.seconds / self.viewers.max(1) as f64
    }

    fn print(&self) {
        let v = &self.v;
        println!();
        println!("{} viewers, {:.1} s window:", self.viewers, self.seconds);
        println!(
            "  the driver broadcast {} events during the window; {} appends were accepted",
            self.events_broadcast, self.appends_ok
        );
        println!(
            "  delivered {:.0} events/s per viewer, {:.0} events/s in total ({:.0} messages/s)",
            self.per_viewer(),
            v.events as f64 / self.seconds,
            v.messages as f64 / self.seconds
        );
        println!(
            "  latency broadcast → viewer: p50 {}, p99 {}, max {} ({} samples)",
            ms(v.p50_ms),
            ms(v.p99_ms),
            ms(v.max_ms),
            v.latency_samples
        );
        println!(
            "  backend CPU (share of one core): driver {:.1}%, server {:.1}%; viewers' process {:.1}%, load generator {:.1}%",
            self.driver_cpu, self.server_cpu, self.viewers_cpu, self.load_cpu
        );
        println!(
            "  backend memory: RSS {:.1} MiB before the viewers, {:.1} MiB at the end, peak {:.1} MiB",
            self.rss_start_mib, self.rss_end_mib, self.hwm_mib
        );
        println!(
            "  completeness: {}/{} viewers got every event in order (gaps {}, resyncs {})",
            v.complete, self.viewers, v.gaps, v.resyncs
        );
        for e in v.errors.iter().take(5) {
            println!("  viewer error: {e}");
        }
    }

    fn print_row(&self) {
        let v = &self.v;
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {:.1}% | {:.1}% | {:.0} → {:.0} MiB ({:.0}) | {:.1}% | {}/{} |",
            self.viewers,
            self.per_viewer(),
            v.events as f64 / self.seconds,
            v.messages as f64 / self.seconds,
            ms(v.p50_ms),
            ms(v.p99_ms),
            ms(v.max_ms),
            self.driver_cpu,
            self.server_cpu,
            self.rss_start_mib,
            self.rss_end_mib,
            self.hwm_mib,
            self.viewers_cpu,
            v.complete,
            self.viewers
        );
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.1} ms"))
}

fn run(args: &Args, viewers: usize) -> anyhow::Result<RunResult> {
    let data_dir = std::env::temp_dir().join(format!(
        "logscope-ws-bench-{}-{viewers}",
        std::process::id()
    ));
    let result = run_in(args, viewers, data_dir.clone());
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

fn run_in(args: &Args, viewers: usize, data_dir: PathBuf) -> anyhow::Result<RunResult> {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-server")
        .enable_all()
        .build()?;
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse()?,
        static_dir: data_dir.join("no-frontend"),
        driver: DriverConfig {
            data_dir: data_dir.clone(),
            fresh: true,
            cluster: SimConfig {
                nodes: args.nodes,
                seed: 1,
                ..SimConfig::default()
            },
            speed: args.speed,
            ..DriverConfig::default()
        },
        limits: Limits {
            // The single load connection may exceed the per-client limits.
            appends_per_second: 1_000_000.0,
            append_burst: 1_000_000.0,
            requests_per_second: 1_000_000.0,
            request_burst: 1_000_000.0,
            ws_connections_max: viewers + 16,
            ..Limits::default()
        },
    };
    let handle = server_rt.block_on(serve(config))?;
    let url = format!("ws://{}/ws", handle.local_addr());

    // The tap: when each events message was broadcast (wall clock), by its first seq.
    let sent_at: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let broadcast_events = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tap_stop = CancellationToken::new();
    {
        let mut rx = handle.driver().subscribe();
        let (sent_at, count) = (sent_at.clone(), broadcast_events.clone());
        let (measuring, stop) = (measuring.clone(), tap_stop.clone());
        server_rt.spawn(async move {
            loop {
                let item = tokio::select! {
                    _ = stop.cancelled() => return,
                    item = rx.recv() => item,
                };
                match item {
                    Ok(out) => {
                        if let OutgoingKind::Events {
                            first_seq,
                            last_seq,
                        } = out.kind
                        {
                            if measuring.load(Ordering::Relaxed) {
                                count.fetch_add(last_seq - first_seq + 1, Ordering::Relaxed);
                            }
                            let sent =
                                unix_ns().saturating_sub(out.sent_at.elapsed().as_nanos() as u64);
                            if let Ok(mut m) = sent_at.lock() {
                                m.insert(first_seq, sent);
                            }
                        }
                    }
                    Err(RecvError::Lagged(n)) => eprintln!("ws-bench: the tap lagged by {n}"),
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    let rss_start = memory_kib("VmRSS")?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--viewer-process", &url, "--viewers", &viewers.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the viewers' process")?;
    let child_pid = child.id();
    let mut child_in = child.stdin.take().context("child stdin")?;
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    {
        let out = child.stdout.take().context("child stdout")?;
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    return;
                }
            }
        });
    }
    let connected = lines_rx
        .recv_timeout(Duration::from_secs(120))
        .context("the viewers did not connect within 120 s")?;
    if !connected.starts_with("connected") {
        bail!("unexpected line from the viewers' process: {connected}");
    }

    // Client load on one extra connection, on its own thread.
    let load_stop = CancellationToken::new();
    let load = {
        let (url, rate, stop) = (url.clone(), args.appends_per_second, load_stop.clone());
        std::thread::Builder::new()
            .name("bench-load".into())
            .spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_or(0, |rt| rt.block_on(load(url, rate, stop)))
            })?
    };

    let cpu_before = thread_cpu(Path::new("/proc/self/task"))?;
    let child_task_dir = PathBuf::from(format!("/proc/{child_pid}/task"));
    let child_before = thread_cpu(&child_task_dir)?;
    let window_start = unix_ns();
    let started = Instant::now();
    measuring.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(args.seconds));
    measuring.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let window_end = unix_ns();
    let cpu_after = thread_cpu(Path::new("/proc/self/task"))?;
    let child_after = thread_cpu(&child_task_dir)?;
    let rss_end = memory_kib("VmRSS")?;
    let hwm = memory_kib("VmHWM")?;
    load_stop.cancel();
    let appends_ok = load.join().unwrap_or(0);

    // Freeze the run; the viewers stop once they have everything up to its last event.
    let final_seq = server_rt.block_on(async {
        let _ = handle
            .driver()
            .command(ClientCommand::Pause, AppendWait::Appended)
            .await;
        handle.driver().status().await.map(|s| s.seq)
    })?;
    let sent = sent_at.lock().map(|m| m.clone()).unwrap_or_default();
    let mut handover = format!("stop {final_seq} {window_start} {window_end}\n");
    for (seq, ns) in &sent {
        handover.push_str(&format!("sent {seq} {ns}\n"));
    }
    handover.push_str("end\n");
    child_in
        .write_all(handover.as_bytes())
        .context("writing to the viewers' process")?;
    drop(child_in);
    let result_line = lines_rx
        .recv_timeout(Duration::from_secs(90))
        .context("no result from the viewers' process")?;
    let summary: ViewerSummary = serde_json::from_str(
        result_line
            .strip_prefix("result ")
            .with_context(|| format!("unexpected line: {result_line}"))?,
    )?;
    let _ = child.wait();
    tap_stop.cancel();
    server_rt.block_on(handle.shutdown())?;

    let pct = |after: &CpuSample, before: &CpuSample, group: &str| {
        let a = after.get(group).copied().unwrap_or(0);
        let b = before.get(group).copied().unwrap_or(0);
        a.saturating_sub(b) as f64 / 1e9 / seconds * 100.0
    };
    let child_total = |s: &CpuSample| -> u64 { s.values().sum() };
    Ok(RunResult {
        viewers,
        seconds,
        driver_cpu: pct(&cpu_after, &cpu_before, "logscope-driver"),
        server_cpu: pct(&cpu_after, &cpu_before, "bench-server"),
        load_cpu: pct(&cpu_after, &cpu_before, "bench-load"),
        viewers_cpu: child_total(&child_after).saturating_sub(child_total(&child_before)) as f64
            / 1e9
            / seconds
            * 100.0,
        v: summary,
        rss_start_mib: rss_start as f64 / 1024.0,
        rss_end_mib: rss_end as f64 / 1024.0,
        hwm_mib: hwm as f64 / 1024.0,
        appends_ok,
        events_broadcast: broadcast_events.load(Ordering::Relaxed),
    })
}

// ----- The viewers' process -----

/// The last seq of the run once it is paused; viewers stop when they reach it.
static FINAL_SEQ: AtomicU64 = AtomicU64::new(u64::MAX);

/// What one viewer saw.
#[derive(Default)]
struct ViewerLog {
    /// (first seq, events in the message, arrival in unix ns).
    messages: Vec<(u64, u64, u64)>,
    last_seq: u64,
    gaps: u64,
    resyncs: u64,
    error: Option<String>,
}

fn viewer_process(url: &str, viewers: usize) -> anyhow::Result<()> {
    check_fd_limit(viewers)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-viewer")
        .enable_all()
        .build()?;
    let stop = CancellationToken::new();
    let connected = Arc::new(tokio::sync::Semaphore::new(0));
    let tasks: Vec<_> = (0..viewers)
        .map(|_| rt.spawn(viewer(url.to_string(), stop.clone(), connected.clone())))
        .collect();
    rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(100),
            connected.acquire_many(viewers as u32),
        )
        .await
        .context("viewers did not all connect")?
        .map(|p| p.forget())
        .context("semaphore closed")
    })?;
    println!("connected {viewers}");
    std::io::stdout().flush()?;

    // Wait for the backend's hand-over: the final seq, the window, and the broadcast times.
    let mut window = (0u64, u64::MAX);
    let mut sent: HashMap<u64, u64> = HashMap::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let parts: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|p| p.parse().ok())
            .collect();
        match (line.split_whitespace().next(), parts.as_slice()) {
            (Some("stop"), [seq, start, end]) => {
                FINAL_SEQ.store(*seq, Ordering::SeqCst);
                window = (*start, *end);
            }
            (Some("sent"), [seq, ns]) => {
                sent.insert(*seq, *ns);
            }
            (Some("end"), _) => break,
            _ => bail!("unexpected hand-over line: {line}"),
        }
    }
    let logs: Vec<ViewerLog> = rt.block_on(async {
        let backstop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            backstop.cancel();
        });
        let mut logs = Vec::new();
        for t in tasks {
            logs.push(t.await.unwrap_or_else(|e| ViewerLog {
                error: Some(format!("viewer task failed: {e}")),
                ..ViewerLog::default()
            }));
        }
        logs
    });
    let final_seq = FINAL_SEQ.load(Ordering::SeqCst);
    let mut s = ViewerSummary {
        connected: viewers,
        ..ViewerSummary::default()
    };
    let mut latencies_us = Vec::new();
    for log in &logs {
        for &(first_seq, n, at) in &log.messages {
            if at < window.0 || at > window.1 {
                continue;
            }
            s.events += n;
            s.messages += 1;
            if let Some(sent) = sent.get(&first_seq) {
                latencies_us.push(at.saturating_sub(*sent) / 1000);
            }
        }
        s.gaps += log.gaps;
        s.resyncs += log.resyncs;
        if let Some(e) = &log.error {
            if s.errors.len() < 10 {
                s.errors.push(e.clone());
            }
        }
        if log.gaps == 0 && log.resyncs == 0 && log.error.is_none() && log.last_seq >= final_seq {
            s.complete += 1;
        }
    }
    latencies_us.sort_unstable();
    let pct = |p: f64| -> Option<f64> {
        let last = latencies_us.len().checked_sub(1)?;
        let i = (last as f64 * p).round() as usize;
        Some(latencies_us[i] as f64 / 1000.0)
    };
    s.p50_ms = pct(0.5);
    s.p99_ms = pct(0.99);
    s.max_ms = pct(1.0);
    s.latency_samples = latencies_us.len();
    println!("result {}", serde_json::to_string(&s)?);
    Ok(())
}

/// Just enough of a `hello` / `snapshot` message to read its seq.
#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    snapshot: Option<SeqOnly>,
}

#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
}

async fn viewer(
    url: String,
    stop: CancellationToken,
    connected: Arc<tokio::sync::Semaphore>,
) -> ViewerLog {
    let mut log = ViewerLog::default();
    // A modest read buffer, like a browser's, rather than tungstenite's 128 KiB.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 * 1024);
    let ws = match tokio_tungstenite::connect_async_with_config(&url, Some(config), true).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            log.error = Some(format!("connect: {e}"));
            connected.add_permits(1);
            return log;
        }
    };
    let (_sink, mut stream) = ws.split();
    let mut announced = false;
    let mut expected = 0u64;
    loop {
        if log.last_seq >= FINAL_SEQ.load(Ordering::SeqCst) {
            return log;
        }
        let message = tokio::select! {
            _ = stop.cancelled() => return log,
            m = stream.next() => m,
        };
        let arrived = unix_ns();
        let text = match message {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None => {
                if !announced {
                    connected.add_permits(1);
                }
                log.error
                    .get_or_insert_with(|| "closed by the server".into());
                return log;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                if !announced {
                    connected.add_permits(1);
                }
                log.error = Some(format!("read: {e}"));
                return log;
            }
        };
        let text = text.as_str();
        if text.starts_with(r#"{"type":"events","#) {
            // The hot path reads only the sequence numbers: every `SimEvent` object starts with
            // `{"seq":` and nothing else in an events message has that key. A browser parses the
            // whole message, but here a full parse would make the viewers, which share the
            // machine with the backend, the bottleneck.
            let mut first = None;
            let mut count = 0u64;
            for (at, _) in text.match_indices(r#"{"seq":"#) {
                let digits = &text[at + 7..];
                let end = digits
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(digits.len());
                let Ok(seq) = digits[..end].parse::<u64>() else {
                    log.error = Some("an event without a numeric seq".into());
                    continue;
                };
                first.get_or_insert(seq);
                count += 1;
                if seq < expected {
                    continue; // covered by the snapshot, as the protocol says
                }
                if seq != expected {
                    log.gaps += 1;
                }
                expected = seq + 1;
                log.last_seq = seq;
            }
            if let Some(first) = first {
                log.messages.push((first, count, arrived));
            }
            continue;
        }
        let frame: Frame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                log.error = Some(format!("bad message: {e}"));
                continue;
            }
        };
        if frame.kind == "hello" || frame.kind == "snapshot" {
            let seq = frame.snapshot.map_or(0, |s| s.seq);
            if frame.kind == "hello" {
                if !announced {
                    announced = true;
                    connected.add_permits(1);
                }
            } else {
                log.resyncs += 1;
            }
            expected = seq + 1;
            log.last_seq = seq;
        }
    }
}

/// One connection sending `rate` appends per second; returns how many were accepted.
async fn load(url: String, rate: u64, stop: CancellationToken) -> u64 {
    if rate == 0 {
        return 0;
    }
    let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await else {
        eprintln!("ws-bench: the load connection failed");
        return 0;
    };
    let (mut sink, mut stream) = ws.split();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut id, mut ok) = (0u64, 0u64);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return ok,
            _ = tick.tick() => {
                id += 1;
                let request = format!(r#"{{"request_id":{id},"type":"append","command":"add 1"}}"#);
                if sink.send(Message::Text(request.into())).await.is_err() {
                    return ok;
                }
            }
            m = stream.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let t = t.as_str();
                    if t.starts_with(r#"{"type":"reply""#) && t.contains(r#""ok":true"#) {
                        ok += 1;
                    }
                }
                Some(Ok(_)) => {}
                _ => return ok,
            },
        }
    }
}

// ----- Measurements -----

/// CPU time (ns) per thread name.
type CpuSample = HashMap<String, u64>;

/// Sum the CPU time of every thread under `task_dir`, by thread name.
fn thread_cpu(task_dir: &Path) -> anyhow::Result<CpuSample> {
    let mut by_name = HashMap::new();
    let entries =
        std::fs::read_dir(task_dir).with_context(|| format!("reading {}", task_dir.display()))?;
    for entry in entries {
        let dir = entry?.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue; // the thread exited meanwhile
        };
        let ns = match std::fs::read_to_string(dir.join("schedstat")) {
            Ok(s) => s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            Err(_) => stat_cpu_ns(&dir).unwrap_or(0),
        };
        // Runtime worker threads may carry a suffix; group by the name we gave them.
        let name = comm
            .trim()
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        *by_name.entry(name.to_string()).or_insert(0) += ns;
    }
    Ok(by_name)
}

/// utime + stime from `stat`, in ns (at the usual 100 ticks per second).
fn stat_cpu_ns(dir: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // Fields after the parenthesised name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10_000_000)
}

fn memory_kib(field: &str) -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Each viewer needs a descriptor in each process: check the limit up front.
fn check_fd_limit(viewers: usize) -> anyhow::Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft: Option<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok());
    if let Some(soft) = soft {
        let needed = viewers as u64 + 256;
        if soft < needed {
            bail!(
                "{viewers} viewers need about {needed} open files but the limit is {soft}: \
                 raise it (ulimit -n {needed}) or use fewer --viewers"
            );
        }
    }
    Ok(())
}
