//! `storage-bench`: how fast `FileStorage` makes entries durable on this machine's disk, next to
//! the raw fsync rate of the same disk measured in the same run. Owns only measurement and the
//! printed table (recorded in docs/bench-storage.md); must not be used as a test.
//!
//! Run: `cargo run -p logscope-backend --release --bin storage-bench -- [--quick] [--dir PATH]`
//!
//! The cases run interleaved, in rounds (case A for a slice, then B, …, then A again), so that a
//! burst of load from something else on the machine spreads over every case instead of skewing
//! the one that happened to be running.

use shared::Term;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use backend::storage::FileStorage;
use clap::Parser;
use shared::{Command, Entry, EntryData, LogIndex, Storage};

/// Measure durable append throughput, commit latency and the raw fsync rate.
#[derive(Parser, Debug)]
#[command(name = "storage-bench")]
struct Args {
    /// Short run (0.5 s per case instead of 4 s): numbers are rougher.
    #[arg(long)]
    quick: bool,
    /// Scratch directory, on the disk to measure (a tmpfs makes fsync free). The files the bench
    /// creates there are deleted at the end.
    #[arg(long, default_value = "target/storage-bench")]
    dir: PathBuf,
}

/// Stop a case after this many bytes, whatever the time budget (the no-fsync case on a fast disk
/// would otherwise write gigabytes).
const CASE_BYTES_MAX: u64 = 64 << 20;
/// Block written by the raw append loop: about one small log record.
const RAW_BLOCK_BYTES: usize = 128;
/// Block rewritten in place by the raw overwrite loop: one page.
const RAW_PAGE_BYTES: usize = 4096;
/// Each case's time budget is split into this many slices, run round-robin.
const ROUNDS: u32 = 8;
/// Durable batch sizes measured.
const BATCHES: [u64; 3] = [1, 8, 64];

/// One timed operation: write something (and usually fsync it); returns (entries, bytes) written.
type Op = Box<dyn FnMut() -> Result<(u64, u64)>>;

/// One measured case and its running totals.
struct Case {
    name: String,
    op: Op,
    /// Timed operations (one write + fsync, or one append batch + sync).
    ops: u64,
    entries: u64,
    bytes: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Case {
    fn new(name: impl Into<String>, op: Op) -> Case {
        Case {
            name: name.into(),
            op,
            ops: 0,
            entries: 0,
            bytes: 0,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
        }
    }

    /// Run the operation for `slice` (or until the byte cap is spent).
    fn run_slice(&mut self, slice: Duration) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < slice && self.bytes < CASE_BYTES_MAX {
            let t = Instant::now();
            let (entries, bytes) = (self.op)()?;
            self.latencies_us.push(t.elapsed().as_micros() as u64);
            self.ops += 1;
            self.entries += entries;
            self.bytes += bytes;
        }
        self.elapsed += start.elapsed();
        Ok(())
    }

    fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile; `latencies_us` must be sorted.
    fn percentile_us(&self, percent: usize) -> u64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0;
        }
        let rank = (n * percent).div_ceil(100).clamp(1, n);
        self.latencies_us[rank - 1]
    }

    fn max_us(&self) -> u64 {
        self.latencies_us.last().copied().unwrap_or(0)
    }
}

/// Raw disk: append a small block and fdatasync, the syscall pattern of a one-entry commit.
fn raw_append(dir: &Path) -> Result<Case> {
    let path = dir.join("raw-append");
    let mut file = File::create(&path).with_context(|| format!("create {}", path.display()))?;
    let block = [0x5a_u8; RAW_BLOCK_BYTES];
    Ok(Case::new(
        format!("raw: append {RAW_BLOCK_BYTES} B + fdatasync"),
        Box::new(move || {
            file.write_all(&block)?;
            file.sync_data()?;
            Ok((0, RAW_BLOCK_BYTES as u64))
        }),
    ))
}

/// Raw disk: rewrite one page in place and fdatasync (no size change, so no metadata to commit).
fn raw_overwrite(dir: &Path) -> Result<Case> {
    let path = dir.join("raw-overwrite");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("create {}", path.display()))?;
    let page = [0xa5_u8; RAW_PAGE_BYTES];
    file.write_all(&page)?;
    file.sync_all()?;
    Ok(Case::new(
        format!("raw: overwrite {} KiB + fdatasync", RAW_PAGE_BYTES / 1024),
        Box::new(move || {
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&page)?;
            file.sync_data()?;
            Ok((0, RAW_PAGE_BYTES as u64))
        }),
    ))
}

