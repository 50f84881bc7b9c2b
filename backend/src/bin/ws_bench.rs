//! `ws-bench`: how well the server fans the live event stream out to many WebSocket viewers.
//! Starts the real server in-process (temp data directory, real files, loopback only) at a busy
//! pace — speed 1 with a steady client load of appends — connects N concurrent viewers, and
//! measures for a fixed window: events/s delivered per viewer and in total, delivery latency
//! (p50/p99), the CPU time of the driver and server threads, the process's memory, and whether
//! every viewer received every event exactly once, in order. Stops by itself.
//!
//! Latency is measured without adding anything to the protocol: the driver stamps every
//! broadcast message with the `Instant` it broadcast it (`Outgoing::sent_at`, never sent on the
//! wire); a tap on the driver's broadcast records `first_seq → sent_at`, and each viewer records
//! when a frame with that `first_seq` arrived. Latency = arrival − broadcast, same process, same
//! monotonic clock.
//!
//! CPU is read per thread (`/proc/self/task/*/schedstat`, nanoseconds on CPU) and grouped by the
//! thread names: `logscope-driver` (the simulator), `bench-server` (the axum runtime: WebSocket
//! fan-out, HTTP), `bench-client` (the viewers themselves, which share the machine). Memory is
//! the whole process's (`VmRSS`, `VmHWM` in `/proc/self/status`), viewers included.
//!
//! Usage: `cargo run --release -p logscope-backend --bin ws-bench -- [--viewers 100,1000]
//! [--seconds 10] [--appends-per-second 100] [--quick]`

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use backend::driver::{DriverConfig, OutgoingKind};
use backend::server::{serve, Limits, ServerConfig};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
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
    /// Client load: appends per second sent by one extra connection.
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
}

/// Just enough of a `ServerMessage` to follow sequence numbers.
#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<SeqOnly>,
    #[serde(default)]
    snapshot: Option<SeqOnly>,
}

#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
}

/// What one viewer saw.
#[derive(Default)]
struct ViewerLog {
    /// (first seq, events in the frame, arrival).
    frames: Vec<(u64, u64, Instant)>,
    last_seq: u64,
    gaps: u64,
    resyncs: u64,
    error: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
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
        let r = run(&args, n).with_context(|| format!("run with {n} viewers"))?;
        r.print();
        results.push(r);
    }
    println!(
        "load average after: {} (other work on the machine skews every figure)",
        load_average()
    );
    println!();
    println!("| viewers | events/s per viewer | events/s total | msgs/s total | p50 latency | p99 latency | max latency | driver CPU | server CPU | client CPU | RSS (start → end, peak) | complete viewers |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    for r in &results {
        r.print_row();
    }
    if results.iter().any(|r| r.complete < r.viewers) {
        bail!("some viewers missed events (see above)");
    }
    Ok(())
}

struct RunResult {
    viewers: usize,
    seconds: f64,
    events_per_viewer: f64,
    events_total: f64,
    frames_total: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    cpu: CpuSplit,
    rss_start_mib: f64,
    rss_end_mib: f64,
    hwm_mib: f64,
    complete: usize,
    gaps: u64,
    resyncs: u64,
    errors: Vec<String>,
    appends_ok: u64,
    events_broadcast: u64,
}

impl RunResult {
    fn print(&self) {
        println!();
        println!("{} viewers, {:.1} s window:", self.viewers, self.seconds);
        println!(
            "  driver broadcast {} events; {} appends committed-or-accepted",
            self.events_broadcast, self.appends_ok
        );
        println!(
            "  delivered {:.0} events/s per viewer, {:.0} events/s total ({:.0} messages/s)",
            self.events_per_viewer, self.events_total, self.frames_total
        );
        println!(
            "  latency broadcast → viewer: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50_ms, self.p99_ms, self.max_ms
        );
        println!(
            "  CPU (share of one core): driver {:.1}%, server {:.1}%, viewers {:.1}%, other {:.1}%",
            self.cpu.driver, self.cpu.server, self.cpu.client, self.cpu.other
        );
        println!(
            "  memory: RSS {:.1} MiB before viewers, {:.1} MiB at the end, peak {:.1} MiB (viewers included)",
            self.rss_start_mib, self.rss_end_mib, self.hwm_mib
        );
        println!(
            "  completeness: {}/{} viewers got every event in order (gaps {}, resyncs {})",
            self.complete, self.viewers, self.gaps, self.resyncs
        );
        for e in self.errors.iter().take(5) {
            println!("  viewer error: {e}");
        }
    }

