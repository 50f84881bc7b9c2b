//! `sim-bench`: how fast the deterministic simulator runs a busy cluster — virtual seconds,
//! delivered messages and events per wall-clock second on one thread. Owns the command line, the
//! workload and the statistics; must not change the simulator's behaviour (it only drives it
//! through its public API, exactly as the backend's driver does).
// The benchmark binaries measure wall time; the deterministic library never sees it.
// shared/clippy.toml forbids `Instant` for the library's sake.
#![allow(clippy::disallowed_types)]

use std::process::ExitCode;
use std::time::Instant;

use shared::sim::{Sim, SimConfig};

const USAGE: &str = "\
sim-bench: simulator speed under a steady client load

Usage:
  sim-bench [--virtual-s S] [--reps N] [--seed SEED] [--interval-ms MS]
  sim-bench --quick

Options:
  --virtual-s S     virtual seconds per repetition (default 600)
  --reps N          repetitions, each with its own seed SEED, SEED+1, ... (default 5)
  --seed SEED       first seed (default 1)
  --interval-ms MS  a client proposal (`add 1` to the leader) every MS virtual ms (default 10)
  --quick           2 virtual seconds, 2 repetitions (CI smoke run)
  -h, --help        this text

The cluster is the simulator's default: 5 nodes, command log model, one-way latency 5-15 ms,
fsync 2 ms, election timeout 150-300 ms, heartbeat 50 ms. Every queued item is processed with
Sim::step and the events it produced are drained with take_events, as the backend's driver
does. Single-threaded: pin it to one core with `taskset -c 1` for stable numbers.";

#[derive(Debug)]
struct Args {
    virtual_s: u64,
    reps: u64,
    seed: u64,
    interval_ms: u64,
}

fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        // Ten virtual minutes take about 0.4 s: long enough to time well, short enough to repeat.
        virtual_s: 600,
        reps: 5,
        seed: 1,
        interval_ms: 10,
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let mut value = || {
            i += 1;
            let text = args.get(i).ok_or_else(|| format!("{flag} needs a value"))?;
            text.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number (0 or more), got {text:?}"))
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--virtual-s" => parsed.virtual_s = value()?,
            "--reps" => parsed.reps = value()?,
            "--seed" => parsed.seed = value()?,
            "--interval-ms" => parsed.interval_ms = value()?,
            "--quick" => {
                parsed.virtual_s = 2;
                parsed.reps = 2;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
        i += 1;
    }
    if !(1..=86_400).contains(&parsed.virtual_s) {
        return Err(format!(
            "--virtual-s must be between 1 and 86400, got {}",
            parsed.virtual_s
        ));
    }
    if !(1..=1000).contains(&parsed.reps) {
        return Err(format!(
            "--reps must be between 1 and 1000, got {}",
            parsed.reps
        ));
    }
    if !(1..=60_000).contains(&parsed.interval_ms) {
        return Err(format!(
            "--interval-ms must be between 1 and 60000, got {}",
            parsed.interval_ms
        ));
    }
    if parsed.seed.checked_add(parsed.reps).is_none() {
        return Err(format!("--seed {} is too large", parsed.seed));
    }
    Ok(Some(parsed))
}

/// One of the rates a repetition is summarised by.
type Metric = fn(&Run) -> f64;

/// One repetition's counts and its wall time.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    wall_s: f64,
    virtual_ms: u64,
    steps: u64,
    events: u64,
    messages_delivered: u64,
    proposals: u64,
    committed: u64,
}

impl Run {
    fn virtual_per_wall(&self) -> f64 {
        self.virtual_ms as f64 / 1000.0 / self.wall_s
    }
    fn messages_per_s(&self) -> f64 {
        self.messages_delivered as f64 / self.wall_s
    }
    fn events_per_s(&self) -> f64 {
        self.events as f64 / self.wall_s
    }
    fn steps_per_s(&self) -> f64 {
        self.steps as f64 / self.wall_s
    }
}

fn run_once(seed: u64, virtual_s: u64, interval_ms: u64) -> Run {
    let config = SimConfig {
        seed,
        ..SimConfig::default()
    };
    let mut sim = Sim::new(config).expect("the default configuration is valid");
    let end_ms = virtual_s * 1000;
    let mut run = Run::default();
    let started = Instant::now();
    let mut next_proposal_ms = interval_ms;
    while next_proposal_ms <= end_ms {
        // Everything due before the next proposal, one item at a time, draining events each step
        // as a driver streaming them to browsers would.
        while sim.next_event_time().is_some_and(|t| t <= next_proposal_ms) {
            sim.step();
            run.events += sim.take_events().len() as u64;
        }
        sim.run_until(next_proposal_ms);
        if sim.leader().is_some()
            && sim
                .propose(None, "add 1".parse().expect("a valid command"))
                .is_ok()
        {
            run.proposals += 1;
        }
        run.events += sim.take_events().len() as u64;
        next_proposal_ms += interval_ms;
    }
    run.wall_s = started.elapsed().as_secs_f64();
    let stats = sim.stats();
    run.virtual_ms = sim.now_ms();
    run.steps = stats.steps;
    run.messages_delivered = stats.messages_delivered;
    run.committed = sim
        .node_ids()
        .filter_map(|id| sim.node(id).map(|n| n.commit_index()))
        .max()
        .unwrap_or(0);
    run
}

