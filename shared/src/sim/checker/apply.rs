//! The state machines against a replay of the committed log. Each node life applies entries in
//! index order, each once, starting from a register at 0; every value it reports must be what
//! replaying the committed entries gives. In the *command* model `add rand` draws from each
//! replica's own generator, so replicas legitimately diverge: each node is checked against its own
//! replay, where an `add rand` may add anything in 1..=100. In the *state* model the value is the
//! committed `Value` entry's, and each committed value must itself be its command executed on the
//! value before it. A request whose client and serial were executed before is not executed again
//! (Raft §8), in the replay as in the state machine. Reads events and the committed log; changes
//! nothing.

use std::collections::{BTreeMap, BTreeSet};

use super::{broken, Check};
use crate::command::{Command, ADD_RAND_MAX};
use crate::rng::Rng;
use crate::tree::IntoTree;
use crate::types::{ClientSerial, Entry, EntryData, LogIndex, NodeId};

/// What may follow `before` when an entry with `data` is applied.
enum Expect {
    /// Exactly this value.
    Value(i64),
    /// `add rand` on a replica: `before` plus 1..=100.
    AddRand(i64),
}

impl Expect {
    /// What applying `data` on `before` gives, given the requests `executed` so far (updated).
    fn after(before: i64, data: &EntryData, executed: &mut BTreeSet<ClientSerial>) -> Self {
        if data.client().is_some_and(|c| !executed.insert(c)) {
            return Expect::Value(before); // a repeat: not executed again
        }
        match data {
            EntryData::Noop => Expect::Value(before),
            EntryData::Value { value, .. } => Expect::Value(*value),
            EntryData::Request { command, .. } => run(*command, before),
        }
    }

    fn allows(&self, value: i64) -> bool {
        match *self {
            Expect::Value(v) => v == value,
            Expect::AddRand(before) => {
                (1..=ADD_RAND_MAX as i64).contains(&value.wrapping_sub(before))
            }
        }
    }

    fn describe(&self) -> String {
        match *self {
            Expect::Value(v) => v.to_string(),
            Expect::AddRand(before) => format!(
                "{} to {}",
                before.wrapping_add(1),
                before.wrapping_add(ADD_RAND_MAX as i64)
            ),
        }
    }
}

/// `command` executed on `before`, the random draw left open.
fn run(command: Command, before: i64) -> Expect {
    match command {
        Command::AddRand => Expect::AddRand(before),
        // Deterministic: the generator is never drawn from.
        other => Expect::Value(other.execute(before, &mut Rng::new(0))),
    }
}

/// Every running node's replay, and the state model's committed value chain.
#[derive(Clone, Debug, Default)]
pub(super) struct Apply {
    /// Node → its replay in this life.
    lives: BTreeMap<NodeId, Life>,
    /// *state* model: the register after the committed log so far (the newest `Value`).
    committed_value: i64,
    /// Requests executed by the committed log so far.
    committed_executed: BTreeSet<ClientSerial>,
}

/// One node life's replay.
#[derive(Clone, Debug, Default)]
struct Life {
    /// Last index applied.
    last: LogIndex,
    /// The register after it.
    value: i64,
    /// Requests (client, serial) executed so far.
    executed: BTreeSet<ClientSerial>,
}

impl Apply {
    /// A new life of `node` starts from a register at 0 with nothing applied.
    pub(super) fn restarted(&mut self, node: NodeId) {
        self.lives.insert(node, Life::default());
    }

    /// `node` stopped: its state machine is gone.
    pub(super) fn stopped(&mut self, node: NodeId) {
        self.lives.remove(&node);
    }

