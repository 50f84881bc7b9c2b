//! `figure16`: the Raft paper's Figure 16 (§9.3, "time to detect and replace a crashed leader")
//! reproduced in the deterministic simulator — 1,000 leader crashes per election-timeout range, a
//! table of the time without a leader, and the CDF chart as a hand-written SVG. This file owns the
//! command line, the run over the ranges and the table; one trial is in [`trial`], the chart in
//! [`chart`]. It only drives the simulator through its public API and must not change what the
//! simulator or the Raft core do.

mod chart;
mod trial;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{value_parser, Parser};
use tools::cli::{self, or_quick, FirstSeed, Resolve};
use tools::stats::percentile;

use trial::{measure_broadcast_ms, run_trial, Outcome};

const AFTER_HELP: &str = "\
Trial i (counting from 0) of every range runs with seed SEED+i. The heartbeat interval is half
the minimum election timeout, as in the paper. Each trial is deterministic: the same arguments
print the same table.";

/// The paper's ranges, top panel first (150-300 is in both panels).
const PAPER_RANGES: [(u64, u64); 10] = [
    (150, 150),
    (150, 151),
    (150, 155),
    (150, 175),
    (150, 200),
    (150, 300),
    (12, 24),
    (25, 50),
    (50, 100),
    (100, 200),
];

/// Virtual time of the broadcast-time calibration run.
const CALIBRATION_MS: u64 = 60_000;

/// figure16: the Raft paper's Figure 16 (time to elect a new leader after the leader crashes)
#[derive(Parser, Debug)]
#[command(name = "figure16", after_help = AFTER_HELP)]
struct Cli {
    /// Trials per timeout range [default: 1000; with --quick: 10]
    #[arg(long, value_name = "N", value_parser = value_parser!(u64).range(1..=1_000_000))]
    trials: Option<u64>,
    #[command(flatten)]
    seed: FirstSeed,
    /// Give up on a trial after MS virtual ms without a leader [default: 60000; with --quick:
    /// 5000]
    #[arg(long, value_name = "MS", value_parser = value_parser!(u64).range(1..=3_600_000))]
    cap_ms: Option<u64>,
    /// An election-timeout range in ms, repeatable [default: the paper's ten: 150-150 150-151
    /// 150-155 150-175 150-200 150-300 12-24 25-50 50-100 100-200]
    #[arg(long = "range", value_name = "MIN-MAX", value_parser = timeout_range)]
    ranges: Vec<(u64, u64)>,
    /// One-way network latency, uniform in ms
    #[arg(long = "latency", value_name = "MIN-MAX", default_value = "4-9", value_parser = latency_range)]
    latency_ms: (u64, u64),
    /// Time an fsync takes
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 2,
        value_parser = value_parser!(u64).range(0..=10_000)
    )]
    fsync_ms: u64,
    /// Where to write the CDF chart [default: docs/figure16.svg in the repository; none with
    /// --quick]
    #[arg(long, value_name = "PATH", conflicts_with = "no_svg")]
    svg: Option<PathBuf>,
    /// Do not write the chart
    #[arg(long)]
    no_svg: bool,
    /// 10 trials per range, 5 s cap, no chart (CI smoke run); flags given explicitly still apply
    #[arg(long)]
    quick: bool,
}

/// What one invocation runs.
#[derive(Clone, Debug)]
struct Args {
    trials: u64,
    seed: u64,
    cap_ms: u64,
    ranges: Vec<(u64, u64)>,
    latency_ms: (u64, u64),
    fsync_ms: u64,
    svg: Option<PathBuf>,
    calibration_ms: u64,
}

impl Resolve for Cli {
    type Settings = Args;

    fn resolve(self) -> Result<Args, String> {
        let trials = or_quick(self.trials, self.quick, 10, 1000);
        self.seed.seeds(trials)?;
        let svg = match (self.svg, self.no_svg, self.quick) {
            (_, true, _) => None,
            (Some(path), false, _) => Some(path),
            (None, false, quick) => (!quick).then(default_svg_path),
        };
        Ok(Args {
            trials,
            seed: self.seed.first,
            cap_ms: or_quick(self.cap_ms, self.quick, 5_000, 60_000),
            ranges: if self.ranges.is_empty() {
                PAPER_RANGES.to_vec()
            } else {
                self.ranges
            },
            latency_ms: self.latency_ms,
            fsync_ms: self.fsync_ms,
            svg,
            calibration_ms: if self.quick { 5_000 } else { CALIBRATION_MS },
        })
    }
}

fn default_svg_path() -> PathBuf {
    // Relative to the crate, so the command works from any directory of the repository.
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/figure16.svg"))
}

