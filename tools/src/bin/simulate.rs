//! `simulate`: the randomized chaos simulation over many seeds (`shared::sim::chaos::run`), with
//! a summary and, for every failing seed, the command that replays it. Owns the command line and
//! the reporting only; the runs themselves are the library's and stay deterministic. Must not
//! hide a failure: any failing seed makes the exit status 1.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{value_parser, Parser};
use shared::sim::chaos::{self, ChaosFailure, ChaosReport};
use tools::cli::{self, or_quick, seed_range, Resolve};

const AFTER_HELP: &str = "\
Usage forms:
  simulate --seed N [--duration-ms MS]                   run one seed and print its report
  simulate [--seeds COUNT] [--start S] [--duration-ms MS] run seeds S, S+1, ..., S+COUNT-1
  simulate --quick                                       a few seeds, a few seconds (CI smoke run)

Each seed picks a cluster (1-7 nodes, either log model, network from perfect to 30% loss), a
fault schedule and a client load, checks election safety, log matching, leader completeness,
state machine safety and durability after every step, then heals everything and checks that a
leader is elected and a new entry commits on every node. A failing seed prints the command that
replays it. Exit status: 0 if every seed passed, 1 if any failed, 2 on bad arguments.";

/// Virtual time of faults per seed unless `--duration-ms` says otherwise. The replay command that
/// `ChaosFailure` prints (`--seed N` alone) relies on this default.
const DURATION_MS_DEFAULT: u64 = 10_000;

/// How to replay one seed (the reports add `--duration-ms` and friends).
const REPLAY: &str = "cargo run --release -p logscope-tools --bin simulate --";

/// simulate: randomized Raft simulation with safety checks after every step
#[derive(Parser, Debug)]
#[command(name = "simulate", after_help = AFTER_HELP)]
struct Cli {
    /// One seed, full report; exit status 1 if it fails
    #[arg(long, value_name = "N", conflicts_with_all = ["seeds", "start", "quick"])]
    seed: Option<u64>,
    /// How many seeds to run [default: 100; with --quick: 20]
    #[arg(long, value_name = "COUNT", value_parser = value_parser!(u64).range(1..))]
    seeds: Option<u64>,
    /// First seed
    #[arg(long, value_name = "S", default_value_t = 0)]
    start: u64,
    /// Virtual time of faults per seed before healing [default: 10000; with --quick: 3000]
    #[arg(
        long,
        value_name = "MS",
        value_parser = value_parser!(u64).range(1..=86_400_000)
    )]
    duration_ms: Option<u64>,
    /// Stop a seed that produces more than N events, as a failure (a seed normally checks a few
    /// thousand)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000_000,
        value_parser = value_parser!(u64).range(1..)
    )]
    max_events: u64,
    /// 20 seeds of 3000 ms (CI smoke run); flags given explicitly still apply
    #[arg(long)]
    quick: bool,
}

/// What one invocation runs.
#[derive(Debug)]
struct Args {
    /// `Some` for `--seed`: one seed, full report.
    single: Option<u64>,
    seeds: u64,
    start: u64,
    duration_ms: u64,
    max_events: u64,
}

impl Resolve for Cli {
    type Settings = Args;

    fn resolve(self) -> Result<Args, String> {
        let seeds = or_quick(self.seeds, self.quick, 20, 100);
        if seed_range(self.start, seeds).is_none() {
            return Err(format!(
                "--start {} plus --seeds {seeds} runs past the largest seed {}",
                self.start,
                u64::MAX
            ));
        }
        Ok(Args {
            single: self.seed,
            seeds,
            start: self.start,
            duration_ms: or_quick(self.duration_ms, self.quick, 3_000, DURATION_MS_DEFAULT),
            max_events: self.max_events,
        })
    }
}

/// How one seed ended. A panic in the core (a broken assertion) is a failure of that seed, not
/// the end of the whole sweep; so is a run that blows through its event budget.
enum Outcome {
    Passed(ChaosReport),
    Failed(ChaosFailure),
    Panicked(String),
}

/// Panic payload that stops a run over its event budget (caught right away by `run_seed`).
struct OverBudget;

/// Silence the default panic message for [`OverBudget`], which is not a bug in this program but
/// its way of stopping a runaway run; every other panic is printed as usual.
fn install_panic_hook() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<OverBudget>().is_none() {
            default_hook(info);
        }
    }));
}