/// (min, median, max) of the values; the median of an even count is the mean of the middle two.
fn min_median_max(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (values[0], median, values[n - 1])
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sim-bench: {e}\n(run with --help for usage)");
            return ExitCode::from(2);
        }
    };
    let defaults = SimConfig::default();
    println!(
        "sim-bench: {} nodes, {:?} log model, latency {}-{} ms, fsync {} ms, election timeout \
         {}-{} ms, heartbeat {} ms; a proposal every {} virtual ms; {} virtual s x {} reps \
         (seeds {}..={}); {} build",
        defaults.nodes,
        defaults.log_model,
        defaults.network.latency_ms_min,
        defaults.network.latency_ms_max,
        defaults.timing.fsync_ms,
        defaults.timing.election_timeout_ms_min,
        defaults.timing.election_timeout_ms_max,
        defaults.timing.heartbeat_interval_ms,
        args.interval_ms,
        args.virtual_s,
        args.reps,
        args.seed,
        args.seed + args.reps - 1,
        if cfg!(debug_assertions) {
            "DEBUG (numbers are meaningless: use --release)"
        } else {
            "release"
        }
    );
    println!(
        "{:>4} {:>8} {:>9} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10} {:>12} {:>12} {:>12}",
        "rep",
        "seed",
        "wall s",
        "steps",
        "events",
        "delivered",
        "proposed",
        "committed",
        "msgs/prop",
        "virt s/s",
        "msgs/s",
        "events/s"
    );
    let mut runs = Vec::new();
    for rep in 0..args.reps {
        let seed = args.seed + rep;
        let r = run_once(seed, args.virtual_s, args.interval_ms);
        println!(
            "{:>4} {:>8} {:>9.3} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10.1} {:>12.1} {:>12.0} {:>12.0}",
            rep + 1,
            seed,
            r.wall_s,
            r.steps,
            r.events,
            r.messages_delivered,
            r.proposals,
            r.committed,
            r.messages_delivered as f64 / r.proposals.max(1) as f64,
            r.virtual_per_wall(),
            r.messages_per_s(),
            r.events_per_s()
        );
        // A cluster that stopped committing would make the numbers meaningless (an idle sim is
        // fast): refuse to report them.
        if r.committed < r.proposals / 2 {
            eprintln!(
                "sim-bench: seed {seed} committed only {} of {} proposals: the cluster was not \
                 working, so its speed means nothing",
                r.committed, r.proposals
            );
            return ExitCode::FAILURE;
        }
        runs.push(r);
    }
    println!("summary over {} reps (min / median / max):", runs.len());
    let rows: [(&str, Metric); 4] = [
        ("virtual s per wall s", Run::virtual_per_wall),
        ("delivered messages per wall s", Run::messages_per_s),
        ("events per wall s", Run::events_per_s),
        ("simulator steps per wall s", Run::steps_per_s),
    ];
    for (name, metric) in rows {
        let (lo, mid, hi) = min_median_max(runs.iter().map(metric).collect());
        // Rates below 100 (virtual seconds per wall second of a slow run) keep a decimal.
        let decimals = usize::from(hi < 100.0);
        println!("  {name:<30} {lo:>12.decimals$} / {mid:>12.decimals$} / {hi:>12.decimals$}");
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse_args(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_and_refuses_bad_values() {
        let a = args(&["--virtual-s", "3", "--reps", "4", "--seed", "9"])
            .unwrap()
            .unwrap();
        assert_eq!((a.virtual_s, a.reps, a.seed, a.interval_ms), (3, 4, 9, 10));
        assert!(args(&["-h"]).unwrap().is_none());
        assert!(args(&["--reps", "0"]).unwrap_err().contains("between 1"));
        assert!(args(&["--interval-ms", "1.5"])
            .unwrap_err()
            .contains("whole number"));
        assert!(args(&["--virtual-s"])
            .unwrap_err()
            .contains("needs a value"));
        assert!(args(&["extra"]).unwrap_err().contains("unknown"));
    }

    #[test]
    fn statistics_of_odd_and_even_counts() {
        assert_eq!(min_median_max(vec![3.0, 1.0, 2.0]), (1.0, 2.0, 3.0));
        assert_eq!(min_median_max(vec![4.0, 1.0, 2.0, 3.0]), (1.0, 2.5, 4.0));
    }

    #[test]
    fn a_short_run_commits_what_it_proposes() {
        let r = run_once(1, 2, 10);
        assert_eq!(r.virtual_ms, 2000);
        assert!(r.proposals > 100, "proposals {}", r.proposals);
        // Everything proposed long enough before the end is committed (leader's no-op included).
        assert!(r.committed + 10 >= r.proposals, "{r:?}");
        assert!(r.events > r.messages_delivered && r.messages_delivered > 0);
    }
}
