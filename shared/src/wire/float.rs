//! A JSON number's text (already checked against JSON's grammar by `json.rs`) to an `f64`,
//! without `core`'s float parser (`str::parse::<f64>`, whose tables are ≈ 12 KB brotli of a wasm
//! module: docs/bench-frontend.md). Owns that conversion only.
//!
//! Exact: the same `f64` as `str::parse` (tested on seeded doubles from 10^-300 to 10^300, on
//! subnormals and on exponents of any length) for every number of up to 19 significant digits;
//! more digits are cut at 19 (serde_json writes at most 17, the shortest text that reads back).
//! Beyond the largest double the result is infinity, which `json.rs` refuses, as serde_json
//! does.
//!
//! How: the digits are read as a whole number `m` and the exponent `e` (value = m × 10^e).
//! * `m < 2^53` and `|e| <= 22`: `m` and `10^|e|` are exact doubles, and one multiplication or
//!   division rounds once, correctly (Clinger's fast path: every float the protocol writes, a
//!   probability or a speed, that is not a long fraction).
//! * Otherwise in big integers, a few machine words (`Big`): `m × 10^e`, or for `e < 0`,
//!   `m × 2^k` divided by ten `-e` times with `k` large enough that the quotient keeps more than
//!   64 significant bits. The top 64 bits, with a "sticky" lowest bit set when anything below
//!   them or any remainder was not zero, round to 53 bits exactly as the whole number would; the
//!   power of two is then put back exactly. A subnormal keeps fewer bits: `subnormal` rounds to
//!   those itself, so that it too rounds once.

/// The `f64` nearest to `text`, a JSON number.
pub fn parse(text: &str) -> f64 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa_text, exponent) = match digits.find(['e', 'E']) {
        Some(i) => (&digits[..i], exponent(&digits[i + 1..])),
        None => (digits, 0),
    };
    // The digits as one whole number (the first 19 significant ones: more cannot be exact
    // anyway), and the exponent of its last digit. The exponent is held far from `i32`'s limits
    // (`EXPONENT_LIMIT`), so counting the digits cannot overflow it.
    let mut m: u64 = 0;
    let mut e: i32 = exponent;
    let mut significant = 0;
    let mut after_point = false;
    for b in mantissa_text.bytes() {
        if b == b'.' {
            after_point = true;
            continue;
        }
        let digit = u64::from(b - b'0');
        if significant < 19 {
            m = m * 10 + digit;
            if m > 0 {
                significant += 1;
            }
            if after_point {
                e -= 1;
            }
        } else if !after_point {
            e += 1; // a dropped digit before the point still counts as a power of ten
        }
    }
    let magnitude = magnitude(m, e);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// Beyond this, any exponent gives infinity or zero: it is held there, whatever its digits.
const EXPONENT_LIMIT: i32 = 100_000;

