//! Limits that keep one client from hurting the others: size caps, timeouts, token-bucket rate
//! limits per WebSocket connection and per IP address for commands, and caps on connections and
//! waiting requests, global and per address. Owns the numbers, the buckets and the counters;
//! must not know about routes or messages.
//!
//! Reads (the stream, `GET`s) are never limited per address: a class behind one NAT shares one
//! address. Commands (writes) are, across all of an address's connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every limit the server enforces. The defaults suit a classroom on one machine.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest HTTP body and WebSocket message accepted (bigger ones get an error reply).
    pub body_bytes_max: usize,
    /// Largest WebSocket message read at all: above it the connection is closed (1009), since
    /// the server would have to buffer it first.
    pub ws_message_bytes_hard_max: usize,
    /// Bytes a WebSocket's write buffer may hold for a client that does not read (on top of
    /// what the kernel holds): past it the connection is closed.
    pub ws_write_buffer_bytes_max: usize,
    /// WebSocket connections served at once.
    pub ws_connections_max: usize,
    /// Appends per second per WebSocket connection, and per IP address over HTTP.
    pub appends_per_second: f64,
    /// Appends allowed in a burst.
    pub append_burst: f64,
    /// Requests of any kind per second per WebSocket connection, and per IP address over HTTP.
    pub requests_per_second: f64,
    /// Requests allowed in a burst.
    pub request_burst: f64,
    /// Commands one WebSocket connection may have waiting for replies.
    pub ws_in_flight_max: usize,
    /// IP addresses whose HTTP buckets are remembered.
    pub http_clients_max: usize,
    /// `POST /api/commands?wait=commit`: default and longest wall-clock wait.
    pub commit_wait_default: Duration,
    /// See `commit_wait_default`.
    pub commit_wait_max: Duration,
    /// Bytes of stream one WebSocket viewer may have queued; past it the backlog is dropped
    /// and the viewer gets a fresh snapshot instead.
    pub ws_backlog_bytes_max: usize,
    /// WebSocket connections from one IP address.
    pub ws_connections_per_ip_max: usize,
    /// Requests from one IP address (all its connections) waiting for the cluster at once.
    pub waiting_per_ip_max: usize,
    /// How often the server pings a WebSocket viewer.
    pub ws_ping_interval: Duration,
    /// A WebSocket that sends nothing (not even a pong) for this long is closed.
    pub ws_idle_timeout: Duration,
    /// A WebSocket whose socket takes nothing for this long is closed: the viewer stopped reading.
    pub ws_send_timeout: Duration,
    /// Time to receive a request's headers (also how long an idle keep-alive connection stays).
    pub header_timeout: Duration,
    /// Time to receive a request's body.
    pub body_timeout: Duration,
    /// Open connections at once; `None` derives it from the process's file-descriptor limit
    /// (`RLIMIT_NOFILE`) minus `fd_reserve`.
    pub connections_max: Option<usize>,
    /// File descriptors kept free for the nodes' files when deriving `connections_max`.
    pub fd_reserve: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes_max: 64 * 1024,
            ws_message_bytes_hard_max: 1024 * 1024,
            ws_write_buffer_bytes_max: 4 * 1024 * 1024,
            ws_connections_max: 2000,
            appends_per_second: 50.0,
            append_burst: 50.0,
            requests_per_second: 200.0,
            request_burst: 200.0,
            ws_in_flight_max: 64,
            http_clients_max: 10_000,
            commit_wait_default: Duration::from_secs(30),
            commit_wait_max: Duration::from_secs(120),
            ws_backlog_bytes_max: 1024 * 1024,
            ws_connections_per_ip_max: 256,
            waiting_per_ip_max: 1000,
            ws_ping_interval: Duration::from_secs(20),
            ws_idle_timeout: Duration::from_secs(60),
            ws_send_timeout: Duration::from_secs(20),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            connections_max: None,
            fd_reserve: 128,
        }
    }
}

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        TokenBucket {
            tokens: burst,
            rate,
            burst,
            last: now,
        }
    }

    /// Take one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.burst
    }
}

/// The two buckets of one client (a WebSocket connection or an IP address).
#[derive(Clone, Debug)]
pub struct ClientBuckets {
    requests: TokenBucket,
    appends: TokenBucket,
}

/// Which limit refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Too many requests of any kind.
    Requests,
    /// Too many appends.
    Appends,
    /// Too many different clients tracked (HTTP only).
    Clients,
}

impl Refused {
    /// The error a client gets.
    pub fn message(self, limits: &Limits, per: &str) -> String {
        match self {
            Refused::Requests => format!(
                "rate limit: at most {} requests per second per {per}; slow down and retry",
                limits.requests_per_second
            ),
            Refused::Appends => format!(
                "rate limit: at most {} appends per second per {per}; slow down and retry",
                limits.appends_per_second
            ),
            Refused::Clients => "the server is tracking too many clients; retry shortly".into(),
        }
    }
}

