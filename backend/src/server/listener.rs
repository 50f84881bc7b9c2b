//! The accept loop: one hyper HTTP/1.1 connection per TCP connection, with a deadline for each
//! request's headers (which also ends idle keep-alive connections and slowloris clients), and a
//! cap on open connections derived from the process's file-descriptor limit, so the nodes'
//! files always find a descriptor. Owns sockets until hyper takes them; must not know routes.
//!
//! A connection's slot lives in its socket object ([`Counted`]), so a WebSocket upgraded out of
//! hyper's hands keeps holding it until the socket is closed. An accept that fails (e.g.
//! `EMFILE`) is logged and retried after a short back-off; it never stops the server.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// File descriptors this process may open: the soft `RLIMIT_NOFILE`, raised to the hard limit
/// first when that is allowed (capped at 65,536). `None` when it cannot be read.
pub(crate) fn fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            let wanted = limit.rlim_max.min(65_536);
            if limit.rlim_cur < wanted {
                let raised = libc::rlimit {
                    rlim_cur: wanted,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit.rlim_cur = wanted;
                }
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// Open connections allowed: `configured`, or the descriptor limit minus `reserve` (at least 16).
pub(crate) fn connections_max(configured: Option<usize>, reserve: usize) -> usize {
    if let Some(n) = configured {
        return n.max(1);
    }
    match fd_limit() {
        Some(limit) => (limit as usize).saturating_sub(reserve).max(16),
        None => 1024usize.saturating_sub(reserve).max(16),
    }
}

/// Accept and serve until `shutdown`, then wait for open HTTP connections to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    connections_max: usize,
    header_timeout: Duration,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(connections_max));
    // HTTP/1.1 only (what browsers speak to a plain-http server). hyper's own builder, not the
    // version-sniffing one, so the header deadline runs from the first moment, before any byte.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    // Every connection task holds a clone; `recv` returns `None` once all have finished.
    let (open_tx, mut open_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut backoff = Duration::from_millis(10);
    loop {
        // Wait for a free slot before accepting: when full, new clients wait in the kernel's
        // backlog instead of taking descriptors the nodes need.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = shutdown.cancelled() => break,
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.cancelled() => break,
        };
        let (stream, addr) = match accepted {
            Ok(a) => {
                backoff = Duration::from_millis(10);
                a
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // EMFILE/ENFILE/ENOBUFS: wait for descriptors to come back, then try again.
                tracing::warn!(error = %e, ?backoff, "accept failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {},
                    _ = shutdown.cancelled() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        limit_send_buffer(&stream);
        let io = TokioIo::new(Counted {
            stream: Some(stream),
            slot: Some(permit),
        });
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(addr));
            let mut app = app.clone();
            tower_service::Service::call(&mut app, request)
        });
        let mut connection = builder.serve_connection(io, service).with_upgrades();
        let (open, shutdown) = (open_tx.clone(), shutdown.clone());
        tokio::spawn(async move {
            let result = tokio::select! {
                r = &mut connection => r,
                _ = shutdown.cancelled() => {
                    // Finish the request in progress, then close (idle ones close at once).
                    Pin::new(&mut connection).graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%addr, error = %e, "connection ended with an error");
            }
            drop(open);
        });
    }
    drop(listener);
    drop(open_tx);
    let _ = open_rx.recv().await;
    Ok(())
}

/// Bytes the kernel may hold for one client before a write waits (it doubles the number). Far
/// below Linux's autotuned maximum (4 MiB), so what a slow viewer has not read yet waits in the
/// server's own outbox, where its replies can overtake it, rather than in the kernel, where
/// nothing can; still above a LAN's bandwidth-delay product, so fast viewers are not slowed.
const SEND_BUFFER_BYTES: libc::c_int = 256 * 1024;

fn limit_send_buffer(stream: &TcpStream) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live local.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                (&SEND_BUFFER_BYTES as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A socket that holds one connection slot until it is closed. Closing is "lingering": the
/// write side is shut first and what the client still sends is read and dropped (for at most
/// [`LINGER`]), because closing a socket with unread input makes the kernel send a reset, and
/// the client would lose what it had not read yet (e.g. a 1009 close frame after an oversized
/// message whose remaining bytes the WebSocket layer never read).
struct Counted {
    stream: Option<TcpStream>,
    slot: Option<OwnedSemaphorePermit>,
}

/// How long a closing socket is drained, and how many bytes at most.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 4 * 1024 * 1024;

impl Counted {
    fn stream(&mut self) -> &mut TcpStream {
        self.stream.as_mut().expect("taken only in drop")
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let (Some(mut stream), slot) = (self.stream.take(), self.slot.take()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = tokio::time::timeout(LINGER, async {
                let _ = stream.shutdown().await;
                let mut buf = [0u8; 8192];
                let mut drained = 0;
                while drained < LINGER_BYTES {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => drained += n,
                    }
                }
            })
            .await;
            drop(stream);
            drop(slot);
        });
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(self.stream()).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.stream()).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.stream()).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.stream()).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.stream()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }
}
