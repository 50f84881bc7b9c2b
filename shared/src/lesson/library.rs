//! The built-in lessons: the files of `shared/lessons/`, embedded so the server and the tests
//! need no files at run time. Owns the list and the names; must not parse (callers do, through
//! [`super::parse`]).

/// One built-in lesson: its name and the text of `shared/lessons/<name>.lesson`.
macro_rules! lesson {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../lessons/", $name, ".lesson")),
        )
    };
}

/// `(name, text)` of every built-in lesson, in the order a class would take them. The name is
/// the file name without `.lesson`, and is what `POST /api/lessons/{name}/open` takes.
pub const BUILTIN: &[(&str, &str)] = &[
    lesson!("first-election"),
    lesson!("split-vote"),
    lesson!("split-vote-spread-timers"),
    lesson!("leader-crash"),
    lesson!("catch-up"),
    lesson!("log-repair"),
    lesson!("figure-8"),
    lesson!("stale-leader"),
    lesson!("crash-vs-power-loss"),
    lesson!("log-the-request"),
    lesson!("log-the-state-change"),
    lesson!("duplicate-request"),
    lesson!("broken-commit-by-counting"),
    lesson!("broken-vote-check"),
    lesson!("broken-forget-vote"),
    lesson!("broken-ack-before-fsync"),
];

/// The text of the built-in lesson `name`.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
