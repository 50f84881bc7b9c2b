//! The `logscope` command: parses flags, sets up logging, starts the driver and the server, and
//! shuts them down gracefully on Ctrl-C or SIGTERM. Owns the command line; must not contain any
//! behaviour the integration tests could not reach through `backend::server::serve`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use backend::driver::{self, DriverConfig};
use backend::server::{self, Limits, PageFiles, ServerConfig};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};
use shared::protocol::Timing;
use shared::sim::{NetworkSettings, SimConfig};
use shared::LogModel;

/// logscope: a live Raft cluster (real files, simulated network and clock) shown in the browser.
///
/// Serves the built frontend, a WebSocket at /ws and a JSON API under /api/ (see docs/api.md) on
/// one port. The cluster lives in --data-dir: kill the process, start it again on the same
/// directory, and every node recovers from its files. Times are virtual milliseconds; --speed
/// says how many pass per wall-clock millisecond.
#[derive(Debug, Parser)]
#[command(
    name = "logscope",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,

    /// Address to listen on. The default serves this machine only; 0.0.0.0 serves everyone.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,

    /// Port to listen on (0 picks a free one; the URL is printed).
    #[arg(long, default_value_t = 7878)]
    port: u16,

    /// Number of Raft servers, 1 to 9 (used when the data directory holds no cluster yet).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=9))]
    nodes: u64,

    /// Seed of every random choice (election timeouts, latencies, losses). Default: drawn from
    /// the clock and printed, so a run can be repeated.
    #[arg(long)]
    seed: Option<u64>,

    /// Directory holding cluster.json and one node-<id>/ directory of files per server.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,

    /// Wipe the data directory's cluster and start a new one (otherwise a stored cluster is
    /// recovered and the cluster flags below are ignored).
    #[arg(long)]
    fresh: bool,

    /// Virtual ms per wall ms: 0.001 to 1 (real time), or 0 for as fast as possible.
    #[arg(long, default_value_t = driver::SPEED_DEFAULT, value_parser = parse_speed)]
    speed: f64,

    /// Start with virtual time paused.
    #[arg(long)]
    paused: bool,

    /// What entries hold: "command" (the request; every replica executes it) or "state" (the
    /// value the leader computed; replicas install it).
    #[arg(long, default_value = "command")]
    log_model: LogModel,

    /// Shortest election timeout (virtual ms).
    #[arg(long, default_value_t = Timing::default().election_timeout_ms_min)]
    election_timeout_ms_min: u64,

    /// Longest election timeout (virtual ms); each timeout is drawn from [min, max].
    #[arg(long, default_value_t = Timing::default().election_timeout_ms_max)]
    election_timeout_ms_max: u64,

    /// How often an idle leader sends AppendEntries (virtual ms).
    #[arg(long, default_value_t = Timing::default().heartbeat_interval_ms)]
    heartbeat_interval_ms: u64,

    /// How long an fsync takes in virtual time (the real fsync happens too).
    #[arg(long, default_value_t = Timing::default().fsync_ms)]
    fsync_ms: u64,

    /// Shortest one-way network latency (virtual ms).
    #[arg(long, default_value_t = NetworkSettings::default().latency_ms_min)]
    latency_ms_min: u64,

    /// Longest one-way network latency (virtual ms); each message's is drawn from [min, max].
    #[arg(long, default_value_t = NetworkSettings::default().latency_ms_max)]
    latency_ms_max: u64,

    /// The built frontend (the output of scripts/build-page.sh or `trunk build`). Default:
    /// dist, or, in a binary built with the page inside (scripts/build-binary.sh), that page.
    #[arg(long)]
    static_dir: Option<PathBuf>,

    /// Start from this trace (a file from `GET /api/trace` or the page's download): the cluster
    /// becomes that run, re-executed to its end, replacing what the data directory held.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,

    /// Open this lesson (docs/lessons.md) once the server is up: the cluster becomes the
    /// lesson's run, paused at its first step. A built-in lesson's name works too
    /// (`--lesson split-vote`).
    #[arg(long, value_name = "FILE")]
    lesson: Option<PathBuf>,

    /// The presenter's secret (letters, digits, '-' and '_'). Default: a random one, printed in
    /// the presenter URL and kept in the data directory's `presenter-token` file, so a restart
    /// keeps the presenter's link (delete the file for a new one). Needed for every command when
    /// --bind is not a loopback address, or whenever --token is given.
    #[arg(long, value_parser = parse_token)]
    token: Option<String>,

    /// A host name the server answers to besides its IP addresses and localhost (repeatable),
    /// e.g. the machine's name on the classroom network. Other names are refused (403).
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_host: Vec<String>,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Re-execute a trace headless (in memory, no server), print a summary and exit non-zero if
    /// the safety checker finds a violation (with --check). See docs/trace.md.
    Replay {
        /// The trace file.
        file: PathBuf,
        /// Stop at this virtual time (ms) instead of the trace's end.
        #[arg(long)]
        until_ms: Option<u64>,
        /// Run the safety checker after every step.
        #[arg(long)]
        check: bool,
    },
}

