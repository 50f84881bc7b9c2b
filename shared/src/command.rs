//! The client command grammar (`add 5`, `mul 3`, `set 7`, `add rand`) and what each does to the
//! register (the state machine itself is in `state_machine.rs`). Parsing never panics; arithmetic wraps instead of
//! overflowing, because a student typing `mul 1000000000` twice must not crash a node.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Largest absolute operand accepted, so values stay readable on a projector.
pub const OPERAND_ABS_MAX: i64 = 1_000_000_000;
/// `add rand` draws uniformly from `1..=ADD_RAND_MAX`.
pub const ADD_RAND_MAX: u64 = 100;

/// A client request against the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "n", rename_all = "snake_case")]
pub enum Command {
    /// value += n
    Add(i64),
    /// value *= n
    Mul(i64),
    /// value = n
    Set(i64),
    /// value += a random number in 1..=100 — deliberately non-deterministic.
    AddRand,
}

/// Why a command did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Nothing was typed.
    #[error("empty command: try \"add 5\", \"mul 3\", \"set 7\" or \"add rand\"")]
    Empty,
    /// The first word is not an operation.
    #[error("unknown operation {0:?}: expected add, mul or set")]
    UnknownOp(String),
    /// The operation needs a number.
    #[error("\"{0}\" needs a number, e.g. \"{0} 5\"")]
    MissingOperand(String),
    /// The operand is not an integer.
    #[error("{0:?} is not a whole number")]
    BadOperand(String),
    /// The operand is too large.
    #[error("{0} is out of range: use a number between -{max} and {max}", max = OPERAND_ABS_MAX)]
    OutOfRange(i64),
    /// Extra words after the command.
    #[error("unexpected {0:?} after the command")]
    Trailing(String),
}

impl std::str::FromStr for Command {
    type Err = CommandError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut words = text.split_whitespace();
        let op = words
            .next()
            .ok_or(CommandError::Empty)?
            .to_ascii_lowercase();
        let operand = words.next();
        if let Some(extra) = words.next() {
            return Err(CommandError::Trailing(extra.to_string()));
        }
        let number = |word: Option<&str>| -> Result<i64, CommandError> {
            let word = word.ok_or_else(|| CommandError::MissingOperand(op.clone()))?;
            let n: i64 = word
                .parse()
                .map_err(|_| CommandError::BadOperand(word.to_string()))?;
            // `unsigned_abs`, not `abs`: `abs()` of `i64::MIN` overflows (a panic in a debug
            // build, and `i64::MIN` itself in release, which slipped past this check).
            if n.unsigned_abs() > OPERAND_ABS_MAX.unsigned_abs() {
                return Err(CommandError::OutOfRange(n));
            }
            Ok(n)
        };
        match op.as_str() {
            "add" if operand.is_some_and(|w| w.eq_ignore_ascii_case("rand")) => {
                Ok(Command::AddRand)
            }
            "add" => Ok(Command::Add(number(operand)?)),
            "mul" => Ok(Command::Mul(number(operand)?)),
            "set" => Ok(Command::Set(number(operand)?)),
            _ => Err(CommandError::UnknownOp(op)),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Add(n) => write!(f, "add {n}"),
            Command::Mul(n) => write!(f, "mul {n}"),
            Command::Set(n) => write!(f, "set {n}"),
            Command::AddRand => f.write_str("add rand"),
        }
    }
}

/// Serde helpers that carry a [`Command`] as its text ("add 5") where the wire protocol has always
/// had text: `#[serde(with = "crate::command::as_text")]`.
pub mod as_text {
    use super::Command;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Write the command as "add 5".
    pub fn serialize<S: Serializer>(command: &Command, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(command)
    }

    /// Read "add 5" back, with the parser's own error message.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Command, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Command {
    /// The register's value after executing this command on `value`. `add rand` draws from `rng`:
    /// each caller passes its own generator, which is exactly why replicas diverge in *command*
    /// mode.
    pub fn execute(self, value: i64, rng: &mut Rng) -> i64 {
        match self {
            Command::Add(n) => value.wrapping_add(n),
            Command::Mul(n) => value.wrapping_mul(n),
            Command::Set(n) => n,
            Command::AddRand => value.wrapping_add(rng.range_inclusive(1, ADD_RAND_MAX) as i64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_grammar() {
        assert_eq!("add 5".parse(), Ok(Command::Add(5)));
        assert_eq!("  MUL   -3 ".parse(), Ok(Command::Mul(-3)));
        assert_eq!("set 7".parse(), Ok(Command::Set(7)));
        assert_eq!("add rand".parse(), Ok(Command::AddRand));
        assert_eq!("add RAND".parse(), Ok(Command::AddRand));
    }

    #[test]
    fn bad_input_is_a_clear_error_not_a_panic() {
        assert_eq!("".parse::<Command>(), Err(CommandError::Empty));
        assert_eq!(
            "div 2".parse::<Command>(),
            Err(CommandError::UnknownOp("div".into()))
        );
        assert_eq!(
            "add".parse::<Command>(),
            Err(CommandError::MissingOperand("add".into()))
        );
        assert_eq!(
            "add five".parse::<Command>(),
            Err(CommandError::BadOperand("five".into()))
        );
        assert_eq!(
            "add 99999999999999999999".parse::<Command>(),
            Err(CommandError::BadOperand("99999999999999999999".into()))
        );
        assert_eq!(
            "set 2000000000".parse::<Command>(),
            Err(CommandError::OutOfRange(2_000_000_000))
        );
        assert_eq!(
            "add 1 2".parse::<Command>(),
            Err(CommandError::Trailing("2".into()))
        );
        assert!(CommandError::Empty.to_string().contains("add 5"));
        // Found from outside: `abs()` of i64::MIN overflowed and slipped past the range check
        // (and panicked the driver thread in a debug build).
        assert_eq!(
            "add -9223372036854775808".parse::<Command>(),
            Err(CommandError::OutOfRange(i64::MIN))
        );
        assert_eq!(
            "mul -1000000001".parse::<Command>(),
            Err(CommandError::OutOfRange(-1_000_000_001))
        );
        assert_eq!("set -1000000000".parse(), Ok(Command::Set(-1_000_000_000)));
    }

    #[test]
    fn display_round_trips() {
        for c in [
            Command::Add(-4),
            Command::Mul(3),
            Command::Set(0),
            Command::AddRand,
        ] {
            assert_eq!(c.to_string().parse(), Ok(c));
        }
    }

    #[test]
    fn arithmetic_wraps_instead_of_panicking() {
        let mut rng = Rng::new(0);
        let v = Command::Mul(OPERAND_ABS_MAX).execute(i64::MAX, &mut rng);
        assert_eq!(v, i64::MAX.wrapping_mul(OPERAND_ABS_MAX));
        let r = Command::AddRand.execute(10, &mut rng);
        assert!((11..=110).contains(&r));
    }
}
