//! The few transcendental functions the page draws with (the ring's angles, colour contrast, the
//! speed scale). Owns nothing but the choice of who computes them.
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
}

pub use imp::{atan2, cos, log10, powf, sin};
