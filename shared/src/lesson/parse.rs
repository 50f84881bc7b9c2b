//! The lesson text → [`Lesson`]. One command per line, the first word says what the line is;
//! every error names its line and what was expected (a teacher fixes a file from the message
//! alone). Owns the syntax (docs/lessons.md); must not run anything (staging does).

use crate::command::Command;
use crate::raft::BrokenRules;
use crate::sim::{validate, SimConfig};
use crate::trace::{TraceInput, END_MS_MAX};
use crate::types::{LogModel, Term};

use super::words::{closest, ms, need_text, node, nodes, number, probability, range};
use super::{
    append, Action, ActionKind, Expect, ExpectKind, Lesson, LessonError, Question, Step, Until,
    COMMANDS, HEADER_KEYS, INVARIANTS,
};

/// How long `run until` waits by default before the lesson is refused (virtual ms).
pub const UNTIL_LIMIT_MS: u64 = 10_000;

/// The longest one `run` line may let pass, and the longest `within` (virtual ms): 10 minutes.
/// The built-in lessons run 400 ms at most; minutes leave room for slow networks and long
/// demonstrations, while staging a lesson (which runs every line at once) stays quick.
pub const RUN_MAX_MS: u64 = 10 * 60 * 1000;

/// Parse a lesson. Blank lines and lines starting with `#` are skipped.
pub fn parse(text: &str) -> Result<Lesson, LessonError> {
    let mut lesson = Lesson {
        title: String::new(),
        about: String::new(),
        config: SimConfig {
            nodes: 3,
            ..SimConfig::default()
        },
        steps: Vec::new(),
    };
    let mut header_line = 1;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (word, rest) = match trimmed.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (trimmed, ""),
        };
        let word_lc = word.to_ascii_lowercase();
        if HEADER_KEYS.contains(&word_lc.as_str()) {
            if !lesson.steps.is_empty() {
                return Err(LessonError::at(
                    line,
                    format!("'{word}' belongs in the header, before the first step"),
                ));
            }
            header(&mut lesson, &word_lc, rest, line)?;
            header_line = line;
            continue;
        }
        if word_lc == "step" {
            if let Some(last) = lesson.steps.last() {
                finish_step(last)?;
            }
            lesson.steps.push(Step {
                line,
                title: need_text(
                    rest,
                    line,
                    "step",
                    "a heading, e.g. 'step The first election'",
                )?,
                ..Step::default()
            });
            continue;
        }
        if !COMMANDS.contains(&word_lc.as_str()) {
            let mut known: Vec<&str> = HEADER_KEYS.to_vec();
            known.extend(COMMANDS);
            let hint = closest(&word_lc, &known)
                .map(|k| format!(" (did you mean '{k}'?)"))
                .unwrap_or_default();
            return Err(LessonError::at(
                line,
                format!(
                    "unknown command '{word}'{hint}; expected one of {}",
                    COMMANDS.join(", ")
                ),
            ));
        }
        let Some(step) = lesson.steps.last_mut() else {
            return Err(LessonError::at(
                line,
                format!("'{word}' must be inside a step: write a 'step <heading>' line first"),
            ));
        };
        step_line(step, &lesson.config, &word_lc, rest, line)?;
    }
    if lesson.title.is_empty() {
        return Err(LessonError::at(1, "the lesson has no 'title' line"));
    }
    validate(&lesson.config).map_err(|e| LessonError::at(header_line, e.to_string()))?;
    match lesson.steps.last() {
        Some(last) => finish_step(last)?,
        None => {
            return Err(LessonError::at(
                text.lines().count().max(1),
                "the lesson has no steps: add a 'step <heading>' line",
            ))
        }
    }
    within_trace_bound(&lesson)?;
    Ok(lesson)
}

/// A staged lesson becomes a trace: all its `run` lines (a `run until` counted at its limit)
/// must fit in the longest run a trace may hold.
fn within_trace_bound(lesson: &Lesson) -> Result<(), LessonError> {
    let mut total = 0u64;
    for action in lesson.steps.iter().flat_map(|s| &s.actions) {
        total += match action.kind {
            ActionKind::RunFor(ms) => ms,
            ActionKind::RunUntil { limit_ms, .. } => limit_ms,
            _ => 0,
        };
        if total > END_MS_MAX {
            return Err(LessonError::at(
                action.line,
                format!(
                    "the lesson's run lines add up to more than {} hours of virtual time here, \
                     the longest run a trace may hold",
                    END_MS_MAX / 3_600_000
                ),
            ));
        }
    }
    Ok(())
}

