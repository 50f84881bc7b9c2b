//! `figure16`: the Raft paper's Figure 16 (§9.3, "time to detect and replace a crashed leader")
//! reproduced in the deterministic simulator — 1,000 leader crashes per election-timeout range, a
//! table of the time without a leader, and the CDF chart as a hand-written SVG. Owns the trial
//! procedure, the statistics and the chart; it only drives the simulator through its public API
//! and must not change what the simulator or the Raft core do.
//!
//! # One trial
//!
//! 1. Five nodes start from pre-filled storages (all entries of term 1): three *current* nodes
//!    hold 100 entries, two *lagging* nodes hold fewer (20–40 and 0–19). The lagging nodes are
//!    held down while one current node, picked at random, times out at once and is elected by
//!    the other two; it commits its no-op.
//! 2. The lagging nodes are restarted with every link *from* them cut. They receive every
//!    heartbeat (so they follow the leader and their election timers are reset like everyone
//!    else's), but their replies are lost, so no leader learns it should repair their logs: they
//!    stay behind, with logs older (last term 1) and shorter than the others'. This is the
//!    paper's "the servers in each trial had different log lengths, so some candidates were not
//!    eligible to become leader": two of the four survivors can never collect three votes.
//! 3. After a warm-up (one to two maximum timeouts, and until every survivor follows the leader in
//!    its term), the leader sends its regular heartbeat broadcast (one `AppendEntries` to
//!    every follower at the same instant: the paper's "synchronized broadcast of heartbeat RPCs")
//!    and is crashed at a uniformly random millisecond of the following heartbeat interval. The
//!    cut links are healed at the crash. Messages already in flight still arrive.
//! 4. The *time without a leader* is the virtual time from the crash to the first moment a
//!    surviving node is leader (checked after every simulator step; its term is necessarily
//!    higher than the crashed leader's, and the program checks that it is).
//!    A trial that elects nobody within the cap (60 s by default) is *capped*; its time counts as
//!    the cap, so statistics over capped trials are lower bounds (printed with `>=`).
// The benchmark binaries measure wall time; the deterministic library never sees it.
// shared/clippy.toml forbids `Instant` for the library's sake.
#![allow(clippy::disallowed_types)]

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use shared::protocol::{Event, MessageBody, Timing};
use shared::sim::{NetworkSettings, Sim, SimConfig};
use shared::{Entry, EntryData, HardState, LogIndex, LogModel, MemStorage, NodeId, Rng, Storage};

const USAGE: &str = "\
figure16: the Raft paper's Figure 16 (time to elect a new leader after the leader crashes)

Usage:
  figure16 [--trials N] [--seed BASE] [--cap-ms MS] [--range MIN-MAX]... [--latency MIN-MAX]
           [--fsync-ms MS] [--svg PATH | --no-svg]
  figure16 --quick

Options:
  --trials N         trials per timeout range (default 1000)
  --seed BASE        trial i (0-based) of every range runs with seed BASE+i (default 1)
  --cap-ms MS        give up on a trial after MS virtual ms without a leader (default 60000)
  --range MIN-MAX    an election-timeout range in ms, repeatable (default: the paper's ten:
                     150-150 150-151 150-155 150-175 150-200 150-300 12-24 25-50 50-100 100-200)
  --latency MIN-MAX  one-way network latency, uniform in ms (default 4-9)
  --fsync-ms MS      time an fsync takes (default 2)
  --svg PATH         where to write the CDF chart (default: docs/figure16.svg in the repository)
  --no-svg           do not write the chart
  --quick            10 trials per range, 5 s cap, no chart (CI smoke run)
  -h, --help         this text

The heartbeat interval is half the minimum election timeout, as in the paper. Each trial is
deterministic: the same arguments print the same table.";

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