    fn print_row(&self) {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.1}% | {:.1}% | {:.1}% | {:.0} → {:.0} MiB, peak {:.0} | {}/{} |",
            self.viewers,
            self.events_per_viewer,
            self.events_total,
            self.frames_total,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.cpu.driver,
            self.cpu.server,
            self.cpu.client,
            self.rss_start_mib,
            self.rss_end_mib,
            self.hwm_mib,
            self.complete,
            self.viewers
        );
    }
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
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
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
            // The bench's single load connection may exceed the per-client append limit.
            appends_per_second: 1_000_000.0,
            append_burst: 1_000_000.0,
            requests_per_second: 1_000_000.0,
            request_burst: 1_000_000.0,
            ws_connections_max: viewers + 16,
            ..Limits::default()
        },
    };
    let handle = server_rt.block_on(serve(config))?;
    let addr = handle.local_addr();
    let url = format!("ws://{addr}/ws");

    // The tap: when each Events message was broadcast, by its first seq.
    let sent_at: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let broadcast_events = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = CancellationToken::new();
    {
        let mut rx = handle.driver().subscribe();
        let (sent_at, stop, count) = (sent_at.clone(), stop.clone(), broadcast_events.clone());
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
                            count.fetch_add(
                                last_seq - first_seq + 1,
                                std::sync::atomic::Ordering::Relaxed,
                            );
                            if let Ok(mut m) = sent_at.lock() {
                                m.insert(first_seq, out.sent_at);
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
    // Connect every viewer (a few at a time, as a classroom would).
    let mut tasks = Vec::with_capacity(viewers);
    let connected = Arc::new(tokio::sync::Semaphore::new(0));
    for _ in 0..viewers {
        let (url, stop, connected) = (url.clone(), stop.clone(), connected.clone());
        tasks.push(client_rt.spawn(viewer(url, stop, connected)));
    }
    client_rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(60),
            connected.acquire_many(viewers as u32),
        )
        .await
        .context("viewers did not all connect within 60 s")?
        .map(|p| p.forget())
        .context("semaphore closed")
    })?;

    // Client load on one extra connection.
    let load_stop = CancellationToken::new();
    let load = client_rt.spawn(load(
        url.clone(),
        args.appends_per_second,
        load_stop.clone(),
    ));

    let cpu_before = thread_cpu()?;
    let window_start = Instant::now();
    std::thread::sleep(Duration::from_secs(args.seconds));
    let window_end = Instant::now();
    let cpu_after = thread_cpu()?;
    let rss_end = memory_kib("VmRSS")?;
    let hwm = memory_kib("VmHWM")?;
    load_stop.cancel();
    let appends_ok = client_rt.block_on(load).unwrap_or(0);

    // Freeze the run and let every viewer catch up to the last event, then stop them.
    let final_seq = server_rt.block_on(async {
        let _ = handle
            .driver()
            .command(
                shared::protocol::ClientCommand::Pause,
                backend::driver::AppendWait::Appended,
            )
            .await;
        handle.driver().status().await.map(|s| s.seq)
    })?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let logs: Vec<ViewerLog> = client_rt.block_on(async {
        // Viewers stop on their own once they reach final_seq; the token is the backstop.
        let backstop = stop.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
            backstop.cancel();
        });
        FINAL_SEQ.store(final_seq, std::sync::atomic::Ordering::SeqCst);
        let mut logs = Vec::new();
        for t in tasks {
            logs.push(t.await.unwrap_or_else(|e| ViewerLog {
                error: Some(format!("viewer task failed: {e}")),
                ..ViewerLog::default()
            }));
        }
        timer.abort();
        logs
    });
    stop.cancel();
    server_rt.block_on(handle.shutdown())?;
    FINAL_SEQ.store(u64::MAX, std::sync::atomic::Ordering::SeqCst);

    // Numbers for the window.
    let secs = (window_end - window_start).as_secs_f64();
    let sent_at = sent_at.lock().map(|m| m.clone()).unwrap_or_default();
    let mut latencies_us: Vec<u64> = Vec::new();
    let (mut events, mut frames) = (0u64, 0u64);
    let (mut complete, mut gaps, mut resyncs) = (0, 0, 0);
    let mut errors = Vec::new();
    for log in &logs {
        for &(first_seq, n, at) in &log.frames {
            if at < window_start || at > window_end {
                continue;
            }
            events += n;
            frames += 1;
            if let Some(sent) = sent_at.get(&first_seq) {
                latencies_us.push(at.saturating_duration_since(*sent).as_micros() as u64);
            }
        }
        gaps += log.gaps;
        resyncs += log.resyncs;
        if let Some(e) = &log.error {
            errors.push(e.clone());
        }
        if log.gaps == 0 && log.resyncs == 0 && log.error.is_none() && log.last_seq >= final_seq {
            complete += 1;
        }
    }
    latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies_us.len() - 1) as f64 * p).round() as usize;
        latencies_us[i] as f64 / 1000.0
    };
    Ok(RunResult {
        viewers,
        seconds: secs,
        events_per_viewer: events as f64 / secs / viewers.max(1) as f64,
        events_total: events as f64 / secs,
        frames_total: frames as f64 / secs,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        cpu: cpu_after.since(&cpu_before, secs),
        rss_start_mib: rss_start as f64 / 1024.0,
        rss_end_mib: rss_end as f64 / 1024.0,
        hwm_mib: hwm as f64 / 1024.0,
        complete,
        gaps,
        resyncs,
        errors,
        appends_ok,
        events_broadcast: broadcast_events.load(std::sync::atomic::Ordering::Relaxed),
    })
}