/// A question must have its right answer.
fn finish_step(step: &Step) -> Result<(), LessonError> {
    if let Some(q) = &step.question {
        if q.choices.len() < 2 {
            return Err(LessonError::at(
                step.line,
                "the step's question needs at least two 'choice'/'correct' lines",
            ));
        }
        if q.answer == usize::MAX {
            return Err(LessonError::at(
                step.line,
                "the step's question has no 'correct' line (the right choice)",
            ));
        }
        if step.actions.is_empty() {
            return Err(LessonError::at(
                step.line,
                "the step asks a question but does nothing to reveal it: add actions after it",
            ));
        }
    }
    Ok(())
}

fn header(lesson: &mut Lesson, key: &str, rest: &str, line: usize) -> Result<(), LessonError> {
    let c = &mut lesson.config;
    match key {
        "title" => lesson.title = need_text(rest, line, "title", "the lesson's name")?,
        "about" => lesson.about = rest.to_string(),
        "nodes" => c.nodes = number(rest, line, "nodes")?,
        "seed" => c.seed = number(rest, line, "seed")?,
        "log" => {
            c.log_model = match rest {
                "command" => LogModel::Command,
                "state" => LogModel::State,
                _ => {
                    return Err(LessonError::at(
                        line,
                        format!("log model '{rest}': expected 'command' or 'state'"),
                    ))
                }
            }
        }
        "election-timeout" => {
            let (lo, hi) = range(rest, line, key)?;
            c.timing.election_timeout_ms_min = lo;
            c.timing.election_timeout_ms_max = hi;
        }
        "heartbeat" => c.timing.heartbeat_interval_ms = ms(rest, line, key)?,
        "fsync" => c.timing.fsync_ms = ms(rest, line, key)?,
        "batch" => c.timing.max_entries_per_append = number(rest, line, key)?,
        "latency" => {
            let (lo, hi) = range(rest, line, key)?;
            c.network.latency_ms_min = lo;
            c.network.latency_ms_max = hi;
        }
        "loss" => c.network.loss_probability = probability(rest, line, key)?,
        "duplicate" => c.network.duplicate_probability = probability(rest, line, key)?,
        "break" => broken_rule(&mut c.broken_rules, rest, line)?,
        _ => unreachable!("only header keys reach here"),
    }
    Ok(())
}

fn step_line(
    step: &mut Step,
    config: &SimConfig,
    word: &str,
    rest: &str,
    line: usize,
) -> Result<(), LessonError> {
    let node = |t: &str| node(t, line, config.nodes);
    let input = |kind: TraceInput| Action {
        line,
        kind: ActionKind::Input(kind),
    };
    match word {
        "say" => {
            if !step.caption.is_empty() {
                step.caption.push(' ');
            }
            step.caption.push_str(rest);
        }
        "ask" => {
            if step.question.is_some() {
                return Err(LessonError::at(line, "a step asks at most one question"));
            }
            if !step.actions.is_empty() {
                return Err(LessonError::at(
                    line,
                    "'ask' must come before the step's actions (the question is asked before \
                     they run, and the reveal runs them)",
                ));
            }
            step.setup = step.caption.clone();
            step.question = Some(Question {
                text: need_text(rest, line, "ask", "the question")?,
                choices: Vec::new(),
                answer: usize::MAX,
                why: String::new(),
            });
        }
        "choice" | "correct" | "why" => {
            let Some(q) = step.question.as_mut() else {
                return Err(LessonError::at(
                    line,
                    format!("'{word}' needs a question first: write an 'ask' line"),
                ));
            };
            let text = need_text(rest, line, word, "its text")?;
            match word {
                "why" => {
                    if !q.why.is_empty() {
                        q.why.push(' ');
                    }
                    q.why.push_str(&text);
                }
                "correct" if q.answer != usize::MAX => {
                    return Err(LessonError::at(
                        line,
                        "the question already has a 'correct' line",
                    ))
                }
                "correct" => {
                    q.answer = q.choices.len();
                    q.choices.push(text);
                }
                _ => q.choices.push(text),
            }
        }
        "run" => step.actions.push(Action {
            line,
            kind: run(rest, line, config.nodes)?,
        }),
        "append" => step
            .actions
            .push(input(append_input(rest, line, config.nodes)?)),
        "crash" => step
            .actions
            .push(input(TraceInput::Crash { node: node(rest)? })),
        "restart" => step
            .actions
            .push(input(TraceInput::Restart { node: node(rest)? })),
        "power-loss" => step
            .actions
            .push(input(TraceInput::PowerLoss { node: node(rest)? })),
        "timeout" => step
            .actions
            .push(input(TraceInput::Timeout { node: node(rest)? })),
        "isolate" => step
            .actions
            .push(input(TraceInput::Isolate { node: node(rest)? })),
        "heal" => step.actions.push(input(TraceInput::Heal)),
        "cut" | "uncut" => {
            let ids = nodes(rest, line, config.nodes)?;
            let [from, to] = ids[..] else {
                return Err(LessonError::at(
                    line,
                    format!("'{word}' takes two nodes, sender then receiver: '{word} S1 S2'"),
                ));
            };
            step.actions.push(input(if word == "cut" {
                TraceInput::Cut { from, to }
            } else {
                TraceInput::Uncut { from, to }
            }));
        }
        "partition" => {
            let mut groups = Vec::new();
            for group in rest.split('|') {
                groups.push(nodes(group, line, config.nodes)?);
            }
            if groups.len() < 2 {
                return Err(LessonError::at(
                    line,
                    "'partition' takes groups separated by '|': 'partition S1 S2 | S3 S4 S5'",
                ));
            }
            step.actions.push(input(TraceInput::Partition { groups }));
        }
        "network" => step.actions.push(input(network(rest, line)?)),
        "align" | "spread" => {
            if rest != "timers" {
                return Err(LessonError::at(
                    line,
                    format!("'{word} {rest}': expected '{word} timers'"),
                ));
            }
            step.actions.push(input(if word == "align" {
                TraceInput::AlignTimers
            } else {
                TraceInput::SpreadTimers
            }));
        }
        "expect" => step.expects.push(Expect {
            line,
            kind: expect(rest, line, config.nodes)?,
        }),
        _ => unreachable!("only commands reach here"),
    }
    Ok(())
}

