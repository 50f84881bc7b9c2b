//! `sim-bench`: how fast the deterministic simulator runs a busy cluster — virtual seconds,
//! delivered messages and events per wall-clock second on one thread. Owns the command line, the
//! workload and the statistics; must not change the simulator's behaviour (it only drives it
//! through its public API, exactly as the backend's driver does).

use shared::LogIndex;
use std::process::ExitCode;
use std::time::Instant;

use clap::{value_parser, Parser};
use shared::sim::{Sim, SimConfig};
use tools::cli::{self, or_quick, FirstSeed, Resolve};
use tools::stats::min_median_max;

const AFTER_HELP: &str = "\
The cluster is the simulator's default: 5 nodes, command log model, one-way latency 5-15 ms,
fsync 2 ms, election timeout 150-300 ms, heartbeat 50 ms. Every queued item is processed with
Sim::step and the events it produced are drained with take_events, as the backend's driver
does. Single-threaded: pin it to one core with `taskset -c 1` for stable numbers.";

/// sim-bench: simulator speed under a steady client load
#[derive(Parser, Debug)]
#[command(name = "sim-bench", after_help = AFTER_HELP)]
struct Cli {
    /// Virtual seconds per repetition [default: 600; with --quick: 2]
    #[arg(long, value_name = "S", value_parser = value_parser!(u64).range(1..=86_400))]
    virtual_s: Option<u64>,
    /// Repetitions, each with its own seed SEED, SEED+1, ... [default: 5; with --quick: 2]
    #[arg(long, value_name = "N", value_parser = value_parser!(u64).range(1..=1000))]
    reps: Option<u64>,
    #[command(flatten)]
    seed: FirstSeed,
    /// A client proposal (`add 1` to the leader) every MS virtual ms
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 10,
        value_parser = value_parser!(u64).range(1..=60_000)
    )]
    interval_ms: u64,
    /// 2 virtual seconds, 2 repetitions (CI smoke run); flags given explicitly still apply
    #[arg(long)]
    quick: bool,
}

/// What one invocation runs.
#[derive(Debug)]
struct Args {
    virtual_s: u64,
    reps: u64,
    seed: u64,
    interval_ms: u64,
}

impl Resolve for Cli {
    type Settings = Args;

    fn resolve(self) -> Result<Args, String> {
        // Ten virtual minutes take about 0.4 s: long enough to time well, short enough to repeat.
        let virtual_s = or_quick(self.virtual_s, self.quick, 2, 600);
        let reps = or_quick(self.reps, self.quick, 2, 5);
        self.seed.seeds(reps)?;
        Ok(Args {
            virtual_s,
            reps,
            seed: self.seed.first,
            interval_ms: self.interval_ms,
        })
    }
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
        if sim.leader().is_some() && sim.propose(None, shared::Command::Add(1)).is_ok() {
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
        .unwrap_or(LogIndex(0))
        .get();
    run
}

fn main() -> ExitCode {
    let args = cli::parse::<Cli>();
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
        cli::build_label()
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
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    use super::*;

    fn args(list: &[&str]) -> Result<Args, clap::Error> {
        cli::try_parse_from::<Cli, _, _>(std::iter::once("sim-bench").chain(list.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_both_flag_forms_and_refuses_bad_values() {
        let a = args(&["--virtual-s", "3", "--reps=4", "--seed=9"]).unwrap();
        assert_eq!((a.virtual_s, a.reps, a.seed, a.interval_ms), (3, 4, 9, 10));
        let d = args(&[]).unwrap();
        assert_eq!(
            (d.virtual_s, d.reps, d.seed, d.interval_ms),
            (600, 5, 1, 10)
        );
        let q = args(&["--quick", "--seed", "5"]).unwrap();
        assert_eq!((q.virtual_s, q.reps, q.seed), (2, 2, 5));
        assert_eq!(args(&["--quick", "--reps=3"]).unwrap().reps, 3);
        assert_eq!(args(&["-h"]).unwrap_err().kind(), ErrorKind::DisplayHelp);
        let kind = |list: &[&str]| args(list).unwrap_err().kind();
        assert_eq!(kind(&["--reps", "0"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--interval-ms=1.5"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--virtual-s"]), ErrorKind::InvalidValue);
        assert_eq!(kind(&["extra"]), ErrorKind::UnknownArgument);
        let last = u64::MAX.to_string();
        assert_eq!(
            kind(&["--seed", &last, "--reps=2"]),
            ErrorKind::ArgumentConflict
        );
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