fn run_seed(seed: u64, duration_ms: u64, max_events: u64) -> Outcome {
    let replay = format!("  reproduce with: {REPLAY} --seed {seed} --duration-ms {duration_ms}");
    let mut events = 0u64;
    // A seed checks a few thousand events. One that produces millions is not converging (a
    // livelock or a message storm): stop it and report it rather than stall the sweep and eat
    // the machine's memory ("put a limit on everything").
    let count = |batch: &[shared::protocol::SimEvent]| {
        events += batch.len() as u64;
        if events > max_events {
            std::panic::panic_any(OverBudget);
        }
    };
    match catch_unwind(AssertUnwindSafe(|| chaos::run(seed, duration_ms, count))) {
        Ok(Ok(report)) => Outcome::Passed(report),
        Ok(Err(failure)) => Outcome::Failed(failure),
        Err(payload) if payload.downcast_ref::<OverBudget>().is_some() => {
            Outcome::Panicked(format!(
                "seed {seed}: stopped after {max_events} events without finishing (a seed \
                 normally checks a few thousand): the cluster is not converging — a livelock or \
                 a message storm\n{replay} --max-events {}",
                max_events.saturating_mul(10)
            ))
        }
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-text panic payload)".to_string());
            Outcome::Panicked(format!("seed {seed}: panicked: {message}\n{replay}"))
        }
    }
}

/// A seed normally takes milliseconds. One that runs for minutes (a livelock or a message storm
/// in the core) would otherwise stall a long sweep in silence, so a watchdog thread names it.
/// It only reads two counters; the runs stay single-threaded and deterministic.
fn watchdog(current_seed: Arc<AtomicU64>, seeds_done: Arc<AtomicU64>) {
    const SLOW_S: u64 = 30;
    std::thread::spawn(move || {
        let mut seen = (u64::MAX, Instant::now());
        let mut last_warning = None;
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let done = seeds_done.load(Ordering::Relaxed);
            if done != seen.0 {
                seen = (done, Instant::now());
                last_warning = None;
                continue;
            }
            let running_s = seen.1.elapsed().as_secs();
            if running_s >= SLOW_S && last_warning.is_none_or(|w: u64| running_s >= w + 60) {
                last_warning = Some(running_s);
                let seed = current_seed.load(Ordering::Relaxed);
                eprintln!(
                    "watchdog: seed {seed} has been running for {running_s} s (seeds take \
                     milliseconds); replay it alone with: {REPLAY} --seed {seed}"
                );
            }
        }
    });
}

fn print_report(r: &ChaosReport) {
    println!("seed {}: passed", r.seed);
    println!("  nodes:             {}", r.nodes);
    println!("  log model:         {:?}", r.log_model);
    println!("  virtual time:      {} ms", r.virtual_ms);
    println!("  events checked:    {}", r.events);
    println!("  proposals:         {}", r.proposals);
    println!("  faults injected:   {}", r.faults);
    println!("  entries committed: {}", r.committed);
}

