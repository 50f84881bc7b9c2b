//! The few transcendental functions the page draws with (the ring's angles, colour contrast, the
//! speed scale), and its JSON reader's float parser. Owns nothing but the choice of who computes
//! them.
//!
//! In the browser they are the page's own `Math.sin`, `Math.pow`…: Rust's versions are compiled
//! into the module from `libm` (sine and cosine bring a 2/π table for large arguments), ~11 KB of
//! wasm for numbers the browser already computes. Natively (the tests) they are `std`'s. The two
//! may differ in the last bit, which no drawing shows.

#[cfg(target_arch = "wasm32")]
mod imp {
    use js_sys::Math;
    pub fn sin(x: f64) -> f64 {
        Math::sin(x)
    }
    pub fn cos(x: f64) -> f64 {
        Math::cos(x)
    }
    pub fn atan2(y: f64, x: f64) -> f64 {
        Math::atan2(y, x)
    }
    pub fn powf(x: f64, y: f64) -> f64 {
        Math::pow(x, y)
    }
    pub fn log10(x: f64) -> f64 {
        Math::log10(x)
    }
    /// A JSON number's text as the nearest `f64` (`parseFloat`, correctly rounded as Rust's
    /// `parse` is); the wire reader's floats, without core's float parser in the module.
    pub fn parse_f64(text: &str) -> f64 {
        js_sys::Number::parse_float(text)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub fn sin(x: f64) -> f64 {
        x.sin()
    }
    pub fn cos(x: f64) -> f64 {
        x.cos()
    }
    pub fn atan2(y: f64, x: f64) -> f64 {
        y.atan2(x)
    }
    pub fn powf(x: f64, y: f64) -> f64 {
        x.powf(y)
    }
    pub fn log10(x: f64) -> f64 {
        x.log10()
    }
    pub fn parse_f64(text: &str) -> f64 {
        text.parse().unwrap_or(f64::NAN)
    }
}

pub use imp::{atan2, cos, log10, parse_f64, powf, sin};
