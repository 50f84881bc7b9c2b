//! One measured run, on the backend's side: starts the real server in-process, taps its
//! broadcast for send times, starts the viewers' process and the load, samples CPU and memory
//! over the window, then hands the viewers what they need and collects their summary.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use backend::driver::{AppendWait, DriverConfig, OutgoingKind};
use backend::server::{serve, Limits, PageFiles, ServerConfig};
use shared::protocol::ClientCommand;
use shared::sim::SimConfig;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::load::load;
use crate::measure::{memory_kib, thread_cpu, unix_ns, CpuSample};
use crate::report::{RunResult, ViewerSummary};
use crate::Args;

/// One run; `baseline`: the viewers watch the minimal server (`baseline.rs`) instead.
pub fn run(args: &Args, viewers: usize, baseline: bool) -> anyhow::Result<RunResult> {
    let data_dir = std::env::temp_dir().join(format!(
        "logscope-ws-bench-{}-{viewers}-{baseline}",
        std::process::id()
    ));
    let result = run_in(args, viewers, baseline, data_dir.clone());
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

fn run_in(
    args: &Args,
    viewers: usize,
    baseline: bool,
    data_dir: PathBuf,
) -> anyhow::Result<RunResult> {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-server")
        .enable_all()
        .build()?;
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse()?,
        page: PageFiles::Dir(data_dir.join("no-frontend")),
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
            ws_connections_per_ip_max: viewers + 16,
            connections_max: Some(viewers + 64),
            ..Limits::default()
        },
        ..ServerConfig::default()
    };
    let handle = server_rt.block_on(serve(config))?;
    let url = format!("ws://{}/ws", handle.local_addr());
    // The baseline server has its own runtime of two threads, as logscope's has.
    let baseline_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-baseline")
        .enable_all()
        .build()?;
    let baseline_stop = CancellationToken::new();
    let viewers_url = if baseline {
        crate::baseline::start(&baseline_rt, handle.driver().clone(), baseline_stop.clone())?
    } else {
        url.clone()
    };

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
        .args([
            "--viewer-process",
            &viewers_url,
            "--viewers",
            &viewers.to_string(),
        ])
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

    // Client load, straight to the driver (the same for both servers), on its own thread.
    let load_stop = CancellationToken::new();
    let load = {
        let driver = handle.driver().clone();
        let (rate, stop) = (args.appends_per_second, load_stop.clone());
        std::thread::Builder::new()
            .name("bench-load".into())
            .spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_or(0, |rt| rt.block_on(load(driver, rate, stop)))
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
            .command(
                backend::driver::Input::Control(ClientCommand::Pause),
                AppendWait::Appended,
            )
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
    baseline_stop.cancel();
    baseline_rt.shutdown_background();
    server_rt.block_on(handle.shutdown())?;

    let pct = |after: &CpuSample, before: &CpuSample, group: &str| {
        let a = after.get(group).copied().unwrap_or(0);
        let b = before.get(group).copied().unwrap_or(0);
        a.saturating_sub(b) as f64 / 1e9 / seconds * 100.0
    };
    let child_total = |s: &CpuSample| -> u64 { s.values().sum() };
    let fan_out = if baseline {
        "bench-baseline"
    } else {
        "bench-server"
    };
    Ok(RunResult {
        server: if baseline { "baseline" } else { "logscope" },
        viewers,
        seconds,
        driver_cpu: pct(&cpu_after, &cpu_before, "logscope-driver"),
        // The fan-out's threads: logscope's server, or the baseline's.
        server_cpu: pct(&cpu_after, &cpu_before, fan_out),
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
