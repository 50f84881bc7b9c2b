//! `edge-bench`: what slow WebSocket clients cost the server. Starts the real `logscope` binary
//! (the one built next to this one) on 127.0.0.1 with a temp data directory, then measures:
//!
//! * **Never-reading viewers**: N WebSocket clients that complete the handshake and then never
//!   read a byte, at a given speed. The server's peak `VmRSS` (sampled every 50 ms from
//!   `/proc/<pid>/status`) while they hang on for `--seconds`, and its `VmRSS` a few seconds
//!   after they have all closed (memory given back).
//! * **Reply latency of a slow reader**: one client that reads its socket at a capped rate
//!   (default 20 MB/s) sends a cheap command (`heal`) every 100 ms and times each reply.
//!
//! Usage: `cargo run --release -p logscope-backend --bin edge-bench -- [--viewers 1,20,100]
//! [--speeds 0,0.01] [--seconds 20] [--read-mb-per-s 20]`. Loopback only; stops by itself.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    viewers: Vec<usize>,
    speeds: Vec<f64>,
    seconds: u64,
    read_mb_per_s: f64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        viewers: vec![1, 20, 100],
        speeds: vec![0.0, 0.01],
        seconds: 20,
        read_mb_per_s: 20.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--viewers" => {
                args.viewers = value.split(',').map(str::parse).collect::<Result<_, _>>()?
            }
            "--speeds" => {
                args.speeds = value.split(',').map(str::parse).collect::<Result<_, _>>()?
            }
            "--seconds" => args.seconds = value.parse()?,
            "--read-mb-per-s" => args.read_mb_per_s = value.parse()?,
            _ => anyhow::bail!("unknown flag {flag}"),
        }
    }
    Ok(args)
}

/// The server under test, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    dir: std::path::PathBuf,
}

impl Server {
    fn start(speed: f64) -> anyhow::Result<Server> {
        static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let run = RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("edge-bench-{}-{run}", std::process::id()));
        let exe = std::env::current_exe()?.with_file_name("logscope");
        let mut child = Command::new(exe)
            .args(["--port", "0", "--nodes", "5", "--seed", "1", "--fresh"])
            .args(["--speed", &speed.to_string()])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--static-dir")
            .arg(dir.join("none"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("logscope listening on http://")
            .ok_or_else(|| anyhow::anyhow!("unexpected first line {line:?}"))?
            .to_string();
        Ok(Server { child, addr, dir })
    }

    fn kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(field)?
                    .trim_start_matches(':')
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// N viewers that never read, held for `seconds`; returns (rss before, peak, after they left).
async fn never_reading(
    speed: f64,
    viewers: usize,
    seconds: u64,
) -> anyhow::Result<(f64, f64, f64)> {
    let server = Server::start(speed)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = server.kib("VmRSS");
    let url = format!("ws://{}/ws", server.addr);
    let mut sockets = Vec::new();
    for _ in 0..viewers {
        let (ws, _) = tokio_tungstenite::connect_async(&url).await?;
        sockets.push(ws); // never polled again: nothing is read
    }
    let mut peak = 0;
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        peak = peak.max(server.kib("VmRSS"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(sockets);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = server.kib("VmRSS");
    Ok((mib(before), mib(peak), mib(after)))
}

/// A socket whose reads are capped at `bytes_per_s` (a slow network or a slow client).
struct Throttled {
    inner: TcpStream,
    bytes_per_s: f64,
    start: Instant,
    read: u64,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl AsyncRead for Throttled {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
            }
            let allowed_at =
                this.start + Duration::from_secs_f64(this.read as f64 / this.bytes_per_s);
            if allowed_at > Instant::now() {
                this.sleep = Some(Box::pin(tokio::time::sleep_until(allowed_at.into())));
                continue;
            }
            // At most 16 KiB per read, so the cap is smooth.
            let mut limited = buf.take(16 * 1024);
            let r = Pin::new(&mut this.inner).poll_read(cx, &mut limited);
            let n = limited.filled().len();
            if let Poll::Ready(Ok(())) = r {
                // SAFETY: `limited` wrote `n` initialised bytes into `buf`'s unfilled part.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                this.read += n as u64;
            }
            return r;
        }
    }
}

impl AsyncWrite for Throttled {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, b)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Reply latencies (ms, sorted) of a client reading at `mb_per_s` at speed 0.
async fn slow_reader(
    mb_per_s: f64,
    seconds: u64,
    rcvbuf_kib: Option<u32>,
) -> anyhow::Result<(Vec<f64>, u64, u64)> {
    let server = Server::start(0.0)?;
    // The client's own receive buffer: `None` leaves Linux's autotuning (up to several MB
    // queued in the client's kernel, which no server can overtake).
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Some(kib) = rcvbuf_kib {
        socket.set_recv_buffer_size(kib * 1024)?;
    }
    let stream = socket.connect(server.addr.parse()?).await?;
    let throttled = Throttled {
        inner: stream,
        bytes_per_s: mb_per_s * 1e6,
        start: Instant::now(),
        read: 0,
        sleep: None,
    };
    let url = format!("ws://{}/ws", server.addr);
    let (ws, _) = tokio_tungstenite::client_async(url, throttled).await?;
    let (mut write, mut read) = ws.split();
    let mut sent_at = std::collections::HashMap::new();
    let mut latencies = Vec::new();
    let (mut snapshots, mut bytes) = (0u64, 0u64);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut id = 0u64;
    while Instant::now() < end {
        tokio::select! {
            _ = tick.tick() => {
                id += 1;
                sent_at.insert(id, Instant::now());
                write.send(Message::Text(format!(r#"{{"request_id":{id},"type":"heal"}}"#).into())).await?;
            }
            m = read.next() => {
                let Some(Ok(Message::Text(text))) = m else { continue };
                bytes += text.len() as u64;
                if text.starts_with(r#"{"type":"snapshot""#) { snapshots += 1; }
                if let Some(rest) = text.strip_prefix(r#"{"type":"reply","request_id":"#) {
                    let n: u64 = rest.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("").parse().unwrap_or(0);
                    if let Some(t) = sent_at.remove(&n) {
                        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                }
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    Ok((latencies, snapshots, bytes))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    println!("| speed | never-reading viewers | RSS before (MiB) | peak RSS (MiB) | RSS 5 s after they left (MiB) |");
    println!("|---|---|---|---|---|");
    for &speed in &args.speeds {
        for &n in &args.viewers {
            let (before, peak, after) = never_reading(speed, n, args.seconds).await?;
            println!("| {speed} | {n} | {before:.1} | {peak:.1} | {after:.1} |");
        }
    }
    for rcvbuf in [None, Some(64)] {
        let (lat, snapshots, bytes) = slow_reader(args.read_mb_per_s, args.seconds, rcvbuf).await?;
        let buffer = rcvbuf.map_or("autotuned".to_string(), |k| format!("{k} KiB"));
        println!(
            "\nslow reader at {} MB/s (client receive buffer {buffer}), speed 0, {} s: {} replies, \
             p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} resync snapshots, {:.1} MB read",
            args.read_mb_per_s,
            args.seconds,
            lat.len(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.last().copied().unwrap_or(f64::NAN),
            snapshots,
            bytes as f64 / 1e6
        );
    }
    Ok(())
}
