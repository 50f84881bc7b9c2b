//! Every built-in lesson runs headless: parsed, staged on the seeded simulator under the safety
//! checker with every `expect` checked, and its trace re-executed by `Replay` to each pause point
//! and the end, landing on the same event. Plus the parser's line-numbered errors.

use shared::lesson::{self, StopKind, BUILTIN};
use shared::trace::{Position, Replay};

#[test]
fn every_builtin_lesson_reaches_what_it_asserts_and_replays_identically() {
    assert!(
        BUILTIN.len() >= 7,
        "the library has {} lessons",
        BUILTIN.len()
    );
    // Every lesson's failure at once (a teacher editing several files sees them all).
    let failures: Vec<String> = BUILTIN
        .iter()
        .filter_map(|(name, text)| {
            let e = lesson::parse(text).and_then(|l| lesson::stage(&l)).err()?;
            Some(format!("{name}.lesson {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (name, text) in BUILTIN {
        let staged = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
        assert!(
            staged.lesson.steps.iter().any(|s| !s.expects.is_empty()),
            "{name}: a built-in lesson asserts its outcome"
        );
        let mut replay = Replay::new(staged.trace.clone())
            .expect("a staged trace is valid")
            .with_checker();
        replay.run_to(Position::End).expect("replays");
        // The replay's checker finds what staging found: nothing, or a broken-rule lesson's
        // violation (the one its `expect violation` names).
        assert_eq!(
            replay.violation().map(|v| (v.property, &v.detail)),
            staged.violation.as_ref().map(|v| (v.property, &v.detail)),
            "{name}"
        );
        assert_eq!(
            Some(replay.sim().last_seq()),
            staged.trace.end_seq,
            "{name}"
        );
        for stop in &staged.stops {
            let mut r = Replay::new(staged.trace_to(stop)).expect("a prefix is valid");
            r.run_to(Position::End)
                .unwrap_or_else(|e| panic!("{name}: stop {stop:?}: {e}"));
            assert_eq!(r.sim().last_seq(), stop.seq, "{name}: {stop:?}");
            assert_eq!(r.sim().now_ms(), stop.at_ms, "{name}: {stop:?}");
        }
    }
}

#[test]
fn every_broken_rule_has_a_lesson_that_reaches_its_violation() {
    use shared::lesson::ExpectKind;
    let mut reached = Vec::new();
    for (name, text) in BUILTIN {
        let staged = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
        let rules = staged.lesson.config.broken_rules.names();
        let expected: Vec<&str> = staged
            .lesson
            .steps
            .iter()
            .flat_map(|s| &s.expects)
            .filter_map(|e| match e.kind {
                ExpectKind::Violation(p) => Some(p),
                _ => None,
            })
            .collect();
        // A lesson breaks a rule exactly when it asserts what that leads to.
        assert_eq!(rules.is_empty(), expected.is_empty(), "{name}");
        let found = staged.violation.as_ref().map(|v| v.property);
        assert_eq!(found, expected.first().copied(), "{name}");
        reached.extend(rules);
    }
    reached.sort_unstable();
    let mut all = shared::raft::BrokenRules::NAMES.to_vec();
    all.sort_unstable();
    assert_eq!(reached, all, "one lesson per broken rule");
}

#[test]
fn staging_is_deterministic() {
    for (name, text) in BUILTIN {
        let a = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
        let b = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
        assert_eq!(a.trace, b.trace, "{name}");
        assert_eq!(a.stops, b.stops, "{name}");
    }
}

#[test]
fn a_question_pauses_before_its_step_and_the_reveal_after_it() {
    let text = lesson::builtin("first-election").unwrap();
    let staged = lesson::stage(&lesson::parse(text).unwrap()).unwrap();
    let first = staged.stops[0];
    assert_eq!((first.step, first.kind), (0, StopKind::Ask));
    assert_eq!(first.inputs, 0);
    let reveal = staged.stops[1];
    assert_eq!((reveal.step, reveal.kind), (0, StopKind::Shown));
    assert!(reveal.at_ms > first.at_ms, "the reveal ran the election");
}

fn error(text: &str) -> String {
    match lesson::parse(text).and_then(|l| lesson::stage(&l).map(|_| ())) {
        Ok(()) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_the_line_and_what_was_expected() {
    let head = "title T\nnodes 3\nseed 1\n";
    let e = error(&format!("{head}step one\ncrsh S1\n"));
    assert!(
        e.starts_with(
            "line 5: unknown command 'crsh' (did you mean 'crash'?); expected one of step, say"
        ),
        "{e}"
    );
    let e = error(&format!("{head}step one\ncrash S4\n"));
    assert_eq!(e, "line 5: there is no S4: the cluster has S1 to S3");
    let e = error(&format!("{head}crash S1\n"));
    assert!(
        e.starts_with("line 4: 'crash' must be inside a step"),
        "{e}"
    );
    let e = error(&format!(
        "{head}step one\nask Who?\nchoice S1\nchoice S2\nrun until leader elected\n"
    ));
    assert!(
        e.starts_with("line 4: the step's question has no 'correct' line"),
        "{e}"
    );
    let e = error(&format!(
        "{head}step one\nrun until leader elected\nask Who?\n"
    ));
    assert!(e.starts_with("line 6: 'ask' must come before"), "{e}");
    let e = error(&format!(
        "{head}step one\nrun until leader elected\nnodes 5\n"
    ));
    assert!(
        e.starts_with("line 6: 'nodes' belongs in the header"),
        "{e}"
    );
    let e = error(&format!(
        "{head}step one\nrun until leader elected\nexpect committed 2\n"
    ));
    assert!(
        e.starts_with("line 6: expected 2 committed, but 0 are (at "),
        "{e}"
    );
    let e = error(&format!(
        "{head}step one\nrun until committed 5 within 500ms\n"
    ));
    assert!(
        e.starts_with("line 5: 'run until' waited 500 ms and it did not happen"),
        "{e}"
    );
    let e = error(&format!("{head}step one\nexpect S1 log terms 1 x\n"));
    assert_eq!(e, "line 5: terms: 'x' is not a whole number");
    let e = error("nodes 3\nstep one\nrun 10ms\n");
    assert!(e.contains("no 'title'"), "{e}");
    let e = error(&format!("{head}step one\nappend mul\n"));
    assert!(e.starts_with("line 5: append: "), "{e}");
}

#[test]
fn the_documented_fifty_minute_lesson_stages() {
    let text = include_str!("../../lessons/fifty-minutes.lesson");
    let staged = lesson::parse(text)
        .and_then(|l| lesson::stage(&l))
        .unwrap_or_else(|e| panic!("lessons/fifty-minutes.lesson {e}"));
    assert_eq!(staged.lesson.steps.len(), 9);
}

#[test]
fn docs_lessons_md_shows_the_fifty_minute_lesson_as_it_is() {
    let doc = include_str!("../../docs/lessons.md");
    let text = include_str!("../../lessons/fifty-minutes.lesson");
    assert!(
        doc.contains(text),
        "docs/lessons.md's example differs from the file"
    );
}

#[test]
fn a_violation_is_asserted_where_it_happens_and_refused_elsewhere() {
    let lab = lesson::builtin("broken-vote-check").unwrap();
    // Without its `expect violation` line the same lesson is refused, naming the `run` line
    // where the checker found it.
    let cut = lab.replace("expect violation leader completeness\n", "");
    let e = error(&cut);
    assert!(
        e.contains(": the safety checker found a violation: leader completeness"),
        "{e}"
    );
    let run_line = cut
        .lines()
        .position(|l| l.starts_with("run until leader S3"))
        .unwrap()
        + 1;
    assert!(e.starts_with(&format!("line {run_line}: ")), "{e}");
    // The wrong property: the message says what the checker found.
    let e = error(&lab.replace(
        "expect violation leader completeness",
        "expect violation election safety",
    ));
    assert!(
        e.contains(
            "expected a violation of election safety, but the checker found: leader completeness"
        ),
        "{e}"
    );
    // Correct Raft, same inputs: no violation, and the assertion says so.
    let e = error(&lab.replace("break vote-without-log-check\n", ""));
    assert!(
        e.contains("'run until' waited 100 ms"),
        "S2 refuses its vote: {e}"
    );
    let head = "title T\nnodes 3\nseed 1\n";
    let e = error(&format!(
        "{head}step one\nrun until leader elected\nexpect violation leader completenes\n"
    ));
    assert!(
        e.starts_with("line 6: 'expect violation leader completenes': expected one of the checker's properties: election safety, "),
        "{e}"
    );
    let e = error(&format!(
        "{head}step one\nrun until leader elected\nexpect violation election safety\n"
    ));
    assert!(
        e.starts_with(
            "line 6: expected a violation of election safety, but the checker found none"
        ),
        "{e}"
    );
    let e = error("title T\nbreak fsync\nstep one\nrun 10ms\n");
    assert!(
        e.starts_with("line 2: 'break fsync': expected one of commit-old-term-by-counting, "),
        "{e}"
    );
    let e = error(&format!("{head}step one\nalign clocks\n"));
    assert_eq!(e, "line 5: 'align clocks': expected 'align timers'");
}

/// QA: `run 18446744073709551615ms` froze the server staging it. A `run` or `within` longer
/// than `RUN_MAX_MS` is refused by the parser, naming the line, before anything runs; so is a
/// lesson whose runs add up past what a trace may hold.
#[test]
fn runs_longer_than_the_bound_are_refused_naming_the_line() {
    let refused = |text: &str| match lesson::parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    };
    let head = "title T\nstep a\n";
    let e = refused(include_str!("probes/qa-inf.lesson"));
    assert!(
        e.starts_with("line 3: run 18446744073709551615 ms is longer than"),
        "{e}"
    );
    let e = refused(&format!("{head}run 601s\n"));
    assert!(
        e.starts_with("line 3: run 601000 ms is longer than a lesson may run at once (10 minutes)"),
        "{e}"
    );
    let e = refused(&format!("{head}run until leader elected within 11min\n"));
    assert!(e.starts_with("line 3: within"), "{e}");
    let e = refused(&format!("{head}run until leader elected within 3600s\n"));
    assert!(e.starts_with("line 3: within 3600000 ms"), "{e}");
    let e = refused(&format!("{head}run 18446744073709551615s\n"));
    assert!(e.contains("too long a duration"), "{e}");
    let many = format!("{head}{}", "run 600s\n".repeat(73));
    let e = refused(&many);
    assert!(
        e.starts_with("line 75: the lesson's run lines add up to more than 12 hours"),
        "{e}"
    );
    assert_eq!(lesson::RUN_MAX_MS, 600_000);
    lesson::parse(&format!("{head}run 600s\n")).expect("the bound itself is allowed");
}