/// `MIN-MAX` in whole milliseconds, MIN not above MAX.
fn parse_pair(text: &str) -> Result<(u64, u64), String> {
    let err = || format!("expected MIN-MAX in whole milliseconds (e.g. 150-300), got {text:?}");
    let (lo, hi) = text.split_once('-').ok_or_else(err)?;
    let lo: u64 = lo.trim().parse().map_err(|_| err())?;
    let hi: u64 = hi.trim().parse().map_err(|_| err())?;
    if lo > hi {
        return Err(format!("{text}: MIN must not exceed MAX"));
    }
    Ok((lo, hi))
}

/// `--range`: the heartbeat is half the minimum timeout, and must be at least 1 ms.
fn timeout_range(text: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = parse_pair(text)?;
    if lo < 2 || hi > 60_000 {
        return Err(format!(
            "{lo}-{hi}: timeouts must be between 2 and 60000 ms"
        ));
    }
    Ok((lo, hi))
}

/// `--latency`: at most ten seconds one way.
fn latency_range(text: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = parse_pair(text)?;
    if hi > 10_000 {
        return Err(format!("{lo}-{hi}: at most 10000 ms"));
    }
    Ok((lo, hi))
}

/// Statistics of one range. Capped trials count as the cap (so with any capped trial they are
/// lower bounds).
#[derive(Clone, Debug)]
struct RangeResult {
    range: (u64, u64),
    /// Times of elected trials, sorted.
    elected_ms: Vec<u64>,
    capped: usize,
    setup_errors: Vec<String>,
    eligible_total: usize,
    wall_s: f64,
}

impl RangeResult {
    fn trials(&self) -> usize {
        self.elected_ms.len() + self.capped
    }
    /// All trials' times with capped ones at the cap, sorted.
    fn with_cap(&self, cap_ms: u64) -> Vec<u64> {
        let mut all = self.elected_ms.clone();
        all.extend(std::iter::repeat_n(cap_ms, self.capped));
        all.sort_unstable();
        all
    }
    fn label(&self) -> String {
        format!("{}–{} ms", self.range.0, self.range.1)
    }
}

/// What the paper reports for a range, to print next to ours.
fn paper_says(range: (u64, u64)) -> &'static str {
    match range {
        (150, 150) => "> 10 s (consistently; 100 trials)",
        (150, 155) => "median 287 ms",
        (150, 200) => "max 513 ms",
        (12, 24) => "mean 35 ms, max 152 ms",
        _ => "",
    }
}

fn fmt_ms(value: u64, lower_bound: bool) -> String {
    format!("{}{}", if lower_bound { ">=" } else { "" }, value)
}