fn parse_token(s: &str) -> Result<String, String> {
    if !server::is_token(s) {
        return Err("the token must be at least 8 letters, digits, '-' or '_'".into());
    }
    Ok(s.to_owned())
}

/// Flags that shape a new cluster: ignored (with a warning) when a stored cluster is recovered.
const CLUSTER_FLAGS: &[&str] = &[
    "nodes",
    "seed",
    "log_model",
    "election_timeout_ms_min",
    "election_timeout_ms_max",
    "heartbeat_interval_ms",
    "fsync_ms",
    "latency_ms_min",
    "latency_ms_max",
];

fn parse_speed(s: &str) -> Result<f64, String> {
    let speed: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    driver::check_speed(speed).map_err(|e| e.message)?;
    // -0 is 0 (and is shown as 0).
    Ok(if speed == 0.0 { 0.0 } else { speed })
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Some(Sub::Replay {
        file,
        until_ms,
        check,
    }) = &cli.command
    {
        return replay(file, *until_ms, *check);
    }
    let explicit: Vec<&str> = CLUSTER_FLAGS
        .iter()
        .copied()
        .filter(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .collect();

    // Logs go to stderr; stdout carries only the URL line, for scripts to read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("logscope-server")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("logscope: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, explicit)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logscope: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `logscope replay`: the summary on stdout; exit 1 on a violation, 2 when the trace is unusable.
fn replay(file: &std::path::Path, until_ms: Option<u64>, check: bool) -> ExitCode {
    match backend::replay::replay_file(file, until_ms, check) {
        Ok(outcome) => {
            println!("{}", outcome.summary);
            if !outcome.checked {
                println!("(safety checker not run: add --check)");
            }
            if outcome.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("logscope replay: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli, explicit: Vec<&str>) -> anyhow::Result<()> {
    let trace = match &cli.trace {
        Some(path) => Some(backend::replay::read_trace(path).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let seed = cli.seed.unwrap_or_else(clock_seed);
    let cluster = SimConfig {
        nodes: cli.nodes,
        seed,
        log_model: cli.log_model,
        timing: Timing {
            election_timeout_ms_min: cli.election_timeout_ms_min,
            election_timeout_ms_max: cli.election_timeout_ms_max,
            heartbeat_interval_ms: cli.heartbeat_interval_ms,
            fsync_ms: cli.fsync_ms,
            ..Timing::default()
        },
        network: NetworkSettings {
            latency_ms_min: cli.latency_ms_min,
            latency_ms_max: cli.latency_ms_max,
            ..NetworkSettings::default()
        },
        broken_rules: Default::default(),
    };
    let page = page_files(cli.static_dir.clone());
    let config = ServerConfig {
        bind: SocketAddr::new(cli.bind, cli.port),
        page: page.clone(),
        driver: DriverConfig {
            data_dir: cli.data_dir.clone(),
            fresh: cli.fresh,
            cluster,
            speed: cli.speed,
            paused: cli.paused,
            trace,
            ..DriverConfig::default()
        },
        limits: Limits::default(),
        token: cli.token.clone(),
        allowed_hosts: cli
            .allow_host
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
    };
    // Read and check the lesson before anything starts, so a bad file stops here with its line.
    let lesson = match &cli.lesson {
        Some(path) => Some(read_lesson(path)?),
        None => None,
    };
    let handle = server::serve(config).await?;
    if let Some((name, text)) = &lesson {
        handle
            .open_lesson(name, text)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the lesson {name}: {e}"))?;
        tracing::info!(lesson = %name, "opened the lesson, paused at its first step");
    }
    let info = handle.start_info();
    let c = &info.cluster;
    if info.recovered {
        tracing::info!(
            data_dir = %info.data_dir.display(),
            nodes = c.nodes,
            seed = c.seed,
            log_model = %c.log_model,
            "recovered the cluster stored in the data directory"
        );
        if !explicit.is_empty() {
            tracing::warn!(
                flags = ?explicit,
                "the data directory already holds a cluster, so these flags are ignored; \
                 start with --fresh to create a new cluster"
            );
        }
    } else {
        tracing::info!(
            data_dir = %info.data_dir.display(),
            nodes = c.nodes,
            seed = c.seed,
            log_model = %c.log_model,
            "started a new cluster (repeat it with --fresh --seed {})",
            c.seed
        );
    }
    for warning in c.warnings() {
        tracing::warn!("{warning}");
    }
    for (node, report) in &info.recovery {
        if !report.is_clean() {
            tracing::warn!(%node, ?report, "recovery repaired this node's files");
        }
    }
    for (node, error) in &info.failed_nodes {
        tracing::error!(%node, %error, "this node could not start from its files");
    }
    match &page {
        PageFiles::Embedded => tracing::info!("serving the page built into this binary"),
        PageFiles::Dir(static_dir) if !static_dir.join("index.html").is_file() => {
            tracing::warn!(
                static_dir = %static_dir.display(),
                "no built frontend here: run scripts/build-page.sh or `trunk build --release` (or scripts/run.sh); the API works anyway"
            );
        }
        PageFiles::Dir(_) => {}
    }
    let signal = shutdown_signal();
    let token = handle.shutdown_token();
    tokio::spawn(async move {
        signal.await;
        tracing::info!("shutting down");
        token.cancel();
    });
    let addr = handle.local_addr();
    println!("logscope listening on http://{addr}");
    if handle.token_required() {
        // Students need an address they can reach: the LAN address when bound to all.
        let viewers = backend::server::viewer_url(addr);
        println!(
            "presenter (keep this one to yourself): {viewers}?token={}",
            handle.token()
        );
        println!("viewers (share this one): {viewers}");
    }
    tracing::info!(
        connections_max = handle.connections_max(),
        token_required = handle.token_required(),
        "ready"
    );
    handle.wait().await?;
    Ok(())
}

/// A seed from the clock, for runs nobody asked to repeat (it is printed, so they can be).
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64 % 1_000_000)
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is *called*, not when the
/// future is first polled, so a signal sent right after the URL is printed is not missed.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let (mut interrupt, mut terminate) = match (interrupt, terminate) {
                (Ok(i), Ok(t)) => (i, t),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(error = %e, "cannot listen for Ctrl-C / SIGTERM");
                    return std::future::pending().await;
                }
            };
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}

/// `--lesson`: a file, or the name of a built-in lesson. Checked here (parsed and staged), so a
/// mistake stops the server before it starts, naming the line.
fn read_lesson(path: &std::path::Path) -> anyhow::Result<(String, String)> {
    let name = path.to_string_lossy().to_string();
    let text = match shared::lesson::builtin(&name) {
        Some(text) if !path.exists() => text.to_string(),
        _ => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the lesson {name}: {e}"))?,
    };
    shared::lesson::parse(&text)
        .and_then(|l| shared::lesson::stage(&l))
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    Ok((name, text))
}

/// The page to serve: `--static-dir` when given; else the page built into this binary when it
/// has one (the `embed` feature), else `dist`.
fn page_files(static_dir: Option<PathBuf>) -> PageFiles {
    match static_dir {
        Some(dir) => PageFiles::Dir(dir),
        None if server::has_embedded_page() => PageFiles::Embedded,
        None => PageFiles::Dir(PathBuf::from("dist")),
    }
}
