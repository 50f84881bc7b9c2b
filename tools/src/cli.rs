//! Command-line plumbing shared by the experiment commands: parsing with clap (so `--flag value`
//! and `--flag=value` both work), the checks that involve more than one flag, the `--quick`
//! defaults rule, the first-seed option and the build label their headers print. Owns no
//! experiment; must not change what a flag means (the flags are a contract for scripts).

use std::ffi::OsString;
use std::ops::RangeInclusive;

use clap::error::ErrorKind;
use clap::{Args, Parser};

/// A parsed command line that still has to be checked as a whole (flags that contradict each
/// other, seeds that overflow) and have its `--quick` defaults filled in. clap checks each flag
/// on its own; this is the rest.
pub trait Resolve: Parser {
    /// What the program runs with.
    type Settings;
    /// The settings, or a one-line reason the combination makes no sense.
    fn resolve(self) -> Result<Self::Settings, String>;
}

/// Parse and resolve `argv` (program name first). The error is clap's own, so a bad combination
/// prints and exits like a bad flag; `--help` comes back as an error of kind `DisplayHelp`.
pub fn try_parse_from<A, I, T>(argv: I) -> Result<A::Settings, clap::Error>
where
    A: Resolve,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    A::try_parse_from(argv)?
        .resolve()
        .map_err(|reason| A::command().error(ErrorKind::ArgumentConflict, reason))
}

/// The process's own command line. `--help` prints and exits 0; bad arguments print the reason
/// and exit 2, as the commands always have.
pub fn parse<A: Resolve>() -> A::Settings {
    try_parse_from::<A, _, _>(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// The one rule every `--quick` follows: a flag given on the command line wins; otherwise
/// `--quick` picks the short smoke-run value, and without it the normal default applies.
pub fn or_quick<T>(given: Option<T>, quick: bool, quick_value: T, default: T) -> T {
    given.unwrap_or(if quick { quick_value } else { default })
}

/// `--seed SEED` as `sim-bench` and `figure16` mean it: run i (counting from 0) uses seed
/// SEED+i, so one number names a whole series of runs.
#[derive(Args, Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstSeed {
    /// First seed: run i (counting from 0) uses seed SEED+i
    #[arg(long = "seed", value_name = "SEED", default_value_t = 1)]
    pub first: u64,
}

impl FirstSeed {
    /// The seeds of `count` runs, or why they do not fit in a `u64`.
    pub fn seeds(&self, count: u64) -> Result<RangeInclusive<u64>, String> {
        seed_range(self.first, count).ok_or_else(|| {
            format!(
                "--seed {} with {count} runs goes past the largest seed {}",
                self.first,
                u64::MAX
            )
        })
    }
}

/// `count` seeds from `first` on, or `None` when there are none or the last would overflow.
pub fn seed_range(first: u64, count: u64) -> Option<RangeInclusive<u64>> {
    let last = first.checked_add(count.checked_sub(1)?)?;
    Some(first..=last)
}

/// How the program was built, for the header line: wall-clock figures of a debug build say
/// nothing about the code's speed, so the header says so in capitals.
pub fn build_label() -> &'static str {
    if cfg!(debug_assertions) {
        "DEBUG (wall times are meaningless: use --release)"
    } else {
        "release"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_defaults_yield_to_explicit_flags() {
        assert_eq!(or_quick(None, false, 2, 600), 600);
        assert_eq!(or_quick(None, true, 2, 600), 2);
        assert_eq!(or_quick(Some(7), true, 2, 600), 7);
    }

    #[test]
    fn seed_ranges_refuse_overflow_and_emptiness() {
        assert_eq!(seed_range(5, 3), Some(5..=7));
        assert_eq!(seed_range(u64::MAX, 1), Some(u64::MAX..=u64::MAX));
        assert_eq!(seed_range(u64::MAX, 2), None);
        assert_eq!(seed_range(0, 0), None);
        let first = FirstSeed {
            first: u64::MAX - 1,
        };
        assert_eq!(first.seeds(2), Ok(u64::MAX - 1..=u64::MAX));
        assert!(first.seeds(3).unwrap_err().contains("largest seed"));
    }
}
