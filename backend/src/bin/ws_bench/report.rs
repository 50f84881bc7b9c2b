//! What a run measured and how it is printed: the viewers' summary (sent between the two
//! processes as JSON), the per-run paragraph and the final table row. Measures nothing itself.

use serde::{Deserialize, Serialize};

/// What the viewers' process reports.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ViewerSummary {
    pub connected: usize,
    pub events: u64,
    pub messages: u64,
    /// Absent when no message arrived in the window.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub latency_samples: usize,
    pub gaps: u64,
    pub resyncs: u64,
    pub complete: usize,
    pub errors: Vec<String>,
}

pub struct RunResult {
    /// "logscope" or "baseline".
    pub server: &'static str,
    pub viewers: usize,
    pub seconds: f64,
    pub v: ViewerSummary,
    pub driver_cpu: f64,
    pub server_cpu: f64,
    pub viewers_cpu: f64,
    pub load_cpu: f64,
    pub rss_start_mib: f64,
    pub rss_end_mib: f64,
    pub hwm_mib: f64,
    pub appends_ok: u64,
    pub events_broadcast: u64,
}

impl RunResult {
    fn per_viewer(&self) -> f64 {
        self.v.events as f64 / self.seconds / self.viewers.max(1) as f64
    }

    pub fn print(&self) {
        let v = &self.v;
        println!();
        println!(
            "{}: {} viewers, {:.1} s window:",
            self.server, self.viewers, self.seconds
        );
        println!(
            "  the driver broadcast {} events during the window; {} appends were accepted",
            self.events_broadcast, self.appends_ok
        );
        println!(
            "  delivered {:.0} events/s per viewer, {:.0} events/s in total ({:.0} messages/s)",
            self.per_viewer(),
            v.events as f64 / self.seconds,
            v.messages as f64 / self.seconds
        );
        println!(
            "  latency broadcast → viewer: p50 {}, p99 {}, max {} ({} samples)",
            ms(v.p50_ms),
            ms(v.p99_ms),
            ms(v.max_ms),
            v.latency_samples
        );
        println!(
            "  backend CPU (share of one core): driver {:.1}%, server {:.1}%; viewers' process {:.1}%, load generator {:.1}%",
            self.driver_cpu, self.server_cpu, self.viewers_cpu, self.load_cpu
        );
        println!(
            "  backend memory: RSS {:.1} MiB before the viewers, {:.1} MiB at the end, peak {:.1} MiB",
            self.rss_start_mib, self.rss_end_mib, self.hwm_mib
        );
        println!(
            "  completeness: {}/{} viewers got every event in order (gaps {}, resyncs {})",
            v.complete, self.viewers, v.gaps, v.resyncs
        );
        for e in v.errors.iter().take(5) {
            println!("  viewer error: {e}");
        }
    }

    pub fn print_row(&self) {
        let v = &self.v;
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {:.1}% | {:.1}% | {:.0} → {:.0} MiB ({:.0}) | {:.1}% | {}/{} |",
            self.server,
            self.viewers,
            self.per_viewer(),
            v.events as f64 / self.seconds,
            v.messages as f64 / self.seconds,
            ms(v.p50_ms),
            ms(v.p99_ms),
            ms(v.max_ms),
            self.driver_cpu,
            self.server_cpu,
            self.rss_start_mib,
            self.rss_end_mib,
            self.hwm_mib,
            self.viewers_cpu,
            v.complete,
            self.viewers
        );
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.1} ms"))
}
