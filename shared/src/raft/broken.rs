//! "Break Raft": rules of the paper a teacher may switch off, ON PURPOSE, to watch safety fail
//! (the "break Raft" lab of docs/lessons). Owns the switches and what each one means; the code
//! paths they change stay next to the correct rule they replace (`election.rs`, `replication.rs`,
//! `node.rs`, and the simulator's fsync in `sim/lifecycle.rs`). Every switch is off by default,
//! and a configuration or trace that does not mention them gets the correct Raft.

use serde::{Deserialize, Serialize};

/// Rules switched off on purpose. `BrokenRules::default()` is correct Raft. A name it does not
/// know is refused, not ignored: a typo would otherwise switch every rule back on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokenRules {
    /// BROKEN ON PURPOSE: a leader commits an entry of an *older* term as soon as a majority
    /// holds it. §5.4.2 and Figure 8 show why Raft forbids this: such an entry can still be
    /// overwritten by a later leader, so a "committed" entry is lost.
    pub commit_old_term_by_counting: bool,
    /// BROKEN ON PURPOSE: grant votes without the up-to-date check of §5.4.1 ("the voter denies
    /// its vote if its own log is more up-to-date than that of the candidate"). A candidate
    /// missing committed entries can then win, breaking Leader Completeness.
    pub vote_without_log_check: bool,
    /// BROKEN ON PURPOSE: a restarted server forgets `votedFor`, which Figure 2 lists as
    /// persistent state. It can then vote twice in one term, and two leaders can share a term
    /// (Election Safety, §5.2).
    pub forget_vote_on_restart: bool,
    /// BROKEN ON PURPOSE: a follower acknowledges AppendEntries before its fsync ("updated on
    /// stable storage before responding to RPCs", Figure 2). A leader may then count an entry
    /// that a power loss takes back, and a committed entry can vanish (durability).
    pub ack_before_fsync: bool,
}

impl BrokenRules {
    /// Every switch, with its JSON name, for lists and checks.
    pub const NAMES: [&'static str; 4] = [
        "commit_old_term_by_counting",
        "vote_without_log_check",
        "forget_vote_on_restart",
        "ack_before_fsync",
    ];

    /// True when any rule is switched off (the run is no longer Raft).
    pub fn any(&self) -> bool {
        self.commit_old_term_by_counting
            || self.vote_without_log_check
            || self.forget_vote_on_restart
            || self.ack_before_fsync
    }

    /// The JSON names of the rules switched off.
    pub fn names(&self) -> Vec<&'static str> {
        let on = [
            self.commit_old_term_by_counting,
            self.vote_without_log_check,
            self.forget_vote_on_restart,
            self.ack_before_fsync,
        ];
        Self::NAMES
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect()
    }

    /// Checker properties that only restate a switched-off rule (they would fire the instant
    /// the rule is broken). The safety checker skips them while the rule is off, so that it
    /// reports what breaking the rule *leads to*: one of the safety properties of Figure 3, or
    /// durability.
    pub fn restates(&self, property: &str) -> bool {
        (self.commit_old_term_by_counting && property == "leader commit rule")
            || (self.forget_vote_on_restart
                && matches!(property, "one vote per term" | "persistence"))
            || (self.ack_before_fsync
                && matches!(
                    property,
                    "persistence" | "committed on a synced majority" | "leader progress"
                ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_correct_raft_and_old_json_reads_as_default() {
        assert!(!BrokenRules::default().any());
        let read: BrokenRules = serde_json::from_str("{}").expect("empty object");
        assert_eq!(read, BrokenRules::default());
        let one: BrokenRules =
            serde_json::from_str(r#"{"ack_before_fsync":true}"#).expect("one switch");
        assert!(one.any());
        assert_eq!(one.names(), vec!["ack_before_fsync"]);
        assert!(one.restates("persistence"));
        assert!(!BrokenRules::default().restates("persistence"));
    }

    #[test]
    fn a_misspelt_rule_is_refused_with_the_names_it_could_be() {
        let typo = serde_json::from_str::<BrokenRules>(r#"{"ack_before_fsycn":true}"#);
        let error = typo
            .expect_err("a typo must not read as every rule back on")
            .to_string();
        assert!(
            error.contains("ack_before_fsycn") && error.contains("ack_before_fsync"),
            "{error}"
        );
        // The same through the command a page or a script sends.
        let command = r#"{"type":"break_rules","rules":{"ack_before_fsycn":true}}"#;
        assert!(serde_json::from_str::<crate::protocol::ClientCommand>(command).is_err());
    }
}
