//! The safety panel's state: the live checker's verdict as the server last sent it (in a
//! snapshot or a `safety` message), reduced to what the panel draws — one row per guarantee,
//! green or red, the first violation in words, and the input to rewind to. Pure data, tested
//! natively; knows nothing of Leptos.

use shared::protocol::{SafetyView, SafetyViolation, INVARIANTS};
use shared::raft::BrokenRules;

use super::capitalize;

/// What the safety panel shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SafetyState {
    /// False until the server sent a verdict (an older server sends none).
    pub known: bool,
    /// `(guarantee, holds)`, in the panel's order.
    pub rows: Vec<(String, bool)>,
    /// The first violation, if any.
    pub violation: Option<SafetyViolation>,
    /// Rules switched off on purpose.
    pub broken_rules: BrokenRules,
}

impl SafetyState {
    /// The verdict of a snapshot or a `safety` message (`None`: the server checks nothing).
    pub fn load(&mut self, view: Option<SafetyView>) {
        *self = match view {
            None => SafetyState::default(),
            Some(v) => SafetyState {
                known: true,
                rows: v
                    .invariants
                    .into_iter()
                    .map(|r| (r.name, r.holds))
                    .collect(),
                violation: v.violation,
                broken_rules: v.broken_rules,
            },
        };
    }

    /// The rows to draw: the server's, or every guarantee as unknown-but-listed before it spoke.
    pub fn rows(&self) -> Vec<(String, bool)> {
        if self.rows.is_empty() {
            INVARIANTS.iter().map(|n| (n.to_string(), true)).collect()
        } else {
            self.rows.clone()
        }
    }

    /// True once a guarantee broke.
    pub fn is_red(&self) -> bool {
        self.violation.is_some()
    }

    /// The violation in one sentence for people: what broke, where, when.
    pub fn headline(&self) -> Option<String> {
        let v = self.violation.as_ref()?;
        let nodes: Vec<String> = v.nodes.iter().map(|n| format!("S{n}")).collect();
        let indexes: Vec<String> = v.indexes.iter().map(|i| i.to_string()).collect();
        let mut where_ = Vec::new();
        if !nodes.is_empty() {
            where_.push(format!("servers {}", nodes.join(", ")));
        }
        if !indexes.is_empty() {
            where_.push(format!("index {}", indexes.join(", ")));
        }
        let at = if where_.is_empty() {
            String::new()
        } else {
            format!(" ({})", where_.join("; "))
        };
        Some(format!(
            "{} broken at {} ms{at}",
            capitalize(&v.invariant),
            v.time_ms
        ))
    }

    /// The input to fork before, with its description, when one led there.
    pub fn rewind(&self) -> Option<(usize, String)> {
        let v = self.violation.as_ref()?;
        Some((v.before_input?, v.input.clone().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::protocol::{InvariantView, SafetyView};
    use shared::types::{LogIndex, NodeId};

    fn violation() -> SafetyViolation {
        SafetyViolation {
            invariant: "election safety".into(),
            property: "election safety".into(),
            detail: "S1 and S2 were both leader in term 1".into(),
            time_ms: 120,
            seq: 44,
            nodes: vec![NodeId(1), NodeId(2)],
            indexes: vec![LogIndex(3)],
            before_input: Some(7),
            input: Some("timeout S2".into()),
        }
    }

    #[test]
    fn a_verdict_turns_its_row_red_and_says_where_and_how_to_rewind() {
        let mut s = SafetyState::default();
        assert!(!s.known && !s.is_red());
        assert_eq!(
            s.rows().len(),
            INVARIANTS.len(),
            "rows listed before the server speaks"
        );

        let mut view = SafetyView::holding(BrokenRules::default(), 10);
        s.load(Some(view.clone()));
        assert!(s.known && !s.is_red() && s.rows().iter().all(|(_, ok)| *ok));
        assert_eq!(s.headline(), None);

        view.violated(violation());
        s.load(Some(view));
        assert!(s.is_red());
        let red: Vec<String> = s
            .rows()
            .into_iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(red, vec!["election safety".to_string()]);
        assert_eq!(
            s.headline().as_deref(),
            Some("Election safety broken at 120 ms (servers S1, S2; index 3)")
        );
        assert_eq!(s.rewind(), Some((7, "timeout S2".to_string())));

        // A new run (fork, reset) comes with its own verdict.
        s.load(Some(SafetyView {
            invariants: vec![InvariantView {
                name: "election safety".into(),
                holds: true,
            }],
            ..SafetyView::default()
        }));
        assert!(!s.is_red() && s.rewind().is_none());
        s.load(None);
        assert!(!s.known);
    }
}
