//! The small words of a lesson line: numbers, durations, ranges, probabilities, server names,
//! and the nearest known word to a misspelt one. Owns how each is written and the message when it
//! is not; must not know which command uses them (`parse` does).

use crate::types::NodeId;

use super::LessonError;

pub(super) fn need_text(
    rest: &str,
    line: usize,
    word: &str,
    what: &str,
) -> Result<String, LessonError> {
    if rest.is_empty() {
        Err(LessonError::at(line, format!("'{word}' needs {what}")))
    } else {
        Ok(rest.to_string())
    }
}

pub(super) fn number(text: &str, line: usize, what: &str) -> Result<u64, LessonError> {
    text.trim()
        .parse()
        .map_err(|_| LessonError::at(line, format!("{what}: '{text}' is not a whole number")))
}

/// `300`, `300ms` or `2s`.
pub(super) fn ms(text: &str, line: usize, what: &str) -> Result<u64, LessonError> {
    let t = text.trim();
    if let Some(s) = t.strip_suffix("ms") {
        number(s, line, what)
    } else if let Some(s) = t.strip_suffix('s') {
        number(s, line, what)?.checked_mul(1000).ok_or_else(|| {
            LessonError::at(line, format!("{what}: '{text}' is too long a duration"))
        })
    } else {
        number(t, line, what).map_err(|_| {
            LessonError::at(
                line,
                format!("{what}: '{text}' is not a duration (e.g. 300ms, 2s)"),
            )
        })
    }
}

/// `150-300` or `150 300` (ms).
pub(super) fn range(text: &str, line: usize, what: &str) -> Result<(u64, u64), LessonError> {
    let parts: Vec<&str> = text
        .split(|c: char| c == '-' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    match parts[..] {
        [lo, hi] => Ok((ms(lo, line, what)?, ms(hi, line, what)?)),
        _ => Err(LessonError::at(
            line,
            format!("{what}: expected a range in ms, e.g. '150-300'"),
        )),
    }
}

pub(super) fn probability(text: &str, line: usize, what: &str) -> Result<f64, LessonError> {
    match decimal(text.trim()) {
        Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(LessonError::at(
            line,
            format!("{what}: '{text}' is not a probability between 0 and 1"),
        )),
    }
}

/// A plain decimal (`0.25`, `.5`, `1`) of at most 15 digits, as the nearest `f64`: the same
/// value `str::parse::<f64>` gives, since the digits as a whole number and the power of ten are
/// both exact in an `f64` (below 2^53) and one division rounds correctly. Read here rather than
/// through `parse::<f64>` because that parser's tables (~10 KB of powers of five) would otherwise
/// be in the browser's engine module for this alone.
pub fn decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = whole.len() + fraction.len();
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if digits == 0 || digits > 15 || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let n = whole
        .bytes()
        .chain(fraction.bytes())
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    Some(n as f64 / 10f64.powi(fraction.len() as i32))
}

/// `S3`, `s3` or `3`, within the cluster.
pub(super) fn node(text: &str, line: usize, n: u64) -> Result<NodeId, LessonError> {
    let t = text.trim();
    let digits = t.strip_prefix(['S', 's']).unwrap_or(t);
    match digits.parse::<u64>() {
        Ok(id) if (1..=n).contains(&id) => Ok(NodeId(id)),
        Ok(id) => Err(LessonError::at(
            line,
            format!("there is no S{id}: the cluster has S1 to S{n}"),
        )),
        Err(_) => Err(LessonError::at(
            line,
            format!("'{t}' is not a server: write S1 to S{n}"),
        )),
    }
}

pub(super) fn nodes(text: &str, line: usize, n: u64) -> Result<Vec<NodeId>, LessonError> {
    text.split_whitespace().map(|t| node(t, line, n)).collect()
}

/// The known word nearest to a misspelt one (at most two edits away).
pub(super) fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edits(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance (short words only).
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimals_read_as_parse_reads_them() {
        // Every probability a lesson can write with up to 4 decimals, and longer ones.
        for i in 0..=10_000u32 {
            for text in [format!("{}", f64::from(i) / 10_000.0), format!("0.{i:04}")] {
                let parsed: f64 = text.parse().unwrap();
                assert_eq!(
                    decimal(&text).map(f64::to_bits),
                    Some(parsed.to_bits()),
                    "{text}"
                );
            }
        }
        for text in [
            "0.1",
            "0.30000000000001",
            "1",
            "1.0",
            "0.00000000000001",
            "123456.789012345",
        ] {
            let parsed: f64 = text.parse().unwrap();
            assert_eq!(
                decimal(text).map(f64::to_bits),
                Some(parsed.to_bits()),
                "{text}"
            );
        }
        assert_eq!(decimal(".5"), Some(0.5));
        assert_eq!(decimal("5."), Some(5.0));
    }

    #[test]
    fn anything_else_is_no_decimal() {
        for text in [
            "",
            ".",
            "-0.1",
            "+0.1",
            "1e-1",
            "inf",
            "NaN",
            "0.1.2",
            "0,5",
            " 0.5",
            "0.1234567890123456",
        ] {
            assert_eq!(decimal(text), None, "{text:?}");
        }
    }
}