fn entry(index: LogIndex) -> Entry {
    Entry {
        index,
        term: Term(1),
        data: EntryData::Request {
            command: Command::Add((index.get() % 1000) as i64),
            client: None,
        },
    }
}

fn node_dir(dir: &Path, batch: u64, fsync: bool) -> PathBuf {
    let mode = if fsync { "sync" } else { "nosync" };
    dir.join(format!("node-batch-{batch}-{mode}"))
}

/// `FileStorage`: append a batch of `batch` entries, then `sync` (unless `fsync` is false).
fn file_storage(dir: &Path, batch: u64, fsync: bool) -> Result<Case> {
    let mut storage = FileStorage::open_fresh(node_dir(dir, batch, fsync))?;
    let name = if fsync {
        format!("FileStorage: append {batch} + sync")
    } else {
        format!("FileStorage: append {batch}, no sync")
    };
    let mut next: LogIndex = LogIndex(1);
    Ok(Case::new(
        name,
        Box::new(move || {
            let entries: Vec<Entry> = next.through(next + (batch - 1)).map(entry).collect();
            let before = storage.log_bytes();
            storage.append(&entries)?;
            if fsync {
                storage.sync()?;
            }
            next += batch;
            Ok((batch, storage.log_bytes() - before))
        }),
    ))
}

fn print_table(cases: &[Case]) {
    println!(
        "{:<34} {:>7} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "case", "ops", "ops/s", "entries/s", "MB/s", "p50 µs", "p99 µs", "max µs"
    );
    for case in cases {
        let entries_per_s = if case.entries == 0 {
            "-".to_string()
        } else {
            format!("{:.0}", case.per_second(case.entries))
        };
        println!(
            "{:<34} {:>7} {:>8.0} {:>10} {:>8.2} {:>8} {:>8} {:>8}",
            case.name,
            case.ops,
            case.per_second(case.ops),
            entries_per_s,
            case.per_second(case.bytes) / 1e6,
            case.percentile_us(50),
            case.percentile_us(99),
            case.max_us(),
        );
    }
}

fn cleanup(dir: &Path) -> Result<()> {
    for name in ["raw-append", "raw-overwrite"] {
        match fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    for fsync in [true, false] {
        for batch in BATCHES {
            let node = node_dir(dir, batch, fsync);
            FileStorage::wipe(&node)?;
            // Only succeeds when the directory is empty, which is the point.
            fs::remove_dir(&node).ok();
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let budget = if args.quick {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(4)
    };
    fs::create_dir_all(&args.dir).with_context(|| format!("create {}", args.dir.display()))?;
    let dir = args
        .dir
        .canonicalize()
        .with_context(|| format!("resolve {}", args.dir.display()))?;
    println!(
        "storage-bench: scratch dir {}, {:.1} s per case in {ROUNDS} interleaved rounds{}",
        dir.display(),
        budget.as_secs_f64(),
        if args.quick { " (--quick)" } else { "" }
    );

    let mut cases = vec![raw_append(&dir)?, raw_overwrite(&dir)?];
    for batch in BATCHES {
        cases.push(file_storage(&dir, batch, true)?);
    }
    cases.push(file_storage(&dir, 64, false)?);

    let slice = budget / ROUNDS;
    let result =
        (0..ROUNDS).try_for_each(|_| cases.iter_mut().try_for_each(|c| c.run_slice(slice)));
    // Close every file (dropping each op drops its handles) before deleting, and delete even if a
    // case failed.
    for case in &mut cases {
        case.op = Box::new(|| Ok((0, 0)));
        case.latencies_us.sort_unstable();
    }
    cleanup(&dir)?;
    result?;

    println!();
    print_table(&cases);
    let commit = &cases[2];
    println!();
    println!(
        "one-entry commit latency (append 1 + sync): p50 {} µs, p99 {} µs, max {} µs over {} commits",
        commit.percentile_us(50),
        commit.percentile_us(99),
        commit.max_us(),
        commit.ops
    );
    println!(
        "raw fsync rate (append {RAW_BLOCK_BYTES} B + fdatasync): {:.0} /s",
        cases[0].per_second(cases[0].ops)
    );
    println!("MB/s counts record bytes (8-byte header + JSON payload); 1 MB = 10^6 bytes");
    Ok(())
}