/// Entries on the three current nodes; the lagging ones hold far fewer (see the module docs).
const CURRENT_LOG_LEN: LogIndex = 100;
/// Virtual time allowed for electing the first leader before a trial is declared broken.
const SETUP_CAP_MS: u64 = 30_000;
/// Virtual time of the broadcast-time calibration run.
const CALIBRATION_MS: u64 = 60_000;

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

fn default_svg_path() -> PathBuf {
    // Relative to the crate, so the command works from any directory of the repository.
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/figure16.svg"))
}

fn parse_pair(flag: &str, text: &str) -> Result<(u64, u64), String> {
    let err = || format!("{flag} takes MIN-MAX in whole milliseconds (e.g. 150-300), got {text:?}");
    let (lo, hi) = text.split_once('-').ok_or_else(err)?;
    let lo: u64 = lo.trim().parse().map_err(|_| err())?;
    let hi: u64 = hi.trim().parse().map_err(|_| err())?;
    if lo > hi {
        return Err(format!("{flag} {text}: MIN must not exceed MAX"));
    }
    Ok((lo, hi))
}

fn parse_args(args: &[String]) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        trials: 1000,
        seed: 1,
        cap_ms: 60_000,
        ranges: Vec::new(),
        latency_ms: (4, 9),
        fsync_ms: 2,
        svg: Some(default_svg_path()),
        calibration_ms: CALIBRATION_MS,
    };
    let mut quick = false;
    let (mut svg_given, mut no_svg) = (false, false);
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let mut text = || {
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |text: String| {
            text.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number (0 or more), got {text:?}"))
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--trials" => parsed.trials = number(text()?)?,
            "--seed" => parsed.seed = number(text()?)?,
            "--cap-ms" => parsed.cap_ms = number(text()?)?,
            "--fsync-ms" => parsed.fsync_ms = number(text()?)?,
            "--range" => parsed.ranges.push(parse_pair(flag, &text()?)?),
            "--latency" => parsed.latency_ms = parse_pair(flag, &text()?)?,
            "--svg" => {
                parsed.svg = Some(PathBuf::from(text()?));
                svg_given = true;
            }
            "--no-svg" => no_svg = true,
            "--quick" => quick = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
        i += 1;
    }
    if quick {
        parsed.trials = 10;
        parsed.cap_ms = 5_000;
        parsed.calibration_ms = 5_000;
        if !svg_given {
            parsed.svg = None;
        }
    }
    if no_svg {
        if svg_given {
            return Err("--svg and --no-svg contradict each other".to_string());
        }
        parsed.svg = None;
    }
    if parsed.ranges.is_empty() {
        parsed.ranges = PAPER_RANGES.to_vec();
    }
    if !(1..=1_000_000).contains(&parsed.trials) {
        return Err(format!(
            "--trials must be between 1 and 1000000, got {}",
            parsed.trials
        ));
    }
    if parsed.seed.checked_add(parsed.trials).is_none() {
        return Err(format!("--seed {} is too large", parsed.seed));
    }
    if !(1..=3_600_000).contains(&parsed.cap_ms) {
        return Err(format!(
            "--cap-ms must be between 1 and 3600000 (one virtual hour), got {}",
            parsed.cap_ms
        ));
    }
    for &(lo, hi) in &parsed.ranges {
        // The heartbeat is half the minimum timeout, and must be at least 1 ms.
        if lo < 2 || hi > 60_000 {
            return Err(format!(
                "--range {lo}-{hi}: timeouts must be between 2 and 60000 ms"
            ));
        }
    }
    let (lo, hi) = parsed.latency_ms;
    if hi > 10_000 {
        return Err(format!("--latency {lo}-{hi}: at most 10000 ms"));
    }
    if parsed.fsync_ms > 10_000 {
        return Err(format!(
            "--fsync-ms must be at most 10000, got {}",
            parsed.fsync_ms
        ));
    }
    Ok(Some(parsed))
}