    /// `entry` joined the committed log (in index order). A *state*-model value must be its
    /// command executed on the committed value before it: the leader executed it on the newest
    /// value in its log, and that log's prefix is exactly what is committed before it.
    pub(super) fn committed(&mut self, entry: &Entry) -> Check {
        if let EntryData::Value {
            value,
            command,
            client,
        } = entry.data
        {
            if client.is_some_and(|c| !self.committed_executed.insert(c)) {
                return Ok(()); // a repeat: no state machine installs it
            }
            let expect = run(command, self.committed_value);
            if !expect.allows(value) {
                return broken(
                    "state machine replay",
                    format!(
                        "committed entry {} (term {}) says value = {value} for {command:?} on \
                         the committed value {}, expected {}",
                        entry.index,
                        entry.term,
                        self.committed_value,
                        expect.describe()
                    ),
                );
            }
            self.committed_value = value;
        }
        Ok(())
    }

    /// `node` applied `entry` (the committed one at that index) and reported `value`.
    pub(super) fn applied(&mut self, node: NodeId, entry: &Entry, value: i64) -> Check {
        let Some(life) = self.lives.get_mut(&node) else {
            // Started before the checker was watching: trust its first apply, check the rest.
            let life = Life {
                last: entry.index,
                value,
                executed: entry.data.client().into_iter().into_set(),
            };
            self.lives.insert(node, life);
            return Ok(());
        };
        let (last, before) = (life.last, life.value);
        if entry.index != last + 1 {
            return broken(
                "apply order",
                format!(
                    "S{node} applied index {} right after index {last} in the same life",
                    entry.index
                ),
            );
        }
        let expect = Expect::after(before, &entry.data, &mut life.executed);
        if !expect.allows(value) {
            return broken(
                "state machine replay",
                format!(
                    "S{node} applied index {} ({}) on {before} and got {value}, expected {}",
                    entry.index,
                    entry.data.describe(),
                    expect.describe()
                ),
            );
        }
        life.last = entry.index;
        life.value = value;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Term;

    fn value_entry(index: LogIndex, value: i64, command: Command) -> Entry {
        Entry {
            index,
            term: Term(1),
            data: EntryData::Value {
                value,
                command,
                client: None,
            },
        }
    }

    #[test]
    fn state_model_values_must_chain_through_their_commands() {
        let mut apply = Apply::default();
        apply
            .committed(&value_entry(LogIndex(1), 7, Command::Set(7)))
            .unwrap();
        apply
            .committed(&value_entry(LogIndex(2), 14, Command::Mul(2)))
            .unwrap();
        apply
            .committed(&value_entry(LogIndex(3), 114, Command::AddRand))
            .unwrap();
        // `add 1` on 114 is 115, not 14 (a leader that executed on a stale value).
        let stale = apply.committed(&value_entry(LogIndex(4), 15, Command::Add(1)));
        assert_eq!(stale.unwrap_err().property, "state machine replay");
        // `add rand` adds 1 to 100, never 0.
        let mut apply = Apply::default();
        let zero = apply.committed(&value_entry(LogIndex(1), 0, Command::AddRand));
        assert_eq!(zero.unwrap_err().property, "state machine replay");
    }

    #[test]
    fn command_model_replicas_replay_with_their_own_draws() {
        let request = |index, command| Entry {
            index,
            term: Term(1),
            data: EntryData::Request {
                command,
                client: None,
            },
        };
        let mut apply = Apply::default();
        apply.restarted(NodeId(1));
        apply
            .applied(NodeId(1), &request(LogIndex(1), Command::Add(5)), 5)
            .unwrap();
        // Any draw in 1..=100 is this replica's own business…
        apply
            .applied(NodeId(1), &request(LogIndex(2), Command::AddRand), 105)
            .unwrap();
        // …but deterministic commands must follow exactly from it.
        let wrong = apply.applied(NodeId(1), &request(LogIndex(3), Command::Mul(2)), 200);
        assert_eq!(wrong.unwrap_err().property, "state machine replay");
        let out_of_range = {
            let mut apply = Apply::default();
            apply.restarted(NodeId(2));
            apply.applied(NodeId(2), &request(LogIndex(1), Command::AddRand), 101)
        };
        assert_eq!(out_of_range.unwrap_err().property, "state machine replay");
    }
}
