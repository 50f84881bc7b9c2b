//! The Figure 16 chart: the two panels of CDFs (time without a leader) as a hand-written SVG.
//! Owns drawing only; must not compute statistics of its own beyond placing the measured points.

use crate::{Args, RangeResult, PAPER_RANGES};

const COLORS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];
const WIDTH: f64 = 1000.0;
const PANEL_HEIGHT: f64 = 360.0;
const PLOT_LEFT: f64 = 70.0;
const PLOT_RIGHT: f64 = 720.0;
const PLOT_TOP: f64 = 40.0;
const PLOT_BOTTOM: f64 = 300.0;

#[derive(Clone, Copy)]
enum Axis {
    /// Decades from 10^lo to 10^hi ms.
    Log { lo: i32, hi: i32 },
    /// 0 to `hi` ms.
    Linear { hi: u64 },
}

impl Axis {
    fn x(&self, ms: f64) -> f64 {
        let frac = match *self {
            Axis::Log { lo, hi } => (ms.max(1.0).log10() - f64::from(lo)) / f64::from(hi - lo),
            Axis::Linear { hi } => ms / hi as f64,
        };
        PLOT_LEFT + frac.clamp(0.0, 1.0) * (PLOT_RIGHT - PLOT_LEFT)
    }
}

fn y(frac: f64) -> f64 {
    PLOT_BOTTOM - frac * (PLOT_BOTTOM - PLOT_TOP)
}

fn panel(
    out: &mut String,
    offset_y: f64,
    title: &str,
    series: &[(&RangeResult, &str)],
    axis: Axis,
    cap_ms: u64,
) {
    out.push_str(&format!(
        "<g transform=\"translate(0,{offset_y})\">\n<text x=\"{}\" y=\"24\" class=\"title\">{title}</text>\n",
        PLOT_LEFT
    ));
    // Grid and y axis: cumulative percent.
    for pct in (0..=100).step_by(20) {
        let yy = y(f64::from(pct) / 100.0);
        out.push_str(&format!(
            "<line x1=\"{PLOT_LEFT}\" y1=\"{yy}\" x2=\"{PLOT_RIGHT}\" y2=\"{yy}\" class=\"grid\"/>\n\
             <text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{pct}%</text>\n",
            PLOT_LEFT - 6.0,
            yy + 4.0
        ));
    }
    // X ticks.
    let mut ticks: Vec<(f64, String, bool)> = Vec::new();
    match axis {
        Axis::Log { lo, hi } => {
            for decade in lo..=hi {
                let base = 10f64.powi(decade);
                let label = if base >= 1000.0 {
                    format!("{} s", base / 1000.0)
                } else {
                    format!("{base} ms")
                };
                ticks.push((base, label, true));
                if decade < hi {
                    for m in 2..=9 {
                        ticks.push((base * f64::from(m), String::new(), false));
                    }
                }
            }
        }
        Axis::Linear { hi } => {
            let step = if hi <= 400 { 50 } else { 100 };
            for ms in (0..=hi).step_by(step) {
                ticks.push((ms as f64, format!("{ms}"), true));
            }
        }
    }
    for (ms, label, major) in ticks {
        let xx = axis.x(ms);
        let class = if major { "grid" } else { "minor" };
        out.push_str(&format!(
            "<line x1=\"{xx:.1}\" y1=\"{PLOT_TOP}\" x2=\"{xx:.1}\" y2=\"{PLOT_BOTTOM}\" class=\"{class}\"/>\n"
        ));
        if !label.is_empty() {
            out.push_str(&format!(
                "<text x=\"{xx:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{label}</text>\n",
                PLOT_BOTTOM + 16.0
            ));
        }
    }
    out.push_str(&format!(
        "<rect x=\"{PLOT_LEFT}\" y=\"{PLOT_TOP}\" width=\"{}\" height=\"{}\" class=\"frame\"/>\n\
         <text x=\"{}\" y=\"{}\" class=\"label\" text-anchor=\"middle\">time without leader ({})</text>\n\
         <text transform=\"translate(18,{}) rotate(-90)\" class=\"label\" text-anchor=\"middle\">cumulative percent of trials</text>\n",
        PLOT_RIGHT - PLOT_LEFT,
        PLOT_BOTTOM - PLOT_TOP,
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        PLOT_BOTTOM + 40.0,
        match axis {
            Axis::Log { .. } => "log scale",
            Axis::Linear { .. } => "ms",
        },
        (PLOT_TOP + PLOT_BOTTOM) / 2.0
    ));
    // Where trials were given up: nothing right of this line is a measurement.
    if let Axis::Log { .. } = axis {
        if series.iter().any(|(r, _)| r.capped > 0) {
            let xx = axis.x(cap_ms as f64);
            out.push_str(&format!(
                "<line x1=\"{xx:.1}\" y1=\"{PLOT_TOP}\" x2=\"{xx:.1}\" y2=\"{PLOT_BOTTOM}\" \
                 class=\"cap\"/>\n<text x=\"{:.1}\" y=\"{}\" class=\"tick\" \
                 text-anchor=\"end\">cap</text>\n",
                xx - 4.0,
                PLOT_BOTTOM - 8.0
            ));
        }
    }
    // The CDFs: a step up at every distinct time; capped trials never arrive, so a line with
    // capped trials ends below 100%.
    for (index, (r, color)) in series.iter().enumerate() {
        let total = r.trials().max(1) as f64;
        let mut points = vec![(axis.x(0.0), y(0.0))];
        let mut done = 0usize;
        let mut i = 0;
        while i < r.elected_ms.len() {
            let v = r.elected_ms[i];
            let before = done as f64 / total;
            while i < r.elected_ms.len() && r.elected_ms[i] == v {
                i += 1;
                done += 1;
            }
            let xx = axis.x(v as f64);
            points.push((xx, y(before)));
            points.push((xx, y(done as f64 / total)));
        }
        points.push((PLOT_RIGHT, y(done as f64 / total)));
        let path: Vec<String> = points
            .iter()
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect();
        out.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>\n",
            path.join(" ")
        ));
        // Legend.
        let ly = PLOT_TOP + 14.0 + index as f64 * 22.0;
        let note = match r.capped {
            0 => String::new(),
            c if c == r.trials() => format!(" (all capped at {} s)", cap_ms / 1000),
            c => format!(" ({c} capped)"),
        };
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"3\"/>\n\
             <text x=\"{}\" y=\"{}\" class=\"legend\">{}{note}</text>\n",
            PLOT_RIGHT + 14.0,
            PLOT_RIGHT + 38.0,
            PLOT_RIGHT + 44.0,
            ly + 4.0,
            r.label()
        ));
    }
    out.push_str("</g>\n");
}