fn sim_config(seed: u64, (min, max): (u64, u64), args: &Args) -> SimConfig {
    SimConfig {
        nodes: 5,
        seed,
        log_model: LogModel::Command,
        timing: Timing {
            election_timeout_ms_min: min,
            election_timeout_ms_max: max,
            // "The leader was crashed uniformly randomly within its heartbeat interval, which was
            // half of the minimum election timeout for all tests."
            heartbeat_interval_ms: (min / 2).max(1),
            fsync_ms: args.fsync_ms,
            ..Timing::default()
        },
        network: NetworkSettings {
            latency_ms_min: args.latency_ms.0,
            latency_ms_max: args.latency_ms.1,
            loss_probability: 0.0,
            duplicate_probability: 0.0,
        },
    }
}

/// A storage holding `len` synced entries of term 1 and `current_term` 1, as a node that took
/// part in an earlier term would have.
fn prefilled(len: LogIndex) -> MemStorage {
    let mut storage = MemStorage::new();
    let command = "add 1".parse().expect("valid command");
    let entries: Vec<Entry> = (1..=len)
        .map(|index| Entry {
            index,
            term: 1,
            data: EntryData::Request {
                command,
                client: None,
            },
        })
        .collect();
    let hard_state = HardState {
        current_term: 1,
        voted_for: None,
    };
    storage
        .set_hard_state(hard_state)
        .and_then(|_| storage.append(&entries))
        .and_then(|_| storage.sync())
        .expect("MemStorage never fails");
    storage
}

/// Process every queued item up to `time_ms`, draining events as a driver would.
fn advance_to(sim: &mut Sim, time_ms: u64) {
    while sim.next_event_time().is_some_and(|t| t <= time_ms) {
        sim.step();
        sim.take_events();
    }
    sim.run_until(time_ms);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// A new leader after this many ms.
    Elected(u64),
    /// Nobody elected within the cap.
    Capped,
}

#[derive(Clone, Debug)]
struct Trial {
    outcome: Outcome,
    /// Survivors that could collect three votes when the leader crashed.
    eligible: usize,
}

