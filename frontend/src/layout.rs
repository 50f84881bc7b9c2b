//! Pure geometry and styling decisions for the page: where servers sit on the ring, where a
//! message is along its link, which log indexes are visible, which colour a term gets, how the
//! speed slider maps to a speed. No Leptos and no browser, so it is unit-tested natively.

use crate::decimal::Fixed;
use shared::types::{NodeId, Term};

use crate::math;

/// The ring's SVG coordinate system is `0..RING_VIEW` square.
pub const RING_VIEW: f64 = 640.0;

/// Paul Tol's "muted" scheme, designed to stay distinct for colour-blind readers, used for terms
/// in order. Nine colours, so any nine consecutive terms differ (t3 and t10 no longer look the
/// same), ordered so that neighbouring terms also differ in lightness, the cue that survives
/// every kind of colour blindness. The term number is drawn on every server and entry as well,
/// so colour is never the only cue.
pub const TERM_COLOURS: [&str; 9] = [
    "#CC6677", // rose
    "#332288", // indigo
    "#999933", // olive
    "#882255", // wine
    "#44AA99", // teal
    "#117733", // green
    "#DDCC77", // sand
    "#AA4499", // purple
    "#88CCEE", // cyan
];

/// Fill for term 0 ("before any election") and for crashed servers.
pub const NO_TERM_COLOUR: &str = "#d9dde3";

/// The fill colour of a term.
pub fn term_colour(term: Term) -> &'static str {
    if term == 0 {
        return NO_TERM_COLOUR;
    }
    TERM_COLOURS[((term.get() - 1) % TERM_COLOURS.len() as u64) as usize]
}

/// Dark text for the page.
const DARK_TEXT: &str = "#111111";

/// Text colour that stays readable on [`term_colour`]: whichever of dark and white contrasts
/// more (WCAG contrast ratio).
pub fn term_text_colour(term: Term) -> &'static str {
    let bg = term_colour(term);
    if contrast(bg, "#ffffff") > contrast(bg, DARK_TEXT) {
        "#ffffff"
    } else {
        DARK_TEXT
    }
}

/// WCAG relative luminance of a `#rrggbb` colour.
pub fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let c = u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f64;
        let c = c / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            math::powf((c + 0.055) / 1.055, 2.4)
        }
    };
    0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

/// WCAG contrast ratio of two `#rrggbb` colours (1 to 21).
pub fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// A point in the ring's coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
}

/// Where the servers sit and how big they are, for a cluster of `n`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ring {
    /// Cluster size.
    pub n: u64,
    /// Distance of each server from the centre.
    pub radius: f64,
    /// Radius of a server's circle.
    pub node_radius: f64,
}

impl Ring {
    /// The ring for `n` servers: S1 at the top (half a step clockwise of it for 4 or 8), then
    /// clockwise.
    pub fn new(n: u64) -> Ring {
        let n = n.max(1);
        let radius = if n == 1 { 0.0 } else { RING_VIEW * 0.335 };
        // Neighbouring circles must not touch: keep each within 35% of the gap between centres.
        let gap = if n == 1 {
            f64::MAX
        } else {
            2.0 * radius * math::sin(std::f64::consts::PI / n as f64)
        };
        let node_radius = (gap * 0.29).min(54.0);
        Ring {
            n,
            radius,
            node_radius,
        }
    }

    /// The centre of the ring.
    pub fn centre(&self) -> Point {
        Point {
            x: RING_VIEW / 2.0,
            y: RING_VIEW / 2.0,
        }
    }

    /// The centre of server `id` (1-based).
    pub fn node(&self, id: NodeId) -> Point {
        let c = self.centre();
        let step = 2.0 * std::f64::consts::PI / self.n as f64;
        // With 4 or 8 servers two would sit level with the centre's words, left and right, and
        // crowd them: the ring turns half a step (a square, not a diamond).
        let turn = if matches!(self.n, 4 | 8) {
            step / 2.0
        } else {
            0.0
        };
        let angle =
            -std::f64::consts::FRAC_PI_2 + turn + step * (id.get().saturating_sub(1)) as f64;
        Point {
            x: c.x + self.radius * math::cos(angle),
            y: c.y + self.radius * math::sin(angle),
        }
    }

