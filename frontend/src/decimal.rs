//! Numbers shown with a fixed number of decimals ("0.750 s", "20%", SVG coordinates) without
//! `core`'s float printer. Owns that one conversion; must not parse (timeline.rs reads a link's
//! seconds, lesson::words a lesson's decimals).
//!
//! Why: `format!("{:.1}", x)`, `format!("{x}")` and an `f64` given to a view as an attribute
//! compile `core`'s float printer (Grisu with a Dragon4 fallback, its power-of-ten tables and a
//! bignum), about 13 KB of wasm, to print numbers that need one to three decimals. Here the number
//! is scaled by a power of ten, rounded to a whole number, and that is printed with the decimal
//! point put back: integer formatting only. Every number the page prints goes through [`Fixed`]
//! (docs/bench-frontend.md checks with twiggy that the printer is gone).
//!
//! Rounding is half away from zero on the scaled value, where `{:.N}` rounds the exact binary
//! value half to even; the two differ only on an exact tie (0.125 to two places: "0.13" here,
//! "0.12" there), which nothing on screen depends on.

use std::fmt;

/// `value` with `places` decimals (0 to 6), as `{:.places}` would show it but for ties.
#[derive(Clone, Copy, Debug)]
pub struct Fixed(pub f64, pub usize);

/// The largest scaled magnitude printed with its decimals; anything beyond (never on screen)
/// prints as the nearest whole number (saturating past 1.7e38).
const EXACT_MAX: f64 = 1e15;

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fixed(value, places) = *self;
        debug_assert!(places <= 6, "Fixed prints at most 6 decimals");
        let places = places.min(6);
        if value.is_nan() {
            return f.write_str("NaN");
        }
        if value.is_infinite() {
            return f.write_str(if value > 0.0 { "inf" } else { "-inf" });
        }
        let scale = 10u64.pow(places as u32);
        let magnitude = value.abs();
        if magnitude * scale as f64 >= EXACT_MAX {
            return write!(f, "{}", value.round() as i128);
        }
        let scaled = (magnitude * scale as f64 + 0.5).floor() as u64;
        // "-0.0" is not a number anyone should read: a value that rounds to zero has no sign.
        let sign = if value < 0.0 && scaled > 0 { "-" } else { "" };
        let (whole, fraction) = (scaled / scale, scaled % scale);
        if places == 0 {
            write!(f, "{sign}{whole}")
        } else {
            write!(f, "{sign}{whole}.{fraction:0places$}")
        }
    }
}

/// `value` to `places` decimals, as text (for a view's attribute).
pub fn fixed(value: f64, places: usize) -> String {
    Fixed(value, places).to_string()
}

#[cfg(test)]
mod tests {
    use super::Fixed;

    #[test]
    fn as_the_standard_formatting_away_from_ties() {
        let mut checked = 0;
        for i in -20_000i64..20_000 {
            // Values with up to five decimals and odd tails, so no scaled value is a tie.
            let value = i as f64 * 0.01237 + 0.000_13;
            for places in 0..=3 {
                let scaled = value.abs() * 10f64.powi(places as i32);
                if (scaled - scaled.floor() - 0.5).abs() < 1e-6 {
                    continue;
                }
                let ours = Fixed(value, places).to_string();
                let std = format!("{value:.places$}");
                // The standard printer keeps the sign of a negative value that rounds to zero.
                let std = match std.strip_prefix('-') {
                    Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
                    _ => std,
                };
                assert_eq!(ours, std, "{value} to {places} places");
                checked += 1;
            }
        }
        assert!(checked > 150_000);
    }

    #[test]
    fn what_the_page_shows() {
        assert_eq!(Fixed(0.75, 3).to_string(), "0.750");
        assert_eq!(Fixed(20.0, 0).to_string(), "20");
        assert_eq!(Fixed(0.2 * 100.0, 0).to_string(), "20");
        assert_eq!(Fixed(-3.96, 1).to_string(), "-4.0");
        assert_eq!(Fixed(-0.04, 1).to_string(), "0.0");
        assert_eq!(Fixed(1_234.567_8, 2).to_string(), "1234.57");
        assert_eq!(
            Fixed(0.125, 2).to_string(),
            "0.13",
            "a tie rounds away from zero"
        );
        assert_eq!(Fixed(f64::NAN, 1).to_string(), "NaN");
        assert_eq!(Fixed(1e20, 1).to_string(), "100000000000000000000");
    }
}