/// One trial (see the module docs). `Err` means the setup itself went wrong, which would be a bug
/// in the simulator or the core: it is reported, never silently dropped.
fn run_trial(seed: u64, range: (u64, u64), args: &Args) -> Result<Trial, String> {
    let config = sim_config(seed, range, args);
    let hb = config.timing.heartbeat_interval_ms;
    let mut rng = Rng::new(seed ^ 0xF16_0016_F16F_0016);
    let lagging_a = rng.range_inclusive(1, 5);
    let lagging_b = (lagging_a + rng.range_inclusive(1, 4) - 1) % 5 + 1;
    let lagging = [lagging_a, lagging_b];
    let lengths = [rng.range_inclusive(20, 40), rng.range_inclusive(0, 19)];
    let mut sim = Sim::with_storage(config, |id| {
        if id == lagging_a {
            prefilled(lengths[0])
        } else if id == lagging_b {
            prefilled(lengths[1])
        } else {
            prefilled(CURRENT_LOG_LEN)
        }
    })
    .map_err(|e| format!("bad configuration: {e}"))?;
    // 1: the lagging nodes sit out the first election, so that nobody repairs their logs and no
    // term of theirs outruns the leader's.
    for l in lagging {
        sim.crash(l).map_err(|e| e.to_string())?;
    }
    // Start the first election at once on a current node: with identical timeouts (150–150) the
    // nodes' first timers would otherwise fire in lockstep forever and never elect anyone.
    let first = (1..=5)
        .filter(|id| !lagging.contains(id))
        .nth(rng.range_inclusive(0, 2) as usize)
        .expect("three current nodes");
    sim.force_timeout(first).map_err(|e| e.to_string())?;

    // Until the crash, wait for a leader that has committed its no-op and that every survivor
    // follows in its term; if the leadership changes during the warm-up (possible with the
    // tightest timeouts), wait for the next one.
    let mut lagging_started = false;
    let leader = loop {
        let leader = loop {
            if let Some(l) = sim.leader() {
                let raft = sim.node(l).expect("a leader is up");
                if raft.commit_index() == raft.log().last_index() {
                    break l;
                }
            }
            match sim.next_event_time() {
                Some(t) if t <= SETUP_CAP_MS => {
                    sim.step();
                    sim.take_events();
                }
                _ => return Err(format!("seed {seed}: no leader within {SETUP_CAP_MS} ms")),
            }
        };
        if lagging.contains(&leader) {
            return Err(format!(
                "seed {seed}: S{leader} became leader with a stale log (election restriction)"
            ));
        }
        // 2: the lagging nodes come back with every link *from* them cut: they hear the leader
        // (its heartbeats reset their timers as everyone else's) but nothing they send arrives,
        // so no leader learns that their logs need repair.
        if !lagging_started {
            for l in lagging {
                for other in (1..=5).filter(|o| *o != l) {
                    sim.cut(l, other).map_err(|e| e.to_string())?;
                }
                sim.restart(l).map_err(|e| e.to_string())?;
            }
            lagging_started = true;
        }
        let term = sim.node(leader).expect("up").current_term();
        let (_, max) = range;
        let warm_up_ms = max + rng.range_inclusive(0, max);
        let until = sim.now_ms() + warm_up_ms;
        advance_to(&mut sim, until);
        let settled = sim.leader() == Some(leader)
            && sim.node_ids().all(|id| {
                sim.node(id).is_some_and(|r| {
                    r.current_term() == term && (id == leader || r.leader_id() == Some(leader))
                })
            });
        if !settled || sim.now_ms() > SETUP_CAP_MS {
            if sim.now_ms() > SETUP_CAP_MS {
                return Err(format!(
                    "seed {seed}: the cluster did not settle within {SETUP_CAP_MS} ms"
                ));
            }
            continue;
        }
        // 3: the next regular heartbeat is the synchronized broadcast.
        let heartbeat_at = sim.node(leader).expect("up").next_deadline_ms();
        advance_to(&mut sim, heartbeat_at);
        let crash_at = heartbeat_at + rng.range_inclusive(0, hb - 1);
        advance_to(&mut sim, crash_at);
        if sim.leader() == Some(leader)
            && sim.node(leader).is_some_and(|r| r.current_term() == term)
        {
            break leader;
        }
    };

    // Who could win: a survivor whose log is at least as up-to-date (§5.4.1) as those of two
    // other survivors gets three votes.
    let survivors: Vec<(u64, LogIndex)> = sim
        .node_ids()
        .filter(|id| *id != leader)
        .map(|id| {
            let log = sim.node(id).expect("survivors are up").log();
            (log.last_term(), log.last_index())
        })
        .collect();
    let eligible = survivors
        .iter()
        .enumerate()
        .filter(|(i, me)| {
            let voters = survivors
                .iter()
                .enumerate()
                .filter(|(j, other)| j != i && *me >= *other)
                .count();
            voters + 1 >= 3
        })
        .count();

    // 4: crash, heal, and time the election.
    let crashed_term = sim.node(leader).expect("up").current_term();
    let crash_ms = sim.now_ms();
    sim.crash(leader).map_err(|e| e.to_string())?;
    sim.heal();
    let deadline_ms = crash_ms + args.cap_ms;
    loop {
        if let Some(new_leader) = sim.leader() {
            let term = sim.node(new_leader).expect("up").current_term();
            if term <= crashed_term {
                return Err(format!(
                    "seed {seed}: S{new_leader} leads term {term}, not above the crashed \
                     leader's term {crashed_term}"
                ));
            }
            return Ok(Trial {
                outcome: Outcome::Elected(sim.now_ms() - crash_ms),
                eligible,
            });
        }
        match sim.next_event_time() {
            Some(t) if t <= deadline_ms => {
                sim.step();
                sim.take_events();
            }
            _ => {
                return Ok(Trial {
                    outcome: Outcome::Capped,
                    eligible,
                })
            }
        }
    }
}