    /// Where a message from `from` to `to` is drawn when `fraction` (0..=1) of its flight is
    /// done. It travels from rim to rim, shifted a little to the right of its direction so that
    /// requests and replies on the same link pass each other instead of overlapping.
    pub fn message_at(&self, from: NodeId, to: NodeId, fraction: f64) -> Point {
        let (a, b) = (self.node(from), self.node(to));
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = (dx * dx + dy * dy).sqrt();
        if len < 1e-9 {
            return a;
        }
        let (ux, uy) = (dx / len, dy / len);
        let start = self.node_radius + 4.0;
        let travel = (len - 2.0 * start).max(0.0);
        let along = start + travel * fraction.clamp(0.0, 1.0);
        let side = self.lane_offset();
        Point {
            x: a.x + ux * along - uy * side,
            y: a.y + uy * along + ux * side,
        }
    }

    /// Sideways shift of a message lane from the link's centre line.
    pub fn lane_offset(&self) -> f64 {
        (self.node_radius * 0.16).clamp(4.0, 8.0)
    }

    /// The angle of travel in degrees (for arrowheads).
    pub fn heading_deg(&self, from: NodeId, to: NodeId) -> f64 {
        let (a, b) = (self.node(from), self.node(to));
        math::atan2(b.y - a.y, b.x - a.x).to_degrees()
    }

    /// Size of a message marker.
    pub fn message_size(&self) -> f64 {
        (self.node_radius * 0.26).clamp(7.0, 13.0)
    }
}

/// The box the ring's centre text needs around the centre: half its width, and how far it
/// reaches above and below the centre (the title above; the line under it and the two lines of
/// the stale-leader warning below). The pause badge and the cut marks keep out of it.
pub const CENTRE_BOX: (f64, f64, f64) = (145.0, 42.0, 76.0);

/// Where the pause badge sits: the top left corner of the ring's picture, clear of the servers
/// and of the centre text.
pub const PAUSE_BADGE: Point = Point { x: -80.0, y: 28.0 };

/// Radius of the mark drawn on a cut link.
pub const CUT_MARK_R: f64 = 11.0;

fn in_centre_box(ring: &Ring, p: Point, margin: f64) -> bool {
    let c = ring.centre();
    let (half_width, above, below) = CENTRE_BOX;
    (p.x - c.x).abs() < half_width + margin
        && p.y > c.y - above - margin
        && p.y < c.y + below + margin
}

impl Ring {
    /// Where the mark of a cut link `a`–`b` is drawn: its middle, unless that is under the
    /// centre text; then the nearest point of the link outside it, clear of both servers. A
    /// link that crosses the whole centre text between the servers' circles (S2–S4 of four) gets
    /// its mark next to `a`.
    pub fn cut_mark_at(&self, a: NodeId, b: NodeId) -> Point {
        let (p, q) = (self.node(a), self.node(b));
        let at = |t: f64| Point {
            x: p.x + (q.x - p.x) * t,
            y: p.y + (q.y - p.y) * t,
        };
        let len = ((q.x - p.x).powi(2) + (q.y - p.y).powi(2)).sqrt().max(1e-9);
        // Keep the mark off the servers' circles and election timers.
        let edge = ((self.node_radius + 12.0 + CUT_MARK_R) / len).min(0.5);
        let clear = |t: f64| !in_centre_box(self, at(t), CUT_MARK_R + 2.0);
        for step in 0..=50 {
            let d = step as f64 * 0.01;
            for t in [0.5 - d, 0.5 + d] {
                if (edge..=1.0 - edge).contains(&t) && clear(t) {
                    return at(t);
                }
            }
        }
        at(edge)
    }
}

/// Where to scroll the log pane to follow the newest entry: the last entry's right edge at the
/// pane's right edge, with half a column of room for the commit bar (never past the entries
/// into the blank columns after them, whatever the pane's width), moved on to the next whole
/// column so that the first one shown is whole too (at 1024x768 the first entry read "-op").
pub fn follow_scroll_left(max_index: u64, viewport_px: f64, cell_px: f64) -> f64 {
    let last_start = max_index.saturating_sub(1) as f64 * cell_px;
    let end_in_view = (max_index as f64 + 0.5) * cell_px - viewport_px;
    if end_in_view <= 0.0 || cell_px <= 0.0 {
        return 0.0;
    }
    ((end_in_view / cell_px).ceil() * cell_px).min(last_start)
}