fn main() -> ExitCode {
    let args = cli::parse::<Cli>();
    let started = Instant::now();
    println!(
        "figure16: 5 nodes, one-way latency {}-{} ms, fsync {} ms, heartbeat = min timeout / 2; \
         {} trials per range, trial i uses seed {}+i; cap {} ms; {} build",
        args.latency_ms.0,
        args.latency_ms.1,
        args.fsync_ms,
        args.trials,
        args.seed,
        args.cap_ms,
        cli::build_label()
    );

    let mut broadcast = measure_broadcast_ms(&args);
    broadcast.sort_unstable();
    if broadcast.is_empty() {
        eprintln!("figure16: the calibration run saw no complete heartbeat broadcast");
        return ExitCode::FAILURE;
    }
    let mean = broadcast.iter().sum::<u64>() as f64 / broadcast.len() as f64;
    println!(
        "broadcast time (heartbeat to all four followers and back, {} broadcasts in {} virtual \
         s): mean {:.1} ms, median {} ms, min {} ms, max {} ms; RequestVote adds two fsyncs ({} \
         ms)",
        broadcast.len(),
        args.calibration_ms / 1000,
        mean,
        percentile(&broadcast, 0.5),
        broadcast[0],
        broadcast[broadcast.len() - 1],
        2 * args.fsync_ms
    );

    let mut results = Vec::new();
    for &range in &args.ranges {
        let range_started = Instant::now();
        let mut result = RangeResult {
            range,
            elected_ms: Vec::new(),
            capped: 0,
            setup_errors: Vec::new(),
            eligible_total: 0,
            wall_s: 0.0,
        };
        for i in 0..args.trials {
            match run_trial(args.seed + i, range, &args) {
                Ok(trial) => {
                    result.eligible_total += trial.eligible;
                    match trial.outcome {
                        Outcome::Elected(ms) => result.elected_ms.push(ms),
                        Outcome::Capped => result.capped += 1,
                    }
                }
                Err(e) => result.setup_errors.push(e),
            }
        }
        result.elected_ms.sort_unstable();
        result.wall_s = range_started.elapsed().as_secs_f64();
        eprintln!(
            "  {}: {} trials in {:.1} s",
            result.label(),
            result.trials(),
            result.wall_s
        );
        results.push(result);
    }

    println!();
    println!(
        "{:<14} {:>6} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9}  paper",
        "timeout", "trials", "median", "p95", "max", "mean", "capped", "eligible"
    );
    let mut broken = false;
    for r in &results {
        if r.trials() == 0 {
            println!("{:<14} no trial completed its setup", r.label());
            broken = true;
            continue;
        }
        let all = r.with_cap(args.cap_ms);
        let capped = r.capped > 0;
        let mean = all.iter().sum::<u64>() as f64 / all.len() as f64;
        // A statistic is a lower bound when a capped trial is at or below its rank.
        let bound = |v: u64| capped && v >= args.cap_ms;
        let median = percentile(&all, 0.5);
        let p95 = percentile(&all, 0.95);
        let max = all[all.len() - 1];
        println!(
            "{:<14} {:>6} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9.2}  {}",
            r.label(),
            r.trials(),
            fmt_ms(median, bound(median)),
            fmt_ms(p95, bound(p95)),
            fmt_ms(max, bound(max)),
            format!("{}{:.0}", if capped { ">=" } else { "" }, mean),
            r.capped,
            r.eligible_total as f64 / r.trials() as f64,
            paper_says(r.range)
        );
        for e in &r.setup_errors {
            println!("  setup failed: {e}");
            broken = true;
        }
    }
    println!(
        "(times in virtual ms from the crash to the first new leader; 'eligible' = mean number \
         of the four survivors able to collect three votes; {:.1} s wall)",
        started.elapsed().as_secs_f64()
    );

    if let Some(path) = &args.svg {
        let svg = chart::chart(&results, &args);
        if let Err(e) = std::fs::write(path, svg) {
            eprintln!("figure16: could not write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        let shown = path.canonicalize().unwrap_or_else(|_| path.clone());
        println!("chart written to {}", shown.display());
    }
    if broken {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;
    use clap::CommandFactory;

    use super::*;

    /// The settings for `list`, as the command line would give them.
    pub(crate) fn args(list: &[&str]) -> Result<Args, clap::Error> {
        cli::try_parse_from::<Cli, _, _>(std::iter::once("figure16").chain(list.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_ranges_and_refuses_bad_ones() {
        let a = args(&[
            "--range",
            "12-24",
            "--range=150-300",
            "--trials=3",
            "--seed",
            "5",
        ])
        .unwrap();
        assert_eq!(a.ranges, vec![(12, 24), (150, 300)]);
        assert_eq!((a.trials, a.seed), (3, 5));
        let d = args(&[]).unwrap();
        assert_eq!(d.ranges, PAPER_RANGES.to_vec());
        assert_eq!((d.trials, d.seed, d.cap_ms), (1000, 1, 60_000));
        assert_eq!((d.latency_ms, d.fsync_ms), ((4, 9), 2));
        assert_eq!(d.svg, Some(default_svg_path()));
        assert_eq!(args(&["--latency=1-3"]).unwrap().latency_ms, (1, 3));
        let message = |list: &[&str]| args(list).unwrap_err().to_string();
        assert!(message(&["--range", "300-150"]).contains("MIN must not exceed MAX"));
        assert!(message(&["--range", "150"]).contains("MIN-MAX"));
        assert!(message(&["--range", "1-5"]).contains("between 2"));
        assert!(message(&["--latency", "1-10001"]).contains("at most 10000"));
        let kind = |list: &[&str]| args(list).unwrap_err().kind();
        assert_eq!(kind(&["--trials", "0"]), ErrorKind::ValueValidation);
        assert_eq!(
            kind(&["--svg", "x.svg", "--no-svg"]),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(kind(&["--wat"]), ErrorKind::UnknownArgument);
        let last = u64::MAX.to_string();
        assert_eq!(
            kind(&["--seed", &last, "--trials=2"]),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn quick_shortens_the_run_and_drops_the_chart_unless_asked() {
        let q = args(&["--quick"]).unwrap();
        assert_eq!((q.trials, q.cap_ms, q.calibration_ms), (10, 5_000, 5_000));
        assert!(q.svg.is_none());
        let kept = args(&["--quick", "--svg=x.svg", "--trials", "4"]).unwrap();
        assert_eq!((kept.svg, kept.trials), (Some(PathBuf::from("x.svg")), 4));
    }
}
