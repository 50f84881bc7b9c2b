//! The client load: one extra WebSocket connection sending appends at a steady rate. Counts
//! accepted replies; measures nothing else.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// One connection sending `rate` appends per second; returns how many were accepted.
pub async fn load(url: String, rate: u64, stop: CancellationToken) -> u64 {
    if rate == 0 {
        return 0;
    }
    let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await else {
        eprintln!("ws-bench: the load connection failed");
        return 0;
    };
    let (mut sink, mut stream) = ws.split();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut id, mut ok) = (0u64, 0u64);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return ok,
            _ = tick.tick() => {
                id += 1;
                let request = format!(r#"{{"request_id":{id},"type":"append","command":"add 1"}}"#);
                if sink.send(Message::Text(request.into())).await.is_err() {
                    return ok;
                }
            }
            m = stream.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let t = t.as_str();
                    if t.starts_with(r#"{"type":"reply""#) && t.contains(r#""ok":true"#) {
                        ok += 1;
                    }
                }
                Some(Ok(_)) => {}
                _ => return ok,
            },
        }
    }
}