/// The two panels of Figure 16 as one SVG: top, the 150–X ranges on a log time axis; bottom, the
/// scaled ranges (12–24 … 150–300) on a linear axis.
pub(crate) fn chart(results: &[RangeResult], args: &Args) -> String {
    let color_of = |range: (u64, u64)| {
        let i = PAPER_RANGES
            .iter()
            .position(|r| *r == range)
            .unwrap_or(results.iter().position(|r| r.range == range).unwrap_or(0));
        COLORS[i % COLORS.len()]
    };
    let top: Vec<(&RangeResult, &str)> = results
        .iter()
        .filter(|r| r.range.0 == 150)
        .map(|r| (r, color_of(r.range)))
        .collect();
    // The paper's order in the bottom panel: the scaled ranges, then 150–300 for reference.
    let mut bottom: Vec<(&RangeResult, &str)> = results
        .iter()
        .filter(|r| r.range.0 != 150)
        .map(|r| (r, color_of(r.range)))
        .collect();
    bottom.extend(
        results
            .iter()
            .filter(|r| r.range == (150, 300))
            .map(|r| (r, color_of(r.range))),
    );
    let max_of = |series: &[(&RangeResult, &str)]| {
        series
            .iter()
            .filter_map(|(r, _)| r.elected_ms.last().copied())
            .max()
            .unwrap_or(1)
    };
    let min_of = |series: &[(&RangeResult, &str)]| {
        series
            .iter()
            .filter_map(|(r, _)| r.elected_ms.first().copied())
            .min()
            .unwrap_or(100)
    };
    let top_axis = Axis::Log {
        lo: (min_of(&top).max(1) as f64).log10().floor() as i32,
        hi: (max_of(&top).max(args.cap_ms) as f64).log10().ceil() as i32,
    };
    let bottom_axis = Axis::Linear {
        hi: max_of(&bottom).div_ceil(100).max(1) * 100,
    };
    let height = PANEL_HEIGHT * 2.0 + 60.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"Helvetica, Arial, sans-serif\">\n\
         <style>\n\
         .title {{ font-size: 15px; font-weight: bold; }}\n\
         .label {{ font-size: 13px; }}\n\
         .tick {{ font-size: 11px; fill: #333; }}\n\
         .legend {{ font-size: 12px; }}\n\
         .grid {{ stroke: #ddd; stroke-width: 1; }}\n\
         .minor {{ stroke: #f0f0f0; stroke-width: 1; }}\n\
         .frame {{ fill: none; stroke: #333; stroke-width: 1; }}\n\
         .note {{ font-size: 11px; fill: #555; }}\n\
         .cap {{ stroke: #555; stroke-width: 1; stroke-dasharray: 4 3; }}\n\
         </style>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    if !top.is_empty() {
        panel(
            &mut out,
            0.0,
            "Varying the randomness of the election timeout (150–X ms)",
            &top,
            top_axis,
            args.cap_ms,
        );
    }
    if !bottom.is_empty() {
        panel(
            &mut out,
            PANEL_HEIGHT,
            "Scaling the minimum election timeout",
            &bottom,
            bottom_axis,
            args.cap_ms,
        );
    }
    let notes = [
        format!(
            "logscope simulator: 5 nodes, {} trials per line (trial i: seed {}+i), one-way latency \
             {}–{} ms, fsync {} ms, heartbeat = min/2.",
            args.trials, args.seed, args.latency_ms.0, args.latency_ms.1, args.fsync_ms
        ),
        "Two of the four survivors have stale logs and cannot win; the leader is crashed at a \
         random moment of its heartbeat interval."
            .to_string(),
        "Command: cargo run --release -p logscope-tools --bin figure16 (see docs/figure16.md)"
            .to_string(),
    ];
    for (i, note) in notes.iter().enumerate() {
        out.push_str(&format!(
            "<text x=\"{PLOT_LEFT}\" y=\"{}\" class=\"note\">{note}</text>\n",
            PANEL_HEIGHT * 2.0 + 20.0 + 15.0 * i as f64
        ));
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::args;

    #[test]
    fn the_chart_is_well_formed() {
        let a = args(&["--quick", "--range", "150-155", "--range", "12-24"]).unwrap();
        let r = |range, elected_ms: Vec<u64>, capped| RangeResult {
            range,
            elected_ms,
            capped,
            setup_errors: Vec::new(),
            eligible_total: 0,
            wall_s: 0.0,
        };
        let svg = chart(
            &[
                r((150, 155), vec![100, 200, 200], 1),
                r((12, 24), vec![30, 40], 0),
            ],
            &a,
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("150–155 ms (1 capped)"));
        assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
    }
}
