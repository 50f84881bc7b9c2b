//! `trace-bench`: the history figures of docs/trace.md — the size of a trace for an hour of
//! class use, the time to reach an arbitrary instant of a one-hour trace (from the start, and
//! from `Timeline` checkpoints), and the time a fork takes on this machine's disk. Owns only
//! measurement and the printed report; must not be used as a test.
//!
//! Run: `cargo run -p logscope-backend --release --bin trace-bench -- [--quick]`
//!
//! "An hour of class use" here: one hour of *virtual* time (a class run at real-time speed the
//! whole hour, the most a trace can cover in an hour of wall time), 5 nodes with default
//! settings, and inputs at a class's rate: a teacher action every 20 s (crash, restart, power
//! loss, timeout, partition, heal, cut, drop a message, network change), 300 student appends, and
//! 60 pause/resume changes — 540 inputs in all.

use std::time::Instant;

use anyhow::{Context, Result};
use backend::driver::{self, DriverConfig, ForkAt};
use clap::Parser;
use shared::trace::{
    link, Position, Recorded, Replay, Start, Timeline, Trace, TraceInput, CHECKPOINT_EVERY_MS,
};
use shared::{NodeId, Rng, Sim, SimConfig};

/// Measure trace size, time to reach an instant, and fork time.
#[derive(Parser, Debug)]
#[command(name = "trace-bench")]
struct Args {
    /// A shorter trace (6 virtual minutes) and fewer samples: rough numbers, for a smoke run.
    #[arg(long)]
    quick: bool,
    /// Seed of the cluster and of the input schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Scratch data directory for the fork measurement (deleted first).
    #[arg(long, default_value = "target/trace-bench")]
    dir: std::path::PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let hour_ms: u64 = if args.quick { 360_000 } else { 3_600_000 };
    let scale = hour_ms as f64 / 3_600_000.0;
    let started = Instant::now();
    let trace = class_hour(args.seed, hour_ms, scale);
    println!(
        "trace-bench: 5 nodes, defaults, {} virtual s, {} inputs (recorded in {:.1} s){}",
        hour_ms / 1000,
        trace.inputs.len(),
        started.elapsed().as_secs_f64(),
        if cfg!(debug_assertions) {
            "; DEBUG build: use --release"
        } else {
            ""
        }
    );

    // Size.
    let json = trace.to_json();
    let deflated = miniz_deflate_len(json.as_bytes());
    println!(
        "size: {} bytes of JSON ({:.0} bytes per input), {} bytes deflated; share link: {}",
        json.len(),
        json.len() as f64 / trace.inputs.len().max(1) as f64,
        deflated,
        match link::encode(&trace) {
            Ok(text) => format!("{} characters", text.len()),
            Err(e) => e.to_string(),
        }
    );

    // Reaching an arbitrary instant.
    let mut rng = Rng::new(args.seed ^ 0xBE7C);
    let samples = if args.quick { 10 } else { 40 };
    let instants: Vec<u64> = (0..samples)
        .map(|_| rng.range_inclusive(0, trace.end_ms))
        .collect();
    let mut from_start = Vec::new();
    for &t in instants.iter().take(samples.min(20)) {
        let clock = Instant::now();
        let mut r = Replay::new(trace.clone())?;
        r.run_to(Position::AtMs(t))?;
        from_start.push(clock.elapsed().as_secs_f64() * 1000.0);
    }
    report(
        "reach an instant, replaying from the start",
        &mut from_start,
    );
    let clock = Instant::now();
    let timeline = Timeline::build(trace.clone(), CHECKPOINT_EVERY_MS)?;
    println!(
        "checkpoints: {} (every {} virtual s), built in {:.0} ms",
        timeline.len(),
        CHECKPOINT_EVERY_MS / 1000,
        clock.elapsed().as_secs_f64() * 1000.0
    );
    let mut seek = Vec::new();
    for &t in &instants {
        let clock = Instant::now();
        let r = timeline.at(Position::AtMs(t))?;
        let _snapshot = r.sim().snapshot();
        seek.push(clock.elapsed().as_secs_f64() * 1000.0);
    }
    report(
        "reach an instant from the checkpoints (+ snapshot)",
        &mut seek,
    );