/// `run 300ms`, `run 300`, `run until <event> [within 5000ms]`.
fn run(rest: &str, line: usize, n: u64) -> Result<ActionKind, LessonError> {
    let bounded = |ms: u64, what: &str| {
        if ms > RUN_MAX_MS {
            Err(LessonError::at(
                line,
                format!(
                    "{what} {ms} ms is longer than a lesson may run at once ({} minutes); split \
                     it into steps, or shorten it",
                    RUN_MAX_MS / 60_000
                ),
            ))
        } else {
            Ok(ms)
        }
    };
    let Some(cond) = rest.strip_prefix("until") else {
        return Ok(ActionKind::RunFor(bounded(ms(rest, line, "run")?, "run")?));
    };
    let (cond, limit_ms) = match cond.split_once(" within ") {
        Some((c, l)) => (c, bounded(ms(l, line, "within")?, "within")?),
        None => (cond, UNTIL_LIMIT_MS),
    };
    let words: Vec<&str> = cond.split_whitespace().collect();
    let until = match words[..] {
        ["leader", "elected"] => Until::LeaderElected,
        ["leader", s] => Until::Leader(node(s, line, n)?),
        ["committed", k] => Until::Committed(number(k, line, "committed")?),
        ["entry", k, "committed"] => Until::Committed(number(k, line, "entry")?),
        [s, "log", k] => Until::LogLength(node(s, line, n)?, number(k, line, "log")?),
        [s, "caught", "up"] => Until::CaughtUp(node(s, line, n)?),
        _ => {
            return Err(LessonError::at(
                line,
                format!(
                    "'run until{cond}': expected 'leader elected', 'leader S2', 'committed 3', \
                     'entry 3 committed', 'S2 log 4' or 'S2 caught up'"
                ),
            ))
        }
    };
    Ok(ActionKind::RunUntil { until, limit_ms })
}

/// `append add 5 [to S2] [as client 7 serial 1]`.
fn append_input(rest: &str, line: usize, n: u64) -> Result<TraceInput, LessonError> {
    let (rest, client) = match rest.split_once(" as client ") {
        Some((r, c)) => {
            let words: Vec<&str> = c.split_whitespace().collect();
            let ["serial", s] = words.get(1..).unwrap_or_default() else {
                return Err(LessonError::at(
                    line,
                    "expected 'as client <id> serial <n>' after the command",
                ));
            };
            (
                r,
                Some((
                    number(words[0], line, "client")?,
                    number(s, line, "serial")?,
                )),
            )
        }
        None => (rest, None),
    };
    let (command, to) = match rest.split_once(" to ") {
        Some((c, t)) => (c, Some(node(t, line, n)?)),
        None => (rest, None),
    };
    let command: Command = command
        .trim()
        .parse()
        .map_err(|e| LessonError::at(line, format!("append: {e}")))?;
    Ok(append(command, to, client))
}

