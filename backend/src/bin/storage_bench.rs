//! `storage-bench`: how fast `FileStorage` makes entries durable on this machine's disk, next to
//! the raw fsync rate of the same disk measured in the same run. Owns only measurement and the
//! printed table (recorded in docs/bench-storage.md); must not be used as a test.
//!
//! Run: `cargo run -p logscope-backend --release --bin storage-bench -- [--quick] [--dir PATH]`

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
    /// Scratch directory, on the disk to measure (a tmpfs makes fsync free). Its bench files are
    /// deleted at the end.
    #[arg(long, default_value = "target/storage-bench")]
    dir: PathBuf,
}

/// Stop a case after this many bytes, whatever the time budget (a no-fsync case on a fast disk
/// would otherwise write gigabytes).
const CASE_BYTES_MAX: u64 = 64 << 20;
/// Block written by the raw fsync loops: about one small log record.
const RAW_BLOCK_BYTES: usize = 128;

/// One measured case.
struct Row {
    name: String,
    /// Timed operations (one write + fsync, or one append batch + sync).
    ops: u64,
    entries: u64,
    bytes: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Row {
    fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_us(&self, percent: usize) -> u64 {
        // `latencies_us` is sorted by `finish`; nearest-rank percentile.
        let n = self.latencies_us.len();
        if n == 0 {
            return 0;
        }
        let rank = (n * percent).div_ceil(100).clamp(1, n);
        self.latencies_us[rank - 1]
    }
}

/// Time `op` until the budget or the byte cap is spent. `op` returns (entries, bytes) it wrote.
fn run_case(
    name: impl Into<String>,
    budget: Duration,
    mut op: impl FnMut() -> Result<(u64, u64)>,
) -> Result<Row> {
    let mut row = Row {
        name: name.into(),
        ops: 0,
        entries: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    let start = Instant::now();
    while start.elapsed() < budget && row.bytes < CASE_BYTES_MAX {
        let t = Instant::now();
        let (entries, bytes) = op()?;
        row.latencies_us.push(t.elapsed().as_micros() as u64);
        row.ops += 1;
        row.entries += entries;
        row.bytes += bytes;
    }
    row.elapsed = start.elapsed();
    row.latencies_us.sort_unstable();
    Ok(row)
}

fn raw_append_fsync(dir: &Path, budget: Duration) -> Result<Row> {
    let path = dir.join("raw-append");
    let mut file = File::create(&path).with_context(|| format!("create {}", path.display()))?;
    let block = [0x5a_u8; RAW_BLOCK_BYTES];
    run_case(
        format!("raw: append {RAW_BLOCK_BYTES} B + fdatasync"),
        budget,
        || {
            file.write_all(&block)?;
            file.sync_data()?;
            Ok((0, RAW_BLOCK_BYTES as u64))
        },
    )
}

fn raw_overwrite_fsync(dir: &Path, budget: Duration) -> Result<Row> {
    let path = dir.join("raw-overwrite");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("create {}", path.display()))?;
    let block = [0xa5_u8; 4096];
    file.write_all(&block)?;
    file.sync_all()?;
    run_case("raw: overwrite 4 KiB + fdatasync", budget, || {
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&block)?;
        file.sync_data()?;
        Ok((0, block.len() as u64))
    })
}

fn entry(index: LogIndex) -> Entry {
    Entry {
        index,
        term: 1,
        data: EntryData::Request {
            command: Command::Add((index % 1000) as i64),
        },
    }
}

fn durable_append(dir: &Path, budget: Duration, batch: u64, fsync: bool) -> Result<Row> {
    let node_dir = dir.join(format!(
        "node-batch-{batch}-{}",
        if fsync { "sync" } else { "nosync" }
    ));
    let mut storage = FileStorage::open_fresh(&node_dir)?;
    let name = if fsync {
        format!("FileStorage: append {batch} + sync")
    } else {
        format!("FileStorage: append {batch}, no sync")
    };
    let mut next: LogIndex = 1;
    let row = run_case(name, budget, || {
        let entries: Vec<Entry> = (next..next + batch).map(entry).collect();
        let before = storage.log_bytes();
        storage.append(&entries)?;
        if fsync {
            storage.sync()?;
        }
        next += batch;
        Ok((batch, storage.log_bytes() - before))
    })?;
    drop(storage);
    FileStorage::wipe(&node_dir)?;
    fs::remove_dir(&node_dir).ok();
    Ok(row)
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<34} {:>8} {:>10} {:>11} {:>8} {:>8} {:>8} {:>8}",
        "case", "ops", "ops/s", "entries/s", "MB/s", "p50 µs", "p99 µs", "max µs"
    );
    for row in rows {
        let entries_per_s = if row.entries == 0 {
            "-".to_string()
        } else {
            format!("{:.0}", row.per_second(row.entries))
        };
        println!(
            "{:<34} {:>8} {:>10.0} {:>11} {:>8.2} {:>8} {:>8} {:>8}",
            row.name,
            row.ops,
            row.per_second(row.ops),
            entries_per_s,
            row.per_second(row.bytes) / 1e6,
            row.percentile_us(50),
            row.percentile_us(99),
            row.latencies_us.last().copied().unwrap_or(0),
        );
    }
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
        "storage-bench: scratch dir {}, {:.1} s per case{}",
        dir.display(),
        budget.as_secs_f64(),
        if args.quick { " (--quick)" } else { "" }
    );

    let mut rows = vec![
        raw_append_fsync(&dir, budget)?,
        raw_overwrite_fsync(&dir, budget)?,
    ];
    for batch in [1, 8, 64] {
        rows.push(durable_append(&dir, budget, batch, true)?);
    }
    rows.push(durable_append(&dir, budget, 64, false)?);
    for name in ["raw-append", "raw-overwrite"] {
        fs::remove_file(dir.join(name)).ok();
    }

    println!();
    print_table(&rows);
    let commit = &rows[2];
    println!();
    println!(
        "one-entry commit latency (append 1 + sync): p50 {} µs, p99 {} µs, max {} µs over {} commits",
        commit.percentile_us(50),
        commit.percentile_us(99),
        commit.latencies_us.last().copied().unwrap_or(0),
        commit.ops
    );
    println!(
        "raw fsync rate (append {RAW_BLOCK_BYTES} B + fdatasync): {:.0} /s",
        rows[0].per_second(rows[0].ops)
    );
    println!("MB/s counts record bytes (8-byte header + JSON payload); 1 MB = 10^6 bytes");
    Ok(())
}
