//! The real `logscope` binary under a small file-descriptor limit (`RLIMIT_NOFILE` 160): a crowd
//! of idle connections must not use the descriptors its nodes need, so a node crashed and
//! restarted meanwhile opens its files again, and the server keeps accepting afterwards. Owns no
//! production code. Waits poll a condition with a deadline.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const DEADLINE: Duration = Duration::from_secs(30);
const NOFILE: libc::rlim_t = 160;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One request on a kept-alive connection; returns (status, JSON body).
fn request(stream: &mut TcpStream, method: &str, path: &str, body: &str) -> (u16, Value) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut status_line = String::new();
    let n = reader.read_line(&mut status_line).expect("status line");
    assert!(
        n > 0,
        "the server closed the connection instead of answering {method} {path}"
    );
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("header");
        assert!(n > 0, "the connection ended inside a response");
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().expect("a length");
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    (status, serde_json::from_slice(&body).expect("JSON"))
}

#[test]
fn idle_connections_cannot_starve_the_nodes_of_file_descriptors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_logscope"));
    command
        .args(["--port", "0", "--speed", "1", "--nodes", "3", "--seed", "3"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--static-dir")
        .arg(dir.path().join("no-frontend"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: only setrlimit, which is async-signal-safe, runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: NOFILE,
                rlim_max: NOFILE,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut server = Server(command.spawn().expect("start logscope"));
    let stdout = server.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the URL line");
    let addr = line
        .trim()
        .strip_prefix("logscope listening on http://")
        .expect("the URL")
        .to_string();

    // A kept-alive connection for the test's own requests, opened before the crowd.
    let mut control = TcpStream::connect(&addr).expect("connects");
    control.set_read_timeout(Some(DEADLINE)).unwrap();
    let deadline = Instant::now() + DEADLINE;
    let leader = loop {
        assert!(Instant::now() < deadline, "no leader");
        let (_, cluster) = request(&mut control, "GET", "/api/cluster", "");
        let leader = cluster["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["role"] == "leader" && n["up"] == true);
        if let Some(n) = leader {
            break n["id"].as_u64().unwrap();
        }
    };

    // As many idle connections as the process has descriptors (those the server does not
    // accept wait in the kernel's queue; the few that find it full are given up on).
    let socket_addr: std::net::SocketAddr = addr.parse().expect("an address");
    let crowd: Vec<TcpStream> = (0..NOFILE)
        .filter_map(|_| TcpStream::connect_timeout(&socket_addr, Duration::from_millis(200)).ok())
        .collect();
    assert!(
        crowd.len() as u64 >= NOFILE - 10,
        "only {} connected",
        crowd.len()
    );

    // The leader crashes and restarts: it must open its files again.
    let crash = json!({"type": "crash", "node": leader}).to_string();
    let (status, body) = request(&mut control, "POST", "/api/commands", &crash);
    assert_eq!(status, 200, "{body}");
    let restart = json!({"type": "restart", "node": leader}).to_string();
    let (status, body) = request(&mut control, "POST", "/api/commands", &restart);
    assert_eq!(status, 200, "{body}");
    let (_, cluster) = request(&mut control, "GET", "/api/cluster", "");
    let node = cluster["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == leader)
        .cloned()
        .unwrap();
    assert_eq!(node["up"], true, "the restarted node runs: {node}");
    let deadline = Instant::now() + DEADLINE;
    loop {
        assert!(Instant::now() < deadline, "no new leader after the restart");
        let append = json!({"type": "append", "command": "add 1"}).to_string();
        let (status, _) = request(&mut control, "POST", "/api/commands?wait=commit", &append);
        if status == 200 {
            break;
        }
    }

    // Once the crowd leaves, new connections are served again.
    drop(crowd);
    let mut fresh = TcpStream::connect(&addr).expect("connects");
    fresh.set_read_timeout(Some(DEADLINE)).unwrap();
    let (status, _) = request(&mut fresh, "GET", "/api/health", "");
    assert_eq!(status, 200);
    assert!(server.0.try_wait().unwrap().is_none(), "still running");
}
