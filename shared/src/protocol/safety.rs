//! The live safety panel's JSON: which of Raft's guarantees still hold in the run, or the first
//! one that broke, with what is needed to rewind to the input that led there. Owns the shape and
//! the grouping of the checker's properties under the guarantees people know; must not check
//! anything itself (`crate::sim::checker` does).

use serde::{Deserialize, Serialize};

use crate::raft::BrokenRules;
use crate::sim::checker::Violation;
use crate::types::{LogIndex, NodeId};

/// The guarantees the panel lists, in order: Figure 3 of the paper plus durability, then a row
/// for the checker's finer protocol rules.
pub const INVARIANTS: [&str; 6] = [
    "election safety",
    "log matching",
    "leader completeness",
    "state machine safety",
    "durability",
    "protocol rules",
];

/// Which panel row a checker property (`Violation::property`) belongs to.
pub fn invariant_of(property: &str) -> &'static str {
    match property {
        "election safety" | "one vote per term" | "vote counting" => "election safety",
        "log matching" | "leader append-only" => "log matching",
        "leader completeness" | "leader commit rule" => "leader completeness",
        "state machine safety" | "apply order" | "state machine replay" => "state machine safety",
        "durability" | "persistence" | "committed on a synced majority" => "durability",
        _ => "protocol rules",
    }
}

/// The live checker's verdict (snapshot field `safety`, message `safety`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SafetyView {
    /// Each row of [`INVARIANTS`] and whether it holds so far in this run.
    pub invariants: Vec<InvariantView>,
    /// The first violation, once one is found (the run is paused then; later ones are not
    /// looked for until the run moves to another instant or a new cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<SafetyViolation>,
    /// Seq of the last event checked.
    pub checked_seq: u64,
    /// Raft rules switched off on purpose in this run.
    #[serde(default)]
    pub broken_rules: BrokenRules,
}

/// One row of the panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantView {
    /// One of [`INVARIANTS`].
    pub name: String,
    /// False once violated.
    pub holds: bool,
}

/// The first broken guarantee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyViolation {
    /// The panel row (one of [`INVARIANTS`]).
    pub invariant: String,
    /// The checker's own name for what broke (e.g. "one vote per term").
    pub property: String,
    /// What exactly went wrong, in a sentence.
    pub detail: String,
    /// Virtual time it was found (ms).
    pub time_ms: u64,
    /// Seq of the last event of the step that broke it.
    pub seq: u64,
    /// The servers the detail names, in order of first mention.
    pub nodes: Vec<NodeId>,
    /// The log indexes the detail names ("index 4", "entry 2"), in order of first mention.
    pub indexes: Vec<LogIndex>,
    /// The last action before the violation, as an input number of the run's trace: fork with
    /// `{"before_input": n}` (POST /api/fork) to rewind to just before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_input: Option<usize>,
    /// That input, described ("crash S2").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

impl SafetyView {
    /// Everything holds so far.
    pub fn holding(broken_rules: BrokenRules, checked_seq: u64) -> Self {
        SafetyView {
            invariants: INVARIANTS
                .iter()
                .map(|name| InvariantView {
                    name: name.to_string(),
                    holds: true,
                })
                .collect(),
            violation: None,
            checked_seq,
            broken_rules,
        }
    }

    /// Record the first violation (its row turns false).
    pub fn violated(&mut self, violation: SafetyViolation) {
        for row in &mut self.invariants {
            if row.name == violation.invariant {
                row.holds = false;
            }
        }
        self.violation = Some(violation);
    }
}

impl SafetyViolation {
    /// A checker finding, with the nodes and indexes its detail names.
    pub fn from_checker(v: &Violation, seq: u64) -> Self {
        let (nodes, indexes) = named_in(&v.detail);
        SafetyViolation {
            invariant: invariant_of(v.property).to_string(),
            property: v.property.to_string(),
            detail: v.detail.clone(),
            time_ms: v.time_ms,
            seq,
            nodes,
            indexes,
            before_input: None,
            input: None,
        }
    }
}

/// Nodes ("S3") and log indexes ("index 4", "entry 2", "indexes 3") a checker detail names. The
/// checker words every finding this way, so the panel can point at them without a second format.
fn named_in(detail: &str) -> (Vec<NodeId>, Vec<LogIndex>) {
    let words: Vec<&str> = detail
        .split(|c: char| !(c.is_ascii_alphanumeric()))
        .filter(|w| !w.is_empty())
        .collect();
    let mut nodes = Vec::new();
    let mut indexes = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if let Some(n) = w.strip_prefix('S').and_then(|d| d.parse::<u64>().ok()) {
            if !nodes.contains(&NodeId(n)) {
                nodes.push(NodeId(n));
            }
        }
        if matches!(*w, "index" | "entry" | "indexes") {
            if let Some(n) = words.get(i + 1).and_then(|d| d.parse::<u64>().ok()) {
                if !indexes.contains(&LogIndex(n)) {
                    indexes.push(LogIndex(n));
                }
            }
        }
    }
    (nodes, indexes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_names_its_row_nodes_and_indexes() {
        let v = Violation {
            property: "leader completeness",
            detail: "S5 became leader of term 4 without committed entry 2 (term 1)".into(),
            time_ms: 900,
        };
        let s = SafetyViolation::from_checker(&v, 77);
        assert_eq!(s.invariant, "leader completeness");
        assert_eq!(s.nodes, vec![NodeId(5)]);
        assert_eq!(s.indexes, vec![LogIndex(2)]);
        let mut view = SafetyView::holding(BrokenRules::default(), 70);
        assert!(view.invariants.iter().all(|r| r.holds));
        view.violated(s);
        let red: Vec<&str> = view
            .invariants
            .iter()
            .filter(|r| !r.holds)
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(red, vec!["leader completeness"]);
        assert_eq!(invariant_of("one vote per term"), "election safety");
        assert_eq!(invariant_of("acknowledgement rule"), "protocol rules");
    }
}
