//! The page's idea of "now" in virtual time, between the server's clock messages: the last known
//! virtual time plus the wall time since, times the speed (RaftScope animates messages with
//! exactly this), and how long to wait before reconnecting. Pure: the caller passes wall-clock
//! readings in.

/// Extrapolates virtual time from the last sync point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlaybackClock {
    base_virtual_ms: f64,
    base_wall_ms: f64,
    speed: f64,
    paused: bool,
}

/// Never extrapolate further than this much wall time past the last word from the server: if it
/// stalls, the picture should stop too rather than run ahead of what happened.
pub const EXTRAPOLATE_WALL_MS_MAX: f64 = 1_500.0;

impl PlaybackClock {
    /// A clock stopped at virtual time 0.
    pub fn new() -> PlaybackClock {
        PlaybackClock {
            base_virtual_ms: 0.0,
            base_wall_ms: 0.0,
            speed: 0.0,
            paused: true,
        }
    }

    /// Virtual time now.
    pub fn now(&self, wall_ms: f64) -> f64 {
        if self.paused || self.speed <= 0.0 {
            return self.base_virtual_ms;
        }
        let elapsed = (wall_ms - self.base_wall_ms).clamp(0.0, EXTRAPOLATE_WALL_MS_MAX);
        self.base_virtual_ms + elapsed * self.speed
    }

    /// The server says it is `virtual_ms` (from a clock message or an event). Small differences
    /// are smoothed — time shown never jumps backwards by less than a frame's worth — but a large
    /// one (a reset, a reconnect) is taken as is.
    pub fn sync(&mut self, virtual_ms: f64, wall_ms: f64, speed: f64, paused: bool) {
        let shown = self.now(wall_ms);
        let tolerance = (speed * 250.0).max(1.0);
        // Paused, the server's time is exact and final: show it, even if we ran a little ahead.
        self.base_virtual_ms = if !paused && shown > virtual_ms && shown - virtual_ms < tolerance {
            shown
        } else {
            virtual_ms
        };
        self.base_wall_ms = wall_ms;
        self.speed = speed;
        self.paused = paused;
    }

    /// Jump to `virtual_ms` exactly (a new snapshot).
    pub fn reset(&mut self, virtual_ms: f64, wall_ms: f64, speed: f64, paused: bool) {
        self.base_virtual_ms = virtual_ms;
        self.base_wall_ms = wall_ms;
        self.speed = speed;
        self.paused = paused;
    }
}

/// Wait before reconnect attempt `attempts` (1-based): a ceiling of 0.5 s doubling up to 5 s, so
/// a server started after the page is found within seconds, without being hammered meanwhile.
/// The wait is a random point in the upper half of that ceiling (`unit` is a uniform draw in
/// [0, 1), `Math.random()` in the page): when the server restarts, a whole class of pages lost
/// it at the same instant, and without jitter they would all come back at the same instant too.
pub fn reconnect_backoff_ms(attempts: u32, unit: f64) -> f64 {
    let ceiling = (500.0 * 2f64.powi(attempts.saturating_sub(1).min(8) as i32)).min(5_000.0);
    ceiling * (0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

impl Default for PlaybackClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_at_speed_and_stops_when_paused() {
        let mut c = PlaybackClock::new();
        c.reset(1_000.0, 50_000.0, 0.01, false);
        assert!((c.now(51_000.0) - 1_010.0).abs() < 1e-9);
        c.sync(1_010.0, 51_000.0, 0.01, true);
        assert_eq!(c.now(60_000.0), 1_010.0);
    }

    #[test]
    fn reconnects_back_off_to_five_seconds() {
        let ceilings: Vec<f64> = (1..=6).map(|a| reconnect_backoff_ms(a, 1.0)).collect();
        assert_eq!(
            ceilings,
            vec![500.0, 1_000.0, 2_000.0, 4_000.0, 5_000.0, 5_000.0]
        );
        assert_eq!(reconnect_backoff_ms(0, 1.0), 500.0);
        assert_eq!(reconnect_backoff_ms(u32::MAX, 1.0), 5_000.0);
    }

    #[test]
    fn reconnect_waits_are_spread_over_the_upper_half() {
        assert_eq!(reconnect_backoff_ms(5, 0.0), 2_500.0);
        assert_eq!(reconnect_backoff_ms(5, 0.5), 3_750.0);
        // Pages with different draws come back at different instants, never sooner than half.
        let waits: Vec<f64> = [0.1, 0.4, 0.9]
            .iter()
            .map(|&u| reconnect_backoff_ms(3, u))
            .collect();
        assert!(waits.windows(2).all(|w| w[0] < w[1]), "{waits:?}");
        assert!(waits.iter().all(|&w| (1_000.0..=2_000.0).contains(&w)));
        // An out-of-range draw cannot make the wait negative or longer than the ceiling.
        assert_eq!(reconnect_backoff_ms(1, -3.0), 250.0);
        assert_eq!(reconnect_backoff_ms(1, 7.0), 500.0);
    }

    #[test]
    fn does_not_run_far_ahead_of_the_server() {
        let mut c = PlaybackClock::new();
        c.reset(0.0, 0.0, 1.0, false);
        assert_eq!(c.now(10_000.0), EXTRAPOLATE_WALL_MS_MAX);
    }

    #[test]
    fn small_lags_are_smoothed_and_big_jumps_taken() {
        let mut c = PlaybackClock::new();
        c.reset(100.0, 0.0, 1.0, false);
        // We showed 150; the server says 140: keep 150 rather than jerk back.
        c.sync(140.0, 50.0, 1.0, false);
        assert_eq!(c.now(50.0), 150.0);
        // The server is ahead: catch up.
        c.sync(400.0, 60.0, 1.0, false);
        assert_eq!(c.now(60.0), 400.0);
        // Paused: the server's time is exact, even a little behind what we showed.
        c.sync(390.0, 60.0, 1.0, true);
        assert_eq!(c.now(60.0), 390.0);
        assert_eq!(c.now(5_000.0), 390.0);
        c.sync(400.0, 60.0, 1.0, false);
        // A reset to 0 is far behind: take it.
        c.sync(0.0, 70.0, 1.0, false);
        assert_eq!(c.now(70.0), 0.0);
    }
}