impl ClientBuckets {
    /// Full buckets.
    pub fn new(limits: &Limits, now: Instant) -> Self {
        ClientBuckets {
            requests: TokenBucket::new(limits.requests_per_second, limits.request_burst, now),
            appends: TokenBucket::new(limits.appends_per_second, limits.append_burst, now),
        }
    }

    /// Admit one request (and count it as an append when `append`).
    pub fn admit(&mut self, append: bool, now: Instant) -> Result<(), Refused> {
        if !self.requests.try_take(now) {
            return Err(Refused::Requests);
        }
        if append && !self.appends.try_take(now) {
            return Err(Refused::Appends);
        }
        Ok(())
    }
}

/// Buckets per IP address for the HTTP API.
#[derive(Debug)]
pub struct PerIp {
    limits: Limits,
    clients: Mutex<HashMap<IpAddr, ClientBuckets>>,
}

impl PerIp {
    /// No client seen yet.
    pub fn new(limits: Limits) -> Self {
        PerIp {
            limits,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Admit one request from `ip`.
    pub fn admit(&self, ip: IpAddr, append: bool) -> Result<(), Refused> {
        let now = Instant::now();
        // A poisoned lock only means another request panicked mid-update of plain numbers.
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if !clients.contains_key(&ip) && clients.len() >= self.limits.http_clients_max {
            // Forget clients whose buckets refilled: they are idle, and a new full bucket is
            // the same as the old one.
            clients.retain(|_, b| !(b.requests.is_full(now) && b.appends.is_full(now)));
            if clients.len() >= self.limits.http_clients_max {
                return Err(Refused::Clients);
            }
        }
        clients
            .entry(ip)
            .or_insert_with(|| ClientBuckets::new(&self.limits, now))
            .admit(append, now)
    }
}

/// How many things each IP address holds (WebSocket slots, waiting requests), capped per address.
#[derive(Debug)]
pub struct PerIpCount {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One unit held by an address; released when dropped.
#[derive(Debug)]
pub struct Held {
    owner: Arc<PerIpCount>,
    ip: IpAddr,
}

impl PerIpCount {
    /// At most `max` per address.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(PerIpCount {
            max,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// Take one unit for `ip`, unless it already holds `max`.
    pub fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<Held> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Held {
            owner: self.clone(),
            ip,
        })
    }

    /// Units `ip` holds now.
    #[cfg(test)]
    pub fn held_by(&self, ip: IpAddr) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            // Forget idle addresses, so the table stays as small as the live clients.
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 3.0, t0);
        assert!(b.try_take(t0) && b.try_take(t0) && b.try_take(t0));
        assert!(!b.try_take(t0), "the burst is spent");
        assert!(!b.try_take(t0 + Duration::from_millis(50)), "half a token");
        assert!(
            b.try_take(t0 + Duration::from_millis(110)),
            "one token after 100 ms"
        );
        assert!(b.try_take(t0 + Duration::from_secs(10)));
        assert!(b.try_take(t0 + Duration::from_secs(10)));
        assert!(b.try_take(t0 + Duration::from_secs(10)));
        assert!(
            !b.try_take(t0 + Duration::from_secs(10)),
            "never more than the burst"
        );
    }

    #[test]
    fn appends_have_their_own_bucket() {
        let limits = Limits {
            append_burst: 2.0,
            appends_per_second: 1.0,
            ..Limits::default()
        };
        let now = Instant::now();
        let mut c = ClientBuckets::new(&limits, now);
        assert_eq!(c.admit(true, now), Ok(()));
        assert_eq!(c.admit(true, now), Ok(()));
        assert_eq!(c.admit(true, now), Err(Refused::Appends));
        assert_eq!(c.admit(false, now), Ok(()), "other commands still pass");
    }

    #[test]
    fn per_ip_tracking_is_bounded() {
        let limits = Limits {
            http_clients_max: 2,
            request_burst: 1.0,
            requests_per_second: 0.001,
            ..Limits::default()
        };
        let per_ip = PerIp::new(limits);
        let ip = |n: u8| IpAddr::from([10, 0, 0, n]);
        assert_eq!(per_ip.admit(ip(1), false), Ok(()));
        assert_eq!(per_ip.admit(ip(2), false), Ok(()));
        assert_eq!(per_ip.admit(ip(3), false), Err(Refused::Clients));
        assert_eq!(per_ip.admit(ip(1), false), Err(Refused::Requests));
    }

    #[test]
    fn per_ip_counts_are_capped_per_address_and_released_on_drop() {
        let counts = PerIpCount::new(2);
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        let first = counts.try_take(a).expect("one");
        let _second = counts.try_take(a).expect("two");
        assert!(counts.try_take(a).is_none(), "a is at its cap");
        assert!(counts.try_take(b).is_some(), "b has its own");
        drop(first);
        assert_eq!(counts.held_by(a), 1);
        assert!(counts.try_take(a).is_some());
    }
}