    // Fork: the live driver on real files.
    let forks = if args.quick { 3 } else { 10 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut fork_ms = runtime.block_on(forks_on_disk(&args, trace, &instants[..forks]))?;
    report(
        "fork (re-execute to the instant + rewrite every node's files)",
        &mut fork_ms,
    );
    Ok(())
}

/// Record an hour of class use with the in-memory simulator, as the driver would.
fn class_hour(seed: u64, hour_ms: u64, scale: f64) -> Trace {
    let config = SimConfig {
        nodes: 5,
        seed,
        ..SimConfig::default()
    };
    let sim = Sim::new(config.clone()).expect("default config");
    let mut run = Recorded::new(sim, Trace::new(config, Start::Empty));
    let mut rng = Rng::new(seed ^ 0xC1A55);
    let count = |n: f64| (n * scale).round().max(1.0) as u64;
    let mut schedule: Vec<(u64, u8)> = Vec::new();
    for (kind, n) in [(0u8, count(180.0)), (1, count(300.0)), (2, count(60.0))] {
        for _ in 0..n {
            schedule.push((rng.range_inclusive(1, hour_ms - 1), kind));
        }
    }
    schedule.sort_unstable();
    let mut paused = false;
    for (at, kind) in schedule {
        run.run_until(at);
        let node = NodeId(rng.range_inclusive(1, 5));
        let input = match kind {
            1 => TraceInput::Append {
                command: ["add 1", "add rand", "mul 2", "set 7"]
                    [rng.range_inclusive(0, 3) as usize]
                    .parse()
                    .expect("valid"),
                node: None,
                client: Some(shared::ClientSerial {
                    client_id: rng.range_inclusive(1, 30),
                    serial: at,
                }),
            },
            2 => {
                paused = !paused;
                TraceInput::Control { paused, speed: 1.0 }
            }
            _ => match rng.range_inclusive(0, 8) {
                0 => TraceInput::Crash { node },
                1 | 2 => TraceInput::Restart { node },
                3 => TraceInput::PowerLoss { node },
                4 => TraceInput::Timeout { node },
                5 => TraceInput::Partition {
                    groups: vec![vec![node, NodeId(node.get() % 5 + 1)]],
                },
                6 => TraceInput::Heal,
                7 => match run.messages_in_flight().next() {
                    Some(m) => TraceInput::DropMessage { id: m.id },
                    None => TraceInput::Heal,
                },
                _ => TraceInput::Cut {
                    from: node,
                    to: NodeId(node.get() % 5 + 1),
                },
            },
        };
        let _ = run.input(input);
        run.take_events();
    }
    run.run_until(hour_ms);
    run.take_events();
    run.trace()
}

/// Load the trace into a live driver, then fork at each instant (reloading in between, since a
/// fork cuts the trace at its instant). Returns each fork's wall time (ms).
async fn forks_on_disk(args: &Args, trace: Trace, instants: &[u64]) -> Result<Vec<f64>> {
    let _ = std::fs::remove_dir_all(&args.dir);
    let config = DriverConfig {
        data_dir: args.dir.clone(),
        fresh: true,
        cluster: trace.config.clone(),
        paused: true,
        ..DriverConfig::default()
    };
    let (handle, _info, thread) = driver::start(config).await.context("start the driver")?;
    let mut times = Vec::new();
    for &t in instants {
        handle
            .load_trace(trace.clone())
            .await
            .map_err(anyhow::Error::msg)?;
        let clock = Instant::now();
        let reply = handle
            .fork(ForkAt {
                at_ms: Some(t),
                ..ForkAt::default()
            })
            .await
            .map_err(anyhow::Error::msg)?;
        times.push(clock.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            reply.time_ms == t,
            "forked to {} instead of {t}",
            reply.time_ms
        );
    }
    handle.shutdown().await;
    thread.join().await;
    let _ = std::fs::remove_dir_all(&args.dir);
    Ok(times)
}

fn miniz_deflate_len(bytes: &[u8]) -> usize {
    // The share link's own compression (level 9), for the size figure.
    link::deflated_len(bytes)
}

fn report(what: &str, ms: &mut [f64]) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    println!(
        "{what}: n={} median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        ms.len(),
        at(0.5),
        at(0.95),
        at(1.0)
    );
}
