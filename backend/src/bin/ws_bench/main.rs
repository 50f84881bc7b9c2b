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
//! * **Baseline** (`--baseline`): after each run the same measurement against a minimal
//!   tokio-tungstenite broadcast server (`baseline.rs`) fed by the same driver at the same load,
//!   so the two can be compared side by side (p99 ratio printed at the end). The load's appends
//!   go to the driver itself, not through either server, so both rows carry the same stream.
//!
//! Usage: `cargo run --release -p logscope-backend --bin ws-bench -- [--viewers 100,1000]
//! [--seconds 10] [--appends-per-second 100] [--baseline] [--quick]`
//!
//! This file owns the command line and the loop over runs. `run` is the backend's side of one
//! run, `viewers` the viewers' process, `load` the client load, `measure` the `/proc` readings
//! and `report` what is printed.

mod baseline;
mod load;
mod measure;
mod report;
mod run;
mod viewers;

use anyhow::{bail, Context};
use clap::Parser;

use measure::{check_fd_limit, load_average};
use run::run;
use viewers::viewer_process;

/// Fan-out benchmark for the WebSocket stream (see the module docs for the method).
#[derive(Debug, Parser)]
#[command(name = "ws-bench")]
pub struct Args {
    /// Viewer counts to measure, one run each.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    pub viewers: Vec<usize>,
    /// Length of each measured window (wall seconds).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Client load: appends per second, handed to the driver directly (not through the server
    /// measured, so both rows of `--baseline` carry the same stream).
    #[arg(long, default_value_t = 100)]
    pub appends_per_second: u64,
    /// Cluster size.
    #[arg(long, default_value_t = 5)]
    pub nodes: u64,
    /// Virtual ms per wall ms (1 = real time, the busiest paced speed).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// After each run, measure a minimal tokio-tungstenite broadcast server (`baseline.rs`) fed
    /// by the same driver at the same load, and print both and their p99 ratio.
    #[arg(long)]
    pub baseline: bool,
    /// A short smoke run: 20 viewers for 2 seconds.
    #[arg(long)]
    pub quick: bool,
    /// Internal: run the viewers against this URL (the backend starts this process itself).
    #[arg(long, hide = true)]
    pub viewer_process: Option<String>,
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
    let mut ratios = Vec::new();
    for &n in &args.viewers {
        let r = run(&args, n, false).with_context(|| format!("the run with {n} viewers"))?;
        r.print();
        if args.baseline {
            let b = run(&args, n, true)
                .with_context(|| format!("the baseline run with {n} viewers"))?;
            b.print();
            if let (Some(ours), Some(theirs)) = (r.v.p99_ms, b.v.p99_ms) {
                ratios.push((n, ours, theirs));
            }
            results.push(r);
            results.push(b);
        } else {
            results.push(r);
        }
    }
    println!(
        "load average after: {} (other work on the machine skews every figure)",
        load_average()
    );
    println!();
    println!("| server | viewers | events/s per viewer | events/s total | messages/s total | p50 latency | p99 latency | max latency | driver CPU | server CPU | backend RSS before → end (peak) | viewers' CPU | complete viewers |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for r in &results {
        r.print_row();
    }
    for (n, ours, theirs) in ratios {
        println!(
            "{n} viewers: p99 logscope {ours:.1} ms, baseline {theirs:.1} ms: ratio {:.2}",
            ours / theirs.max(0.001)
        );
    }
    if results.iter().any(|r| r.v.complete < r.viewers) {
        bail!("some viewers missed events (see above)");
    }
    Ok(())
}
