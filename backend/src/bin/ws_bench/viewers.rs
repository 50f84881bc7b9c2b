//! The viewers' process (this binary again, with `--viewer-process`): N WebSocket viewers that
//! check every event arrives once and in order, then the latency and completeness summary.
//! Knows the wire format only as far as it needs to read sequence numbers.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::measure::{check_fd_limit, unix_ns};
use crate::report::ViewerSummary;

/// The last seq of the run once it is paused; viewers stop when they reach it.
static FINAL_SEQ: AtomicU64 = AtomicU64::new(u64::MAX);

/// What one viewer saw.
#[derive(Default)]
struct ViewerLog {
    /// (first seq, events in the message, arrival in unix ns).
    messages: Vec<(u64, u64, u64)>,
    last_seq: u64,
    gaps: u64,
    resyncs: u64,
    error: Option<String>,
}

pub fn viewer_process(url: &str, viewers: usize) -> anyhow::Result<()> {
    check_fd_limit(viewers)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-viewer")
        .enable_all()
        .build()?;
    let stop = CancellationToken::new();
    let connected = Arc::new(tokio::sync::Semaphore::new(0));
    let tasks: Vec<_> = (0..viewers)
        .map(|_| rt.spawn(viewer(url.to_string(), stop.clone(), connected.clone())))
        .collect();
    rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(100),
            connected.acquire_many(viewers as u32),
        )
        .await
        .context("viewers did not all connect")?
        .map(|p| p.forget())
        .context("semaphore closed")
    })?;
    println!("connected {viewers}");
    std::io::stdout().flush()?;

    // Wait for the backend's hand-over: the final seq, the window, and the broadcast times.
    let mut window = (0u64, u64::MAX);
    let mut sent: HashMap<u64, u64> = HashMap::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let parts: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|p| p.parse().ok())
            .collect();
        match (line.split_whitespace().next(), parts.as_slice()) {
            (Some("stop"), [seq, start, end]) => {
                FINAL_SEQ.store(*seq, Ordering::SeqCst);
                window = (*start, *end);
            }
            (Some("sent"), [seq, ns]) => {
                sent.insert(*seq, *ns);
            }
            (Some("end"), _) => break,
            _ => bail!("unexpected hand-over line: {line}"),
        }
    }
    let logs: Vec<ViewerLog> = rt.block_on(async {
        let backstop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            backstop.cancel();
        });
        let mut logs = Vec::new();
        for t in tasks {
            logs.push(t.await.unwrap_or_else(|e| ViewerLog {
                error: Some(format!("viewer task failed: {e}")),
                ..ViewerLog::default()
            }));
        }
        logs
    });
    let final_seq = FINAL_SEQ.load(Ordering::SeqCst);
    let mut s = ViewerSummary {
        connected: viewers,
        ..ViewerSummary::default()
    };
    let mut latencies_us = Vec::new();
    for log in &logs {
        for &(first_seq, n, at) in &log.messages {
            if at < window.0 || at > window.1 {
                continue;
            }
            s.events += n;
            s.messages += 1;
            if let Some(sent) = sent.get(&first_seq) {
                latencies_us.push(at.saturating_sub(*sent) / 1000);
            }
        }
        s.gaps += log.gaps;
        s.resyncs += log.resyncs;
        if let Some(e) = &log.error {
            if s.errors.len() < 10 {
                s.errors.push(e.clone());
            }
        }
        if log.gaps == 0 && log.resyncs == 0 && log.error.is_none() && log.last_seq >= final_seq {
            s.complete += 1;
        }
    }
    latencies_us.sort_unstable();
    let pct = |p: f64| -> Option<f64> {
        let last = latencies_us.len().checked_sub(1)?;
        let i = (last as f64 * p).round() as usize;
        Some(latencies_us[i] as f64 / 1000.0)
    };
    s.p50_ms = pct(0.5);
    s.p99_ms = pct(0.99);
    s.max_ms = pct(1.0);
    s.latency_samples = latencies_us.len();
    println!("result {}", serde_json::to_string(&s)?);
    Ok(())
}

/// Just enough of a `hello` / `snapshot` message to read its seq.
#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    snapshot: Option<SeqOnly>,
}

#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
}

async fn viewer(
    url: String,
    stop: CancellationToken,
    connected: Arc<tokio::sync::Semaphore>,
) -> ViewerLog {
    let mut log = ViewerLog::default();
    // A modest read buffer, like a browser's, rather than tungstenite's 128 KiB.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 * 1024);
    let ws = match tokio_tungstenite::connect_async_with_config(&url, Some(config), true).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            log.error = Some(format!("connect: {e}"));
            connected.add_permits(1);
            return log;
        }
    };
    let (_sink, mut stream) = ws.split();
    let mut announced = false;
    let mut expected = 0u64;
    loop {
        if log.last_seq >= FINAL_SEQ.load(Ordering::SeqCst) {
            return log;
        }
        let message = tokio::select! {
            _ = stop.cancelled() => return log,
            m = stream.next() => m,
        };
        let arrived = unix_ns();
        let text = match message {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None => {
                if !announced {
                    connected.add_permits(1);
                }
                log.error
                    .get_or_insert_with(|| "closed by the server".into());
                return log;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                if !announced {
                    connected.add_permits(1);
                }
                log.error = Some(format!("read: {e}"));
                return log;
            }
        };
        let text = text.as_str();
        if text.starts_with(r#"{"type":"events","#) {
            // The hot path reads only the sequence numbers: every `SimEvent` object starts with
            // `{"seq":` and nothing else in an events message has that key. A browser parses the
            // whole message, but here a full parse would make the viewers, which share the
            // machine with the backend, the bottleneck.
            let mut first = None;
            let mut count = 0u64;
            for (at, _) in text.match_indices(r#"{"seq":"#) {
                let digits = &text[at + 7..];
                let end = digits
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(digits.len());
                let Ok(seq) = digits[..end].parse::<u64>() else {
                    log.error = Some("an event without a numeric seq".into());
                    continue;
                };
                first.get_or_insert(seq);
                count += 1;
                if seq < expected {
                    continue; // covered by the snapshot, as the protocol says
                }
                if seq != expected {
                    log.gaps += 1;
                }
                expected = seq + 1;
                log.last_seq = seq;
            }
            if let Some(first) = first {
                log.messages.push((first, count, arrived));
            }
            continue;
        }
        let frame: Frame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                log.error = Some(format!("bad message: {e}"));
                continue;
            }
        };
        if frame.kind == "hello" || frame.kind == "snapshot" {
            let seq = frame.snapshot.map_or(0, |s| s.seq);
            if frame.kind == "hello" {
                if !announced {
                    announced = true;
                    connected.add_permits(1);
                }
            } else {
                log.resyncs += 1;
            }
            expected = seq + 1;
            log.last_seq = seq;
        }
    }
}