/// `network loss 0.2 duplicate 0 latency 5 15` (any of them).
fn network(rest: &str, line: usize) -> Result<TraceInput, LessonError> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let (mut loss, mut dup, mut lo, mut hi) = (None, None, None, None);
    let mut i = 0;
    while i < words.len() {
        let arg = |k: usize| {
            words
                .get(i + k)
                .copied()
                .ok_or_else(|| LessonError::at(line, format!("'{}' needs a value", words[i])))
        };
        match words[i] {
            "loss" => loss = Some(probability(arg(1)?, line, "loss")?),
            "duplicate" => dup = Some(probability(arg(1)?, line, "duplicate")?),
            "latency" => {
                lo = Some(ms(arg(1)?, line, "latency")?);
                hi = Some(ms(arg(2)?, line, "latency")?);
                i += 1;
            }
            w => {
                return Err(LessonError::at(
                    line,
                    format!("network: unknown setting '{w}'; expected loss, duplicate or latency"),
                ))
            }
        }
        i += 2;
    }
    Ok(TraceInput::Network {
        loss_probability: loss,
        duplicate_probability: dup,
        latency_ms_min: lo,
        latency_ms_max: hi,
    })
}

fn expect(rest: &str, line: usize, n: u64) -> Result<ExpectKind, LessonError> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let node = |s: &str| node(s, line, n);
    Ok(match words[..] {
        ["leader", s] => ExpectKind::Leader(node(s)?),
        ["no", "leader"] => ExpectKind::NoLeader,
        ["committed", k] => ExpectKind::Committed(number(k, line, "committed")?),
        ["safe"] => ExpectKind::Safe,
        ["violation", ..] => {
            let name = words[1..].join(" ");
            let found = INVARIANTS.iter().find(|i| i.eq_ignore_ascii_case(&name));
            ExpectKind::Violation(found.ok_or_else(|| {
                LessonError::at(
                    line,
                    format!(
                        "'expect violation {name}': expected one of the checker's properties: {}",
                        INVARIANTS.join(", ")
                    ),
                )
            })?)
        }
        [s, "log", "empty"] => ExpectKind::LogTerms(node(s)?, Vec::new()),
        [s, "log", "terms", ref terms @ ..] => ExpectKind::LogTerms(
            node(s)?,
            terms
                .iter()
                .map(|t| number(t, line, "terms").map(Term))
                .collect::<Result<_, _>>()?,
        ),
        [s, "term", t] => ExpectKind::Term(node(s)?, Term(number(t, line, "term")?)),
        [s, "voted", "nobody"] => ExpectKind::Voted(node(s)?, None),
        [s, "voted", v] => ExpectKind::Voted(node(s)?, Some(node(v)?)),
        [s, "up"] => ExpectKind::Up(node(s)?, true),
        [s, "down"] => ExpectKind::Up(node(s)?, false),
        [s, "value", v] => ExpectKind::Value(
            node(s)?,
            v.parse()
                .map_err(|_| LessonError::at(line, format!("value '{v}' is not a number")))?,
        ),
        _ => {
            return Err(LessonError::at(
                line,
                format!(
                    "'expect {rest}': expected 'leader S2', 'no leader', 'committed 4', \
                     'S4 log terms 1 1 2', 'S4 log empty', 'S2 term 3', 'S2 voted S1', \
                     'S2 voted nobody', 'S2 up', 'S2 down', 'S2 value 7', 'safe' or \
                     'violation leader completeness'"
                ),
            ))
        }
    })
}

/// `break <rule>`: a rule of Raft switched off on purpose for the whole lesson (the JSON name,
/// with '-' or '_').
fn broken_rule(rules: &mut BrokenRules, rest: &str, line: usize) -> Result<(), LessonError> {
    let name = rest.trim().replace('-', "_");
    match name.as_str() {
        "commit_old_term_by_counting" => rules.commit_old_term_by_counting = true,
        "vote_without_log_check" => rules.vote_without_log_check = true,
        "forget_vote_on_restart" => rules.forget_vote_on_restart = true,
        "ack_before_fsync" => rules.ack_before_fsync = true,
        _ => {
            let names: Vec<String> = BrokenRules::NAMES
                .iter()
                .map(|n| n.replace('_', "-"))
                .collect();
            return Err(LessonError::at(
                line,
                format!("'break {rest}': expected one of {}", names.join(", ")),
            ));
        }
    }
    Ok(())
}
