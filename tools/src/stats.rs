//! The order statistics the experiment commands summarise their runs with. Pure functions over
//! plain numbers; must not print or decide what a figure means.

/// (min, median, max) of the values; the median of an even count is the mean of the middle two.
///
/// # Panics
/// On an empty list: a summary of no runs has no numbers to show.
pub fn min_median_max(mut values: Vec<f64>) -> (f64, f64, f64) {
    assert!(!values.is_empty(), "min_median_max of no values");
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (values[0], median, values[n - 1])
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p` of all values
/// at or below it (`p` from 0 to 1).
///
/// # Panics
/// On an empty slice.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_odd_and_even_counts() {
        assert_eq!(min_median_max(vec![3.0, 1.0, 2.0]), (1.0, 2.0, 3.0));
        assert_eq!(min_median_max(vec![4.0, 1.0, 2.0, 3.0]), (1.0, 2.5, 4.0));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&v, 0.5), 500);
        assert_eq!(percentile(&v, 0.95), 950);
        assert_eq!(percentile(&v, 1.0), 1000);
        assert_eq!(percentile(&[7], 0.95), 7);
    }
}