fn main() -> ExitCode {
    let args = cli::parse::<Cli>();
    install_panic_hook();

    if let Some(seed) = args.single {
        let config = chaos::config_for_seed(seed);
        println!(
            "seed {seed}: {} nodes, {:?} log model, latency {}-{} ms, loss {}, duplication {}, \
             fsync {} ms; {} ms of faults",
            config.nodes,
            config.log_model,
            config.network.latency_ms_min,
            config.network.latency_ms_max,
            config.network.loss_probability,
            config.network.duplicate_probability,
            config.timing.fsync_ms,
            args.duration_ms
        );
        return match run_seed(seed, args.duration_ms, args.max_events) {
            Outcome::Passed(report) => {
                print_report(&report);
                ExitCode::SUCCESS
            }
            Outcome::Failed(failure) => {
                println!("FAILED {failure}");
                ExitCode::FAILURE
            }
            Outcome::Panicked(text) => {
                println!("FAILED {text}");
                ExitCode::FAILURE
            }
        };
    }

    let last = args.start + (args.seeds - 1);
    println!(
        "simulate: seeds {}..={} ({} seeds), {} ms of faults each, then heal and check recovery",
        args.start, last, args.seeds, args.duration_ms
    );
    let started = Instant::now();
    let mut totals = ChaosReport::default();
    let mut failures: Vec<String> = Vec::new();
    // Progress about every 5% (and at least every 10 s of wall time), so a long soak shows life.
    // Short sweeps (CI's --quick) stay quiet.
    let progress_every = if args.seeds >= 100 {
        args.seeds / 20
    } else {
        u64::MAX
    };
    let mut next_progress = progress_every;
    let mut last_progress = Instant::now();
    let current_seed = Arc::new(AtomicU64::new(args.start));
    let seeds_done = Arc::new(AtomicU64::new(0));
    watchdog(Arc::clone(&current_seed), Arc::clone(&seeds_done));
    for (done, seed) in (args.start..=last).enumerate() {
        current_seed.store(seed, Ordering::Relaxed);
        seeds_done.store(done as u64, Ordering::Relaxed);
        match run_seed(seed, args.duration_ms, args.max_events) {
            Outcome::Passed(r) => {
                totals.events += r.events;
                totals.committed += r.committed;
                totals.faults += r.faults;
                totals.proposals += r.proposals;
                totals.virtual_ms += r.virtual_ms;
            }
            Outcome::Failed(failure) => {
                // The library's replay command assumes the default duration; say so when the
                // sweep used another one, or the replay would run a different schedule.
                let mut text = failure.to_string();
                if args.duration_ms != DURATION_MS_DEFAULT {
                    text.push_str(&format!(" --duration-ms {}", args.duration_ms));
                }
                println!("FAILED {text}");
                failures.push(text);
            }
            Outcome::Panicked(text) => {
                println!("FAILED {text}");
                failures.push(text);
            }
        }
        let done = done as u64 + 1;
        if done < args.seeds && (done >= next_progress || last_progress.elapsed().as_secs() >= 10) {
            last_progress = Instant::now();
            next_progress = done.saturating_add(progress_every);
            eprintln!(
                "progress: {done}/{} seeds, {} failed, {:.1} s",
                args.seeds,
                failures.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    println!(
        "summary: {} seeds run ({}..={}), {} failed, {} events checked, {} entries committed, \
         {} faults injected, {} proposals accepted, {:.1} virtual s, {:.1} wall s ({:.1} seeds/s)",
        args.seeds,
        args.start,
        last,
        failures.len(),
        totals.events,
        totals.committed,
        totals.faults,
        totals.proposals,
        totals.virtual_ms as f64 / 1000.0,
        wall_s,
        args.seeds as f64 / wall_s.max(1e-9)
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failures ({}):", failures.len());
        for f in &failures {
            println!("{f}");
        }
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    use super::*;

    fn args(list: &[&str]) -> Result<Args, clap::Error> {
        cli::try_parse_from::<Cli, _, _>(std::iter::once("simulate").chain(list.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_a_sweep_and_refuses_nonsense() {
        let a = args(&["--seeds", "5", "--start=7", "--duration-ms=100"]).unwrap();
        assert_eq!(
            (a.seeds, a.start, a.duration_ms, a.single),
            (5, 7, 100, None)
        );
        let d = args(&[]).unwrap();
        assert_eq!(
            (d.seeds, d.start, d.duration_ms, d.max_events),
            (100, 0, DURATION_MS_DEFAULT, 10_000_000)
        );
        let q = args(&["--quick"]).unwrap();
        assert_eq!((q.seeds, q.duration_ms), (20, 3_000));
        let one = args(&["--seed=5", "--duration-ms", "300"]).unwrap();
        assert_eq!((one.single, one.duration_ms), (Some(5), 300));
        assert_eq!(
            args(&["--help"]).unwrap_err().kind(),
            ErrorKind::DisplayHelp
        );
        let kind = |list: &[&str]| args(list).unwrap_err().kind();
        assert_eq!(kind(&["--seeds"]), ErrorKind::InvalidValue);
        assert_eq!(kind(&["--seeds", "-3"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["--seeds=0"]), ErrorKind::ValueValidation);
        assert_eq!(kind(&["--max-events=0"]), ErrorKind::ValueValidation);
        assert_eq!(
            kind(&["--seed", "1", "--seeds", "2"]),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(kind(&["--seed=1", "--quick"]), ErrorKind::ArgumentConflict);
        assert_eq!(kind(&["--frobnicate"]), ErrorKind::UnknownArgument);
        let last = u64::MAX.to_string();
        assert_eq!(
            kind(&["--start", &last, "--seeds", "2"]),
            ErrorKind::ArgumentConflict
        );
    }
}
