//! The built-in lessons: the files of `shared/lessons/`, embedded so the server and the tests
//! need no files at run time. Owns the list and the names; must not parse (callers do, through
//! [`super::parse`]).

/// `(name, text)` of every built-in lesson, in the order a class would take them. The name is
/// the file name without `.lesson`, and is what `POST /api/lessons/{name}/open` takes.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "first-election",
        include_str!("../../lessons/first-election.lesson"),
    ),
    (
        "split-vote",
        include_str!("../../lessons/split-vote.lesson"),
    ),
    (
        "leader-crash",
        include_str!("../../lessons/leader-crash.lesson"),
    ),
    ("catch-up", include_str!("../../lessons/catch-up.lesson")),
    (
        "stale-leader",
        include_str!("../../lessons/stale-leader.lesson"),
    ),
    (
        "crash-vs-power-loss",
        include_str!("../../lessons/crash-vs-power-loss.lesson"),
    ),
    (
        "duplicate-request",
        include_str!("../../lessons/duplicate-request.lesson"),
    ),
];

/// The text of the built-in lesson `name`.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