/// An exponent's text (`-12`, `+5`, `7`), held within ±[`EXPONENT_LIMIT`].
fn exponent(text: &str) -> i32 {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = digits.bytes().fold(0i32, |n, d| {
        (n * 10 + i32::from(d - b'0')).min(EXPONENT_LIMIT)
    });
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// m × 10^e, correctly rounded.
fn magnitude(m: u64, e: i32) -> f64 {
    if m == 0 {
        return 0.0;
    }
    if m < 1 << 53 && (-22..=22).contains(&e) {
        let power = pow10(e.unsigned_abs());
        return if e >= 0 {
            m as f64 * power
        } else {
            m as f64 / power
        };
    }
    if e > 310 {
        return f64::INFINITY; // m >= 1, so above the largest double
    }
    if e < -342 {
        return 0.0; // m < 10^19, so below 10^-324: under half the smallest double (4.9e-324)
    }
    let mut big = Big(vec![m]);
    let mut sticky = false;
    let mut scale: i32 = 0; // value = big × 2^scale (× the remainders' fractions)
    if e >= 0 {
        for _ in 0..e {
            big.mul_small(10);
        }
    } else {
        let n = e.unsigned_abs();
        // log2(10) < 4: after `n` divisions by ten, 4n + 64 extra bits leave more than 64.
        let k = 4 * n + 64;
        big.shift_left(k);
        scale = -(k as i32);
        for _ in 0..n {
            sticky |= big.div_small(10) != 0;
        }
    }
    let (top, below, shift) = big.top64();
    let sticky = sticky || below;
    let power = scale + shift as i32; // the value is top × 2^power, plus `sticky`'s crumbs
    if power + 63 < -1022 {
        return subnormal(top, sticky, power);
    }
    let rounded = (top | u64::from(sticky)) as f64; // one rounding, with the sticky bit
    scale_by_two(rounded, power)
}

/// `top × 2^power` (plus a little more when `sticky`) below the smallest normal double: a
/// subnormal keeps only the bits from 2^-1074 up, so round `top` to those here, half to even
/// (the conversion after is then exact; rounding twice could be one unit off).
fn subnormal(top: u64, sticky: bool, power: i32) -> f64 {
    let drop = (-1074 - power) as u32; // bits of `top` below 2^-1074: more than 11 here
    if drop > 64 {
        return 0.0; // below a quarter of the smallest subnormal
    }
    let top = u128::from(top);
    let kept = top >> drop;
    let rest = top & ((1u128 << drop) - 1);
    let half = 1u128 << (drop - 1);
    let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    scale_by_two((kept + u128::from(up)) as f64, -1074)
}

/// A non-negative whole number in 64-bit words, least significant first.
struct Big(Vec<u64>);

impl Big {
    fn mul_small(&mut self, factor: u64) {
        let mut carry = 0u128;
        for word in &mut self.0 {
            let product = u128::from(*word) * u128::from(factor) + carry;
            *word = product as u64;
            carry = product >> 64;
        }
        if carry != 0 {
            self.0.push(carry as u64);
        }
    }

    fn shift_left(&mut self, bits: u32) {
        let words = (bits / 64) as usize;
        let bits = bits % 64;
        if bits != 0 {
            let mut carry = 0u64;
            for word in &mut self.0 {
                let next = *word >> (64 - bits);
                *word = (*word << bits) | carry;
                carry = next;
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, words));
    }

    /// Divide in place by a divisor below 2^32, returning the remainder. Half a word at a time,
    /// so that no 128-bit division (a library routine in wasm) is needed.
    fn div_small(&mut self, divisor: u64) -> u64 {
        let mut remainder = 0u64;
        for word in self.0.iter_mut().rev() {
            let high = (remainder << 32) | (*word >> 32);
            let (q_high, r) = (high / divisor, high % divisor);
            let low = (r << 32) | (*word & 0xFFFF_FFFF);
            *word = (q_high << 32) | (low / divisor);
            remainder = low % divisor;
        }
        while self.0.len() > 1 && self.0.last() == Some(&0) {
            self.0.pop();
        }
        remainder
    }

    /// The number's 64 highest bits (the top bit set), whether any bit below them is set, and
    /// the power of two they stand at: number ≈ top × 2^shift.
    fn top64(&self) -> (u64, bool, u32) {
        let high = self.0.len() - 1;
        let lead = self.0[high].leading_zeros();
        let bits = (high as u32) * 64 + (64 - lead); // the number's length in bits
        if bits <= 64 {
            return (self.0[0], false, 0);
        }
        let shift = bits - 64;
        let (word, bit) = ((shift / 64) as usize, shift % 64);
        let mut top = self.0[word] >> bit;
        if bit != 0 {
            top |= self.0[word + 1] << (64 - bit);
        }
        let below =
            self.0[..word].iter().any(|&w| w != 0) || (bit != 0 && self.0[word] << (64 - bit) != 0);
        (top, below, shift)
    }
}

/// x × 2^power, exactly while the result is a normal double (x is an integer below 2^64).
fn scale_by_two(x: f64, power: i32) -> f64 {
    // In steps the exponent field can hold, so that no step overflows on its own.
    let mut x = x;
    let mut power = power;
    while power != 0 {
        let step = power.clamp(-1000, 1000);
        x *= f64::from_bits(((1023 + step) as u64) << 52);
        power -= step;
    }
    x
}

/// 10^n as a double: exact up to 10^22.
fn pow10(n: u32) -> f64 {
    let mut power = 1.0;
    for _ in 0..n {
        power *= 10.0;
    }
    power
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_std(text: &str) {
        let ours = parse(text);
        let std: f64 = text.parse().unwrap();
        assert_eq!(
            ours.to_bits(),
            std.to_bits(),
            "{text}: {ours} against {std}"
        );
    }

    #[test]
    fn the_protocols_floats_read_exactly() {
        for text in [
            "0.0",
            "-0.0",
            "1.0",
            "0.1",
            "0.2",
            "0.05",
            "20.0",
            "0.001",
            "1000.0",
            "1e-7",
            "2.5E+3",
            "-2.5e-3",
            "0.30000000000000004",
            "0.31622776601683794",
            "0.0031622776601683794",
            "3.1622776601683794e-5",
            "123456789012345678.0",
            "9007199254740993.0",
            "1.7976931348623157e38",
            "4.35",
            "0.1e1",
        ] {
            same_as_std(text);
        }
    }

    #[test]
    fn the_shortest_text_of_any_double_reads_back_to_it() {
        // Seeded doubles spread over 10^-300..10^300, written as serde_json writes them (the
        // shortest text that reads back: ryu), and the speed scale's values.
        let mut rng = crate::Rng::new(42);
        for i in 0..100_000 {
            let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let exponent = (rng.next_u64() % 601) as i32 - 300;
            let x = (unit + 0.1) * 10f64.powi(exponent);
            let text = serde_json::to_string(&x).unwrap();
            same_as_std(&text);
            let speed = 10f64.powf(-3.0 + 6.0 * (i as f64 / 100_000.0));
            same_as_std(&serde_json::to_string(&speed).unwrap());
        }
    }

    #[test]
    fn subnormals_round_once() {
        let mut rng = crate::Rng::new(7);
        for _ in 0..50_000 {
            // Every bit pattern of a positive subnormal, and the smallest normals.
            let bits = rng.next_u64() % (1u64 << 53);
            let x = f64::from_bits(bits);
            same_as_std(&serde_json::to_string(&x).unwrap());
        }
        for text in [
            "4.9406564584124654e-324",
            "5e-324",
            "2.4703282292062328e-324",
            "2.4703282292062327e-324",
            "3.91901955162682e-309",
            "1.000000000000000000e-312",
            "1000000000000000000e-330",
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
        ] {
            same_as_std(text);
        }
    }

    #[test]
    fn any_exponent_is_read_without_overflow() {
        for text in [
            "1e-99999999999",
            "0.5e-99999999999",
            "1e99999999999",
            "1.5e-2147483648",
            "12345678901234567890e2147483647",
            "1e+400",
            "1E-400",
            "0e99999999999",
            "123456789012345678901234567890e-2147483648",
        ] {
            same_as_std(text);
        }
    }

    #[test]
    fn the_edges_of_the_range() {
        for text in [
            "1e300",
            "1.2345678901234567e-200",
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            "9.999999999999999e22",
            "1e23",
            "8.98846567431158e307",
        ] {
            same_as_std(text);
        }
        assert_eq!(parse("1e400"), f64::INFINITY);
        assert_eq!(parse("1e-400"), 0.0);
        // More than 19 digits are cut: close, not always exact.
        let long = "12345678901234567890123e5";
        let std: f64 = long.parse().unwrap();
        assert!(((parse(long) - std) / std).abs() < 1e-15);
    }
}