/// Which log indexes to draw: those in the scrolled-to window plus a margin, so thousands of
/// entries cost no more than the few dozen on screen.
pub fn visible_indexes(
    scroll_left_px: f64,
    viewport_px: f64,
    cell_px: f64,
    max_index: u64,
) -> std::ops::RangeInclusive<u64> {
    const OVERSCAN: u64 = 4;
    if max_index == 0 || cell_px <= 0.0 {
        return std::ops::RangeInclusive::new(1, 0); // empty
    }
    let first = ((scroll_left_px.max(0.0) / cell_px).floor() as u64 + 1).min(max_index);
    let count = (viewport_px.max(0.0) / cell_px).ceil() as u64 + 1;
    let lo = first.saturating_sub(OVERSCAN).max(1);
    let hi = (first + count + OVERSCAN).min(max_index);
    if lo > hi {
        return std::ops::RangeInclusive::new(1, 0); // empty
    }
    lo..=hi
}

/// Speed slider position (0..=3) to speed: 10^(v−3), from 1/1000× to 1× as in RaftScope.
pub fn speed_from_slider(v: f64) -> f64 {
    math::powf(10.0, v.clamp(0.0, 3.0) - 3.0)
}

/// The slider position for a speed (inverse of [`speed_from_slider`]); "max" (0) sits at the top.
pub fn slider_from_speed(speed: f64) -> f64 {
    if speed <= 0.0 {
        return 3.0;
    }
    (math::log10(speed) + 3.0).clamp(0.0, 3.0)
}

/// The round speeds, slowest first: 1/1000, 1/500, 1/200, 1/100, 1/50, …, 1.
const SPEED_DENOMINATORS: [f64; 10] =
    [1000.0, 500.0, 200.0, 100.0, 50.0, 20.0, 10.0, 5.0, 2.0, 1.0];

/// The next round speed up (`faster`) or down from `speed`, staying within 1/1000..=1.
pub fn speed_step(speed: f64, faster: bool) -> f64 {
    let speeds = SPEED_DENOMINATORS.map(|d| 1.0 / d);
    let current = snap_speed(if speed <= 0.0 { 1.0 } else { speed });
    let at = speeds.iter().position(|s| *s == current).unwrap_or(3);
    let next = if faster {
        (at + 1).min(speeds.len() - 1)
    } else {
        at.saturating_sub(1)
    };
    speeds[next]
}

/// Snap a speed to a round value people can read: 1/1000, 1/500, 1/200, 1/100, 1/50, …, 1.
pub fn snap_speed(speed: f64) -> f64 {
    let denominators = SPEED_DENOMINATORS;
    let target = math::log10(speed.clamp(0.001, 1.0));
    denominators
        .iter()
        .map(|d| 1.0 / d)
        .min_by(|a, b| {
            (math::log10(*a) - target)
                .abs()
                .total_cmp(&(math::log10(*b) - target).abs())
        })
        .unwrap_or(0.01)
}

