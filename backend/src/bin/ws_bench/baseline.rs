//! `--baseline`: the least a WebSocket fan-out can do, to measure logscope's against. A plain
//! tokio-tungstenite server fed by the same driver: one task turns each driver broadcast message
//! into a tungstenite text once and re-broadcasts it on a tokio broadcast channel; each
//! connection subscribes, sends the `hello` snapshot, then forwards every message as it comes
//! (skipping batches the snapshot covers, as logscope does). No limits, no backlog budget, no
//! pings, no requests. It runs on its own two-thread runtime, like logscope's server here.

use std::net::SocketAddr;

use backend::driver::{DriverHandle, OutgoingKind};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

/// A broadcast message and its text, converted once for every viewer.
type Relayed = (OutgoingKind, Utf8Bytes);

/// Messages the relay holds for a slow viewer before it lags (then it sees a gap).
const RELAY_CAPACITY: usize = 4096;

/// Start the baseline server on loopback; returns its `ws://` URL. It stops when `stop` is.
pub fn start(
    rt: &tokio::runtime::Runtime,
    driver: DriverHandle,
    stop: CancellationToken,
) -> anyhow::Result<String> {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr: SocketAddr = listener.local_addr()?;
    let (relay, _) = broadcast::channel::<Relayed>(RELAY_CAPACITY);
    {
        let (relay, stop) = (relay.clone(), stop.clone());
        let mut from_driver = driver.subscribe();
        rt.spawn(async move {
            loop {
                let item = tokio::select! {
                    _ = stop.cancelled() => return,
                    item = from_driver.recv() => item,
                };
                match item {
                    Ok(out) => {
                        let text = Utf8Bytes::from(out.text.as_str());
                        let _ = relay.send((out.kind, text));
                    }
                    Err(RecvError::Lagged(n)) => {
                        eprintln!("ws-bench baseline: relay lagged by {n}")
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
    rt.spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => return,
                a = listener.accept() => a,
            };
            let Ok((socket, _)) = accepted else { continue };
            let (driver, stop, rx) = (driver.clone(), stop.clone(), relay.subscribe());
            tokio::spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = serve(socket, driver, rx) => {}
                }
            });
        }
    });
    Ok(format!("ws://{addr}/"))
}

/// One viewer: hello, then every broadcast message in order.
async fn serve(
    socket: tokio::net::TcpStream,
    driver: DriverHandle,
    mut rx: broadcast::Receiver<Relayed>,
) {
    let Ok(ws) = tokio_tungstenite::accept_async(socket).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    // Read (and drop) what the viewer sends, so its close is noticed.
    tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    // Subscribed (by the caller) before the snapshot is taken: nothing falls between the two.
    let Ok(snapshot) = driver.snapshot().await else {
        return;
    };
    let covered = snapshot.snapshot.seq;
    let hello = snapshot.hello_json().as_str().to_string();
    drop(snapshot);
    if sink.send(Message::text(hello)).await.is_err() {
        return;
    }
    loop {
        match rx.recv().await {
            Ok((kind, text)) => {
                if let OutgoingKind::Events { last_seq, .. } = kind {
                    if last_seq <= covered {
                        continue;
                    }
                }
                if sink.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
            // A naive server has no answer to a slow viewer: the viewer sees the gap.
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        }
    }
}