/// The paper's broadcast time (§5.6: "the average time it takes a server to send RPCs in parallel
/// to every server in the cluster and receive their responses"), measured on a healthy cluster
/// with this network: for each heartbeat broadcast, the time until the last of the four replies
/// arrives. Heartbeat replies need no fsync, so they leave the follower the moment it receives
/// the heartbeat; that is how each reply is matched to its heartbeat.
fn measure_broadcast_ms(args: &Args) -> Vec<u64> {
    let config = sim_config(args.seed, (150, 300), args);
    let mut sim = Sim::new(config).expect("valid configuration");
    // (follower, arrival time) -> send times of heartbeats arriving then.
    let mut arriving: BTreeMap<(NodeId, u64), VecDeque<u64>> = BTreeMap::new();
    // (leader, send time) -> round trips of that broadcast.
    let mut round_trips: BTreeMap<(NodeId, u64), Vec<u64>> = BTreeMap::new();
    while sim
        .next_event_time()
        .is_some_and(|t| t <= args.calibration_ms)
    {
        sim.step();
        for event in sim.take_events() {
            let Event::MessageSent { message } = event.event else {
                continue;
            };
            match &message.message.body {
                MessageBody::AppendEntries(ae) if ae.entries.is_empty() => {
                    arriving
                        .entry((message.to, message.deliver_at_ms))
                        .or_default()
                        .push_back(message.sent_at_ms);
                }
                MessageBody::AppendEntriesResponse(_) => {
                    let sent = arriving
                        .get_mut(&(message.from, message.sent_at_ms))
                        .and_then(|q| q.pop_front());
                    if let Some(sent_at_ms) = sent {
                        round_trips
                            .entry((message.to, sent_at_ms))
                            .or_default()
                            .push(message.deliver_at_ms - sent_at_ms);
                    }
                }
                _ => {}
            }
        }
    }
    round_trips
        .into_values()
        .filter(|rtts| rtts.len() == 4)
        .map(|rtts| rtts.into_iter().max().expect("four"))
        .collect()
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p` of all values
/// at or below it.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
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
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("figure16: {e}\n(run with --help for usage)");
            return ExitCode::from(2);
        }
    };
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
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
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
        let svg = chart(&results, &args);
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

// ----- The chart -----

const COLORS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];
const WIDTH: f64 = 1000.0;
const PANEL_HEIGHT: f64 = 360.0;
const PLOT_LEFT: f64 = 70.0;
const PLOT_RIGHT: f64 = 720.0;
const PLOT_TOP: f64 = 40.0;
const PLOT_BOTTOM: f64 = 300.0;

#[derive(Clone, Copy)]
enum Axis {
    /// Decades from 10^lo to 10^hi ms.
    Log { lo: i32, hi: i32 },
    /// 0 to `hi` ms.
    Linear { hi: u64 },
}

impl Axis {
    fn x(&self, ms: f64) -> f64 {
        let frac = match *self {
            Axis::Log { lo, hi } => (ms.max(1.0).log10() - f64::from(lo)) / f64::from(hi - lo),
            Axis::Linear { hi } => ms / hi as f64,
        };
        PLOT_LEFT + frac.clamp(0.0, 1.0) * (PLOT_RIGHT - PLOT_LEFT)
    }
}

fn y(frac: f64) -> f64 {
    PLOT_BOTTOM - frac * (PLOT_BOTTOM - PLOT_TOP)
}

fn panel(
    out: &mut String,
    offset_y: f64,
    title: &str,
    series: &[(&RangeResult, &str)],
    axis: Axis,
    cap_ms: u64,
) {
    out.push_str(&format!(
        "<g transform=\"translate(0,{offset_y})\">\n<text x=\"{}\" y=\"24\" class=\"title\">{title}</text>\n",
        PLOT_LEFT
    ));
    // Grid and y axis: cumulative percent.
    for pct in (0..=100).step_by(20) {
        let yy = y(f64::from(pct) / 100.0);
        out.push_str(&format!(
            "<line x1=\"{PLOT_LEFT}\" y1=\"{yy}\" x2=\"{PLOT_RIGHT}\" y2=\"{yy}\" class=\"grid\"/>\n\
             <text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{pct}%</text>\n",
            PLOT_LEFT - 6.0,
            yy + 4.0
        ));
    }
    // X ticks.
    let mut ticks: Vec<(f64, String, bool)> = Vec::new();
    match axis {
        Axis::Log { lo, hi } => {
            for decade in lo..=hi {
                let base = 10f64.powi(decade);
                let label = if base >= 1000.0 {
                    format!("{} s", base / 1000.0)
                } else {
                    format!("{base} ms")
                };
                ticks.push((base, label, true));
                if decade < hi {
                    for m in 2..=9 {
                        ticks.push((base * f64::from(m), String::new(), false));
                    }
                }
            }
        }
        Axis::Linear { hi } => {
            let step = if hi <= 400 { 50 } else { 100 };
            for ms in (0..=hi).step_by(step) {
                ticks.push((ms as f64, format!("{ms}"), true));
            }
        }
    }
    for (ms, label, major) in ticks {
        let xx = axis.x(ms);
        let class = if major { "grid" } else { "minor" };
        out.push_str(&format!(
            "<line x1=\"{xx:.1}\" y1=\"{PLOT_TOP}\" x2=\"{xx:.1}\" y2=\"{PLOT_BOTTOM}\" class=\"{class}\"/>\n"
        ));
        if !label.is_empty() {
            out.push_str(&format!(
                "<text x=\"{xx:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{label}</text>\n",
                PLOT_BOTTOM + 16.0
            ));
        }
    }
    out.push_str(&format!(
        "<rect x=\"{PLOT_LEFT}\" y=\"{PLOT_TOP}\" width=\"{}\" height=\"{}\" class=\"frame\"/>\n\
         <text x=\"{}\" y=\"{}\" class=\"label\" text-anchor=\"middle\">time without leader ({})</text>\n\
         <text transform=\"translate(18,{}) rotate(-90)\" class=\"label\" text-anchor=\"middle\">cumulative percent of trials</text>\n",
        PLOT_RIGHT - PLOT_LEFT,
        PLOT_BOTTOM - PLOT_TOP,
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        PLOT_BOTTOM + 40.0,
        match axis {
            Axis::Log { .. } => "log scale",
            Axis::Linear { .. } => "ms",
        },
        (PLOT_TOP + PLOT_BOTTOM) / 2.0
    ));
    // Where trials were given up: nothing right of this line is a measurement.
    if let Axis::Log { .. } = axis {
        if series.iter().any(|(r, _)| r.capped > 0) {
            let xx = axis.x(cap_ms as f64);
            out.push_str(&format!(
                "<line x1=\"{xx:.1}\" y1=\"{PLOT_TOP}\" x2=\"{xx:.1}\" y2=\"{PLOT_BOTTOM}\" \
                 class=\"cap\"/>\n<text x=\"{:.1}\" y=\"{}\" class=\"tick\" \
                 text-anchor=\"end\">cap</text>\n",
                xx - 4.0,
                PLOT_BOTTOM - 8.0
            ));
        }
    }
    // The CDFs: a step up at every distinct time; capped trials never arrive, so a line with
    // capped trials ends below 100%.
    for (index, (r, color)) in series.iter().enumerate() {
        let total = r.trials().max(1) as f64;
        let mut points = vec![(axis.x(0.0), y(0.0))];
        let mut done = 0usize;
        let mut i = 0;
        while i < r.elected_ms.len() {
            let v = r.elected_ms[i];
            let before = done as f64 / total;
            while i < r.elected_ms.len() && r.elected_ms[i] == v {
                i += 1;
                done += 1;
            }
            let xx = axis.x(v as f64);
            points.push((xx, y(before)));
            points.push((xx, y(done as f64 / total)));
        }
        points.push((PLOT_RIGHT, y(done as f64 / total)));
        let path: Vec<String> = points
            .iter()
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect();
        out.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>\n",
            path.join(" ")
        ));
        // Legend.
        let ly = PLOT_TOP + 14.0 + index as f64 * 22.0;
        let note = match r.capped {
            0 => String::new(),
            c if c == r.trials() => format!(" (all capped at {} s)", cap_ms / 1000),
            c => format!(" ({c} capped)"),
        };
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"3\"/>\n\
             <text x=\"{}\" y=\"{}\" class=\"legend\">{}{note}</text>\n",
            PLOT_RIGHT + 14.0,
            PLOT_RIGHT + 38.0,
            PLOT_RIGHT + 44.0,
            ly + 4.0,
            r.label()
        ));
    }
    out.push_str("</g>\n");
}

/// The two panels of Figure 16 as one SVG: top, the 150–X ranges on a log time axis; bottom, the
/// scaled ranges (12–24 … 150–300) on a linear axis.
fn chart(results: &[RangeResult], args: &Args) -> String {
    let color_of = |range: (u64, u64)| {
        let i = PAPER_RANGES
            .iter()
            .position(|r| *r == range)
            .unwrap_or(results.iter().position(|r| r.range == range).unwrap_or(0));
        COLORS[i % COLORS.len()]
    };
    let top: Vec<(&RangeResult, &str)> = results
        .iter()
        .filter(|r| r.range.0 == 150)
        .map(|r| (r, color_of(r.range)))
        .collect();
    // The paper's order in the bottom panel: the scaled ranges, then 150–300 for reference.
    let mut bottom: Vec<(&RangeResult, &str)> = results
        .iter()
        .filter(|r| r.range.0 != 150)
        .map(|r| (r, color_of(r.range)))
        .collect();
    bottom.extend(
        results
            .iter()
            .filter(|r| r.range == (150, 300))
            .map(|r| (r, color_of(r.range))),
    );
    let max_of = |series: &[(&RangeResult, &str)]| {
        series
            .iter()
            .filter_map(|(r, _)| r.elected_ms.last().copied())
            .max()
            .unwrap_or(1)
    };
    let min_of = |series: &[(&RangeResult, &str)]| {
        series
            .iter()
            .filter_map(|(r, _)| r.elected_ms.first().copied())
            .min()
            .unwrap_or(100)
    };
    let top_axis = Axis::Log {
        lo: (min_of(&top).max(1) as f64).log10().floor() as i32,
        hi: (max_of(&top).max(args.cap_ms) as f64).log10().ceil() as i32,
    };
    let bottom_axis = Axis::Linear {
        hi: max_of(&bottom).div_ceil(100).max(1) * 100,
    };
    let height = PANEL_HEIGHT * 2.0 + 60.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"Helvetica, Arial, sans-serif\">\n\
         <style>\n\
         .title {{ font-size: 15px; font-weight: bold; }}\n\
         .label {{ font-size: 13px; }}\n\
         .tick {{ font-size: 11px; fill: #333; }}\n\
         .legend {{ font-size: 12px; }}\n\
         .grid {{ stroke: #ddd; stroke-width: 1; }}\n\
         .minor {{ stroke: #f0f0f0; stroke-width: 1; }}\n\
         .frame {{ fill: none; stroke: #333; stroke-width: 1; }}\n\
         .note {{ font-size: 11px; fill: #555; }}\n\
         .cap {{ stroke: #555; stroke-width: 1; stroke-dasharray: 4 3; }}\n\
         </style>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    if !top.is_empty() {
        panel(
            &mut out,
            0.0,
            "Varying the randomness of the election timeout (150–X ms)",
            &top,
            top_axis,
            args.cap_ms,
        );
    }
    if !bottom.is_empty() {
        panel(
            &mut out,
            PANEL_HEIGHT,
            "Scaling the minimum election timeout",
            &bottom,
            bottom_axis,
            args.cap_ms,
        );
    }
    let notes = [
        format!(
            "logscope simulator: 5 nodes, {} trials per line (trial i: seed {}+i), one-way latency \
             {}–{} ms, fsync {} ms, heartbeat = min/2.",
            args.trials, args.seed, args.latency_ms.0, args.latency_ms.1, args.fsync_ms
        ),
        "Two of the four survivors have stale logs and cannot win; the leader is crashed at a \
         random moment of its heartbeat interval."
            .to_string(),
        "Command: cargo run --release -p logscope-shared --bin figure16 (see docs/figure16.md)"
            .to_string(),
    ];
    for (i, note) in notes.iter().enumerate() {
        out.push_str(&format!(
            "<text x=\"{PLOT_LEFT}\" y=\"{}\" class=\"note\">{note}</text>\n",
            PANEL_HEIGHT * 2.0 + 20.0 + 15.0 * i as f64
        ));
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse_args(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_ranges_and_refuses_bad_ones() {
        let a = args(&["--range", "12-24", "--range", "150-300", "--trials", "3"])
            .unwrap()
            .unwrap();
        assert_eq!(a.ranges, vec![(12, 24), (150, 300)]);
        assert_eq!(a.trials, 3);
        assert_eq!(args(&[]).unwrap().unwrap().ranges.len(), 10);
        assert!(args(&["--range", "300-150"]).unwrap_err().contains("MIN"));
        assert!(args(&["--range", "150"]).unwrap_err().contains("MIN-MAX"));
        assert!(args(&["--range", "1-5"]).unwrap_err().contains("between 2"));
        assert!(args(&["--trials", "0"]).is_err());
        assert!(args(&["--svg", "x.svg", "--no-svg"]).is_err());
        assert!(args(&["--quick"]).unwrap().unwrap().svg.is_none());
        assert!(args(&["--wat"]).unwrap_err().contains("unknown"));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&v, 0.5), 500);
        assert_eq!(percentile(&v, 0.95), 950);
        assert_eq!(percentile(&v, 1.0), 1000);
        assert_eq!(percentile(&[7], 0.95), 7);
    }

    #[test]
    fn a_trial_elects_a_new_leader_with_two_ineligible_survivors() {
        let a = args(&["--quick"]).unwrap().unwrap();
        for seed in 1..=5 {
            let t = run_trial(seed, (150, 300), &a).expect("setup works");
            let Outcome::Elected(ms) = t.outcome else {
                panic!("seed {seed}: no leader within the cap");
            };
            // The crash falls within a heartbeat interval (75 ms) after a heartbeat that reset
            // every timer, and no timeout is shorter than 150 ms.
            assert!(ms >= 150 - 75, "seed {seed}: {ms} ms");
            assert!(ms < 5_000, "seed {seed}: {ms} ms");
            assert_eq!(t.eligible, 2, "seed {seed}");
        }
        // Deterministic: the same seed gives the same time.
        let once = run_trial(3, (150, 155), &a).unwrap().outcome;
        assert_eq!(run_trial(3, (150, 155), &a).unwrap().outcome, once);
    }

    #[test]
    fn the_chart_is_well_formed() {
        let a = args(&["--quick", "--range", "150-155", "--range", "12-24"])
            .unwrap()
            .unwrap();
        let r = |range, elected_ms: Vec<u64>, capped| RangeResult {
            range,
            elected_ms,
            capped,
            setup_errors: Vec::new(),
            eligible_total: 0,
            wall_s: 0.0,
        };
        let svg = chart(
            &[
                r((150, 155), vec![100, 200, 200], 1),
                r((12, 24), vec![30, 40], 0),
            ],
            &a,
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("150–155 ms (1 capped)"));
        assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
    }
}