/// "12.345 s" for a virtual time in ms.
pub fn format_time_ms(time_ms: f64) -> String {
    format!("{} s", Fixed(time_ms.max(0.0) / 1000.0, 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_sit_on_a_ring_starting_at_the_top_without_touching() {
        for n in 1..=9 {
            let ring = Ring::new(n);
            let c = ring.centre();
            for id in NodeId::all(n) {
                let p = ring.node(id);
                let d = ((p.x - c.x).powi(2) + (p.y - c.y).powi(2)).sqrt();
                assert!((d - ring.radius).abs() < 1e-6);
                assert!(p.x - ring.node_radius >= 0.0 && p.x + ring.node_radius <= RING_VIEW);
                for other in NodeId(1).through(id - 1) {
                    let q = ring.node(other);
                    let gap = ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt();
                    assert!(
                        gap > 2.0 * ring.node_radius,
                        "n={n}: S{id} touches S{other}"
                    );
                }
            }
        }
        // With 4 and 8 servers none sits level with the centre's words.
        for n in [4, 8] {
            let ring = Ring::new(n);
            for id in NodeId::all(n) {
                let dy = (ring.node(id).y - ring.centre().y).abs();
                assert!(
                    dy > ring.node_radius,
                    "n={n}: S{id} is level with the centre"
                );
            }
        }
        let ring = Ring::new(5);
        assert!(ring.node(NodeId(1)).y < ring.centre().y, "S1 is at the top");
        assert!(
            ring.node(NodeId(2)).x > ring.centre().x,
            "S2 is to the right (clockwise)"
        );
    }

    #[test]
    fn messages_go_rim_to_rim_and_pass_each_other() {
        let ring = Ring::new(5);
        let start = ring.message_at(NodeId(1), NodeId(3), 0.0);
        let end = ring.message_at(NodeId(1), NodeId(3), 1.0);
        let a = ring.node(NodeId(1));
        let b = ring.node(NodeId(3));
        let da = ((start.x - a.x).powi(2) + (start.y - a.y).powi(2)).sqrt();
        let db = ((end.x - b.x).powi(2) + (end.y - b.y).powi(2)).sqrt();
        assert!(da > ring.node_radius && da < ring.node_radius + 15.0);
        assert!(db > ring.node_radius && db < ring.node_radius + 15.0);
        // Opposite directions at the same point of the link are in different lanes.
        let there = ring.message_at(NodeId(1), NodeId(3), 0.5);
        let back = ring.message_at(NodeId(3), NodeId(1), 0.5);
        let apart = ((there.x - back.x).powi(2) + (there.y - back.y).powi(2)).sqrt();
        assert!((apart - 2.0 * ring.lane_offset()).abs() < 1e-6);
        // Out-of-range fractions are clamped.
        assert_eq!(ring.message_at(NodeId(1), NodeId(3), -1.0), start);
        assert_eq!(ring.message_at(NodeId(1), NodeId(3), 7.0), end);
    }

    #[test]
    fn only_the_visible_window_of_the_log_is_drawn() {
        assert!(visible_indexes(0.0, 400.0, 40.0, 0).is_empty());
        assert_eq!(visible_indexes(0.0, 400.0, 40.0, 5), 1..=5);
        let r = visible_indexes(40_000.0, 800.0, 40.0, 2_000);
        assert!(r.contains(&1001) && r.contains(&1020));
        assert!(r.end() - r.start() < 40, "{r:?}");
        assert_eq!(*visible_indexes(1e9, 800.0, 40.0, 2_000).end(), 2_000);
    }

    #[test]
    fn speed_slider_is_logarithmic_like_raftscope() {
        assert!((speed_from_slider(0.0) - 0.001).abs() < 1e-12);
        assert!((speed_from_slider(1.0) - 0.01).abs() < 1e-12);
        assert!((speed_from_slider(3.0) - 1.0).abs() < 1e-12);
        for v in [0.0, 0.5, 1.0, 2.2, 3.0] {
            assert!((slider_from_speed(speed_from_slider(v)) - v).abs() < 1e-9);
        }
        assert_eq!(slider_from_speed(0.0), 3.0);
        assert_eq!(snap_speed(0.0097), 0.01);
        assert_eq!(snap_speed(0.6), 0.5);
        assert_eq!(snap_speed(5.0), 1.0);
        assert_eq!(speed_step(0.01, true), 0.02);
        assert_eq!(speed_step(0.01, false), 0.005);
        assert_eq!(speed_step(1.0, true), 1.0);
        assert_eq!(speed_step(0.001, false), 0.001);
        assert_eq!(
            speed_step(0.0, false),
            0.5,
            "from \"max\" down to the fastest but one"
        );
    }

    #[test]
    fn nearby_terms_have_distinct_readable_colours() {
        let term_colour = |t: u64| term_colour(Term(t));
        let term_text_colour = |t: u64| term_text_colour(Term(t));
        assert_eq!(term_colour(0), NO_TERM_COLOUR);
        assert_eq!(term_colour(1), TERM_COLOURS[0]);
        assert_ne!(
            term_colour(3),
            term_colour(10),
            "t3 and t10 looked the same"
        );
        for t in 1..100u64 {
            let window: Vec<&str> = (t..t + 9).map(term_colour).collect();
            let mut unique = window.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 9, "terms {t}..{} share a colour", t + 8);
            // Neighbouring terms differ in lightness, which colour-blind readers see too.
            let step = (luminance(term_colour(t)) - luminance(term_colour(t + 1))).abs();
            assert!(
                step > 0.15,
                "t{t} and t{} are as light as each other",
                t + 1
            );
            // The term number drawn on the colour is readable (WCAG AA for text).
            let ratio = contrast(term_colour(t), term_text_colour(t));
            assert!(ratio >= 4.5, "t{t}: contrast {ratio:.2}");
        }
        assert_eq!(format_time_ms(12_345.0), "12.345 s");
    }

    #[test]
    fn following_the_log_keeps_the_newest_entry_in_view_at_any_width() {
        let cell = 68.0;
        for max_index in [1u64, 3, 21, 500] {
            for viewport in [90.0, 118.0, 218.0, 400.0, 1200.0, 2400.0] {
                let left = follow_scroll_left(max_index, viewport, cell);
                // The newest entry spans [(max-1)·cell, max·cell].
                let (start, end) = ((max_index - 1) as f64 * cell, max_index as f64 * cell);
                assert!(
                    left <= start + 1.0,
                    "{max_index} entries, {viewport} px: starts off screen"
                );
                assert!(
                    end <= left + viewport,
                    "{max_index} entries, {viewport} px: ends off screen"
                );
                assert_eq!(
                    left % cell,
                    0.0,
                    "{max_index} entries, {viewport} px: the first column shown is cut"
                );
            }
        }
        assert_eq!(
            follow_scroll_left(3, 1200.0, cell),
            0.0,
            "short logs do not scroll"
        );
    }

    #[test]
    fn cut_marks_and_the_pause_badge_stay_clear_of_the_centre_text() {
        for n in 2..=9 {
            let ring = Ring::new(n);
            for a in NodeId::all(n) {
                for b in (a + 1).through(NodeId(n)) {
                    let m = ring.cut_mark_at(a, b);
                    // Some links of other sizes cross the whole centre text between the servers'
                    // circles (S2-S4 of four); the default five have none, and every link with
                    // room outside the text has its mark there.
                    let (p, q) = (ring.node(a), ring.node(b));
                    let len = ((q.x - p.x).powi(2) + (q.y - p.y).powi(2)).sqrt();
                    let edge = (ring.node_radius + 12.0 + CUT_MARK_R) / len;
                    let room = (0..=100).map(|k| k as f64 / 100.0).any(|t| {
                        let at = Point {
                            x: p.x + (q.x - p.x) * t,
                            y: p.y + (q.y - p.y) * t,
                        };
                        (edge..=1.0 - edge).contains(&t)
                            && !in_centre_box(&ring, at, CUT_MARK_R + 2.0)
                    });
                    assert!(room || n != 5, "n=5: link {a}-{b} has no room");
                    if room {
                        assert!(
                            !in_centre_box(&ring, m, CUT_MARK_R),
                            "n={n}: mark {a}-{b} on the centre text"
                        );
                    }
                    for id in [a, b] {
                        let p = ring.node(id);
                        let d = ((p.x - m.x).powi(2) + (p.y - m.y).powi(2)).sqrt();
                        assert!(
                            d > ring.node_radius + CUT_MARK_R,
                            "n={n}: mark {a}-{b} on S{id}"
                        );
                    }
                }
            }
            assert!(!in_centre_box(&ring, PAUSE_BADGE, 40.0));
            for id in NodeId::all(n) {
                let p = ring.node(id);
                let d = ((p.x - PAUSE_BADGE.x).powi(2) + (p.y - PAUSE_BADGE.y).powi(2)).sqrt();
                assert!(
                    d > ring.node_radius + 60.0,
                    "n={n}: the pause badge is on S{id}"
                );
            }
        }
    }
}
