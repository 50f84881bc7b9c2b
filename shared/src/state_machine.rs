//! The replicated state machine: one integer register starting at 0, plus the client requests it
//! has executed (Raft §8, exactly-once). Owns applying committed entries; knows nothing of logs,
//! roles or messages.

use std::collections::BTreeMap;

use crate::command::Command;
use crate::rng::Rng;
use crate::types::{ClientSerial, EntryData};

/// The replicated state machine: one integer register, starting at 0, and the client requests it
/// has already executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateMachine {
    /// Current value of the register.
    pub value: i64,
    rng: Rng,
    /// Every (client, serial) executed so far (§8: "the state machine tracks the latest serial
    /// number processed for each client"), per client. All serials rather than the latest one,
    /// because the page lets a person send the next request before the last one committed, and
    /// requests sent to different servers may commit out of order: "latest serial" would then
    /// drop a real one.
    executed: BTreeMap<u64, Session>,
}

/// The serials of one client that were executed, as disjoint ranges `start ..= end`. Serials
/// mostly arrive in order, so this stays a handful of ranges however long the log grows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Session {
    ranges: BTreeMap<u64, u64>,
}

impl Session {
    fn contains(&self, serial: u64) -> bool {
        self.ranges
            .range(..=serial)
            .next_back()
            .is_some_and(|(_, end)| *end >= serial)
    }

    /// Record `serial`; false if it was there already.
    fn insert(&mut self, serial: u64) -> bool {
        if self.contains(serial) {
            return false;
        }
        let mut start = serial;
        let mut end = serial;
        // Join the range that ends right before it (that range ends below `serial`, or
        // `contains` would have said so, so `+ 1` cannot overflow)…
        if let Some((&s, &e)) = self.ranges.range(..serial).next_back() {
            if e + 1 == serial {
                start = s;
            }
        }
        // …and the one that starts right after it.
        if let Some(next) = serial.checked_add(1) {
            if let Some(e) = self.ranges.remove(&next) {
                end = e;
            }
        }
        self.ranges.insert(start, end);
        true
    }
}

/// What applying one entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The register after it.
    pub value: i64,
    /// The entry repeats a request already executed, so it was not executed again.
    pub duplicate: Option<ClientSerial>,
}

impl StateMachine {
    /// A register at 0 whose `add rand` draws come from `rng`.
    pub fn new(rng: Rng) -> Self {
        StateMachine {
            value: 0,
            rng,
            executed: BTreeMap::new(),
        }
    }

    /// Execute `command` on `base` with this machine's random stream, without changing the
    /// register (the *state*-model leader computes the value to log this way).
    pub fn execute_on(&mut self, command: Command, base: i64) -> i64 {
        command.execute(base, &mut self.rng)
    }

    /// True if the request `client` (its id and serial) was executed here already.
    pub fn has_executed(&self, client: ClientSerial) -> bool {
        self.executed
            .get(&client.client_id)
            .is_some_and(|s| s.contains(client.serial))
    }

    /// Apply one committed entry's data: execute it, unless its (client, serial) was executed
    /// before (a duplicated or retried request), in which case the register stays as it is.
    pub fn apply(&mut self, data: &EntryData) -> Applied {
        if let Some(client) = data.client() {
            let session = self.executed.entry(client.client_id).or_default();
            if !session.insert(client.serial) {
                return Applied {
                    value: self.value,
                    duplicate: Some(client),
                };
            }
        }
        match data {
            EntryData::Noop => {}
            EntryData::Request { command, .. } => {
                self.value = command.execute(self.value, &mut self.rng)
            }
            EntryData::Value { value, .. } => self.value = *value,
        }
        Applied {
            value: self.value,
            duplicate: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_with_a_serial_is_executed_once() {
        let mut sm = StateMachine::new(Rng::new(0));
        let client = Some(ClientSerial {
            client_id: 7,
            serial: 1,
        });
        let add5 = EntryData::Request {
            command: Command::Add(5),
            client,
        };
        assert_eq!(sm.apply(&add5).value, 5);
        let again = sm.apply(&add5);
        assert_eq!(again.value, 5, "a duplicate must not add 5 twice");
        assert_eq!(again.duplicate, client);
        // A later serial of the same client, and the same serial of another client, do run.
        let next = EntryData::Request {
            command: Command::Add(5),
            client: Some(ClientSerial {
                client_id: 7,
                serial: 2,
            }),
        };
        assert_eq!(sm.apply(&next).value, 10);
        let other = EntryData::Request {
            command: Command::Add(5),
            client: Some(ClientSerial {
                client_id: 8,
                serial: 1,
            }),
        };
        assert_eq!(sm.apply(&other).value, 15);
        // Without a serial there is nothing to recognise a repeat by.
        let anonymous = EntryData::Request {
            command: Command::Add(1),
            client: None,
        };
        assert_eq!(sm.apply(&anonymous).value, 16);
        assert_eq!(sm.apply(&anonymous).value, 17);
    }

    #[test]
    fn a_session_keeps_ranges_and_merges_them_in_any_order() {
        let mut session = Session::default();
        for serial in [1, 2, 3, 7, 5, 6, 9] {
            assert!(session.insert(serial), "{serial} is new");
        }
        assert_eq!(
            session
                .ranges
                .iter()
                .map(|(s, e)| (*s, *e))
                .collect::<Vec<_>>(),
            vec![(1, 3), (5, 7), (9, 9)]
        );
        assert!(session.insert(4), "4 joins 1..=3 and 5..=7");
        assert!(session.insert(8));
        assert_eq!(session.ranges.len(), 1, "{:?}", session.ranges);
        for serial in 1..=9 {
            assert!(!session.insert(serial), "{serial} was executed");
        }
        assert!(!session.contains(10) && !session.contains(0));
        assert!(session.insert(u64::MAX) && session.contains(u64::MAX));
    }
}