/// The last seq of the run once it is paused; viewers stop when they reach it.
static FINAL_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(u64::MAX);

async fn viewer(
    url: String,
    stop: CancellationToken,
    connected: Arc<tokio::sync::Semaphore>,
) -> ViewerLog {
    let mut log = ViewerLog::default();
    // A modest read buffer, like a browser's: the default 128 KiB per viewer would dominate
    // the process's memory, which this bench reports.
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
        if log.last_seq >= FINAL_SEQ.load(std::sync::atomic::Ordering::SeqCst) {
            return log;
        }
        let message = tokio::select! {
            _ = stop.cancelled() => return log,
            m = stream.next() => m,
        };
        let arrived = Instant::now();
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
        let frame: Frame = match serde_json::from_str(text.as_str()) {
            Ok(f) => f,
            Err(e) => {
                log.error = Some(format!("bad message: {e}"));
                continue;
            }
        };
        match frame.kind.as_str() {
            "hello" | "snapshot" => {
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
            "events" => {
                let Some(first) = frame.events.first().map(|e| e.seq) else {
                    continue;
                };
                for e in &frame.events {
                    if e.seq < expected {
                        continue; // covered by the snapshot, as the protocol says
                    }
                    if e.seq != expected {
                        log.gaps += 1;
                    }
                    expected = e.seq + 1;
                    log.last_seq = e.seq;
                }
                log.frames.push((first, frame.events.len() as u64, arrived));
            }
            _ => {}
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
                    if t.as_str().contains(r#""type":"reply""#) && t.as_str().contains(r#""ok":true"#) {
                        ok += 1;
                    }
                }
                Some(Ok(_)) => {}
                _ => return ok,
            },
        }
    }
}

/// CPU time per thread group (ns).
struct CpuSample {
    by_group: HashMap<&'static str, u64>,
}

/// CPU use over a window, in percent of one core.
struct CpuSplit {
    driver: f64,
    server: f64,
    client: f64,
    other: f64,
}

impl CpuSample {
    fn since(&self, before: &CpuSample, secs: f64) -> CpuSplit {
        let pct = |g: &str| {
            let a = self.by_group.get(g).copied().unwrap_or(0);
            let b = before.by_group.get(g).copied().unwrap_or(0);
            a.saturating_sub(b) as f64 / 1e9 / secs * 100.0
        };
        CpuSplit {
            driver: pct("driver"),
            server: pct("server"),
            client: pct("client"),
            other: pct("other"),
        }
    }
}

fn thread_cpu() -> anyhow::Result<CpuSample> {
    let mut by_group = HashMap::new();
    for entry in std::fs::read_dir("/proc/self/task").context("reading /proc/self/task")? {
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
        let comm = comm.trim();
        let group = if comm.starts_with("logscope-driver") {
            "driver"
        } else if comm.starts_with("bench-server") {
            "server"
        } else if comm.starts_with("bench-client") {
            "client"
        } else {
            "other"
        };
        *by_group.entry(group).or_insert(0) += ns;
    }
    Ok(CpuSample { by_group })
}

/// utime + stime from `stat`, in ns (assuming the usual 100 ticks per second).
fn stat_cpu_ns(dir: &std::path::Path) -> Option<u64> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // Fields after the parenthesised name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10_000_000)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
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

/// Each viewer needs two descriptors (its end and the server's): check the limit up front.
fn check_fd_limit(viewers: usize) -> anyhow::Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft: Option<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok());
    if let Some(soft) = soft {
        let needed = viewers as u64 * 2 + 256;
        if soft < needed {
            bail!(
                "{viewers} viewers need about {needed} open files but the limit is {soft}: \
                 raise it (ulimit -n {needed}) or use fewer --viewers"
            );
        }
    }
    Ok(())
}
