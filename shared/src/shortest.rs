//! [`Shortest`]: an `f64` in words, the shortest decimal that reads back to it ("0.5", "20",
//! "0.001"), printed by `zmij`, the writer serde_json already uses for every float on the wire.
//! Owns that printing only.
//!
//! Why not `{x}`: core's float printer (`flt2dec`, with its tables) is ≈ 7 KB brotli of a wasm
//! module (docs/bench-frontend.md), and the in-browser engine printed floats in only a few
//! sentences (a speed, a probability). The words are the same as `{x}`'s for every float the
//! protocol allows; beyond 10^16 or below 10^-5 zmij writes an exponent ("1e-7").

use std::fmt;

/// `f64` displayed as its shortest decimal; a whole number without ".0".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shortest(pub f64);

impl fmt::Display for Shortest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buffer = zmij::Buffer::new();
        let text = buffer.format(self.0);
        f.write_str(text.strip_suffix(".0").unwrap_or(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocols_floats_read_as_core_writes_them() {
        let mut values = vec![
            0.0, -0.0, 1.0, 0.5, 20.0, 1000.0, 0.001, 0.1, 0.2, 0.3, 1.5, -2.5,
        ];
        // The speed scale's steps and every probability with two decimals.
        values.extend((0..=60).map(|i| 10f64.powf(-3.0 + f64::from(i) / 10.0)));
        values.extend((0..=100).map(|i| f64::from(i) / 100.0));
        for x in values {
            assert_eq!(Shortest(x).to_string(), x.to_string(), "{x}");
        }
        assert_eq!(Shortest(f64::NAN).to_string(), "NaN");
        assert_eq!(Shortest(f64::INFINITY).to_string(), "inf");
        assert_eq!(Shortest(1e-7).to_string(), "1e-7");
    }
}
