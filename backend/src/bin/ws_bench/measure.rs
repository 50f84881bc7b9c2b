//! Readings from `/proc` (per-thread CPU, memory, load average, the open-files limit) and the
//! wall clock both processes share. Linux only; interprets nothing.

use std::collections::HashMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

/// CPU time (ns) per thread name.
pub type CpuSample = HashMap<String, u64>;

/// Sum the CPU time of every thread under `task_dir`, by thread name.
pub fn thread_cpu(task_dir: &Path) -> anyhow::Result<CpuSample> {
    let mut by_name = HashMap::new();
    let entries =
        std::fs::read_dir(task_dir).with_context(|| format!("reading {}", task_dir.display()))?;
    for entry in entries {
        let dir = entry?.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue; // the thread exited meanwhile
        };
        let ns = match std::fs::read_to_string(dir.join("schedstat")) {
            Ok(s) => s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            Err(_) => stat_cpu_ns(&dir).unwrap_or(0),
        };
        // Runtime worker threads may carry a suffix; group by the name we gave them.
        let name = comm
            .trim()
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        *by_name.entry(name.to_string()).or_insert(0) += ns;
    }
    Ok(by_name)
}

/// utime + stime from `stat`, in ns (at the usual 100 ticks per second).
fn stat_cpu_ns(dir: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // Fields after the parenthesised name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10_000_000)
}

pub fn memory_kib(field: &str) -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/self/status"))
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Each viewer needs a descriptor in each process: check the limit up front.
pub fn check_fd_limit(viewers: usize) -> anyhow::Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft: Option<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok());
    if let Some(soft) = soft {
        let needed = viewers as u64 + 256;
        if soft < needed {
            bail!(
                "{viewers} viewers need about {needed} open files but the limit is {soft}: \
                 raise it (ulimit -n {needed}) or use fewer --viewers"
            );
        }
    }
    Ok(())
}
