//! Readers of a run's trace (shared/src/trace/mod.rs and input.rs): [`Trace`], each
//! [`TracedInput`] and [`TraceInput`], the start disks ([`Start`], [`NodeDisk`], [`HardState`])
//! and the run's configuration ([`SimConfig`], [`NetworkSettings`]), plus [`read_trace`], which
//! reads a trace's text as `Trace::from_json` does. Each mirrors that type's serde attributes;
//! must not check what a trace says beyond its shape (`Trace::check` and `check_bounds` do, and
//! [`read_trace`] calls them, as `Trace::from_json` does).

use crate::sim::{NetworkSettings, SimConfig};
use crate::trace::{NodeDisk, Start, Trace, TraceError, TraceInput, TracedInput, TRACE_VERSION};
use crate::HardState;

use super::raft::command_text;
use super::read::{parse, unknown_variant, Fields, FromJson, Json};

/// `Trace::from_json`: a trace's text read and checked, the version looked at first (so a
/// future trace gets that message, not a complaint about a field it has and this code does not
/// know), then the fields, then `Trace::check` and `Trace::check_bounds`. The tests hold it to
/// what serde's reading refused and accepted (only a `Malformed`'s wording differs).
pub(crate) fn read_trace(text: &str) -> Result<Trace, TraceError> {
    let json = parse(text).map_err(TraceError::Malformed)?;
    match json.get("version").and_then(Json::as_u64) {
        Some(v) if v > u64::from(TRACE_VERSION) => {
            return Err(TraceError::FutureVersion {
                found: u32::try_from(v).unwrap_or(u32::MAX),
            })
        }
        Some(_) => {}
        None => {
            return Err(TraceError::Malformed(
                "missing or non-numeric \"version\"".into(),
            ))
        }
    }
    let trace = <Trace as FromJson>::from_json(&json).map_err(TraceError::Malformed)?;
    trace.check()?;
    trace.check_bounds()?;
    Ok(trace)
}

impl FromJson for Trace {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a trace")?;
        Ok(Trace {
            version: f.get("version")?,
            config: f.get("config")?,
            // `#[serde(default)]`: a trace without them starts from empty disks, with no input.
            start: f.or_default("start")?,
            inputs: f.or_default("inputs")?,
            end_ms: f.get("end_ms")?,
            end_seq: f.or_default("end_seq")?,
            end_steps: f.or_default("end_steps")?,
        })
    }
}

impl FromJson for TracedInput {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a traced input")?;
        Ok(TracedInput {
            at_ms: f.get("at_ms")?,
            // Left out of a hand-written trace: the input then lands by its time alone.
            after_seq: f.or_default("after_seq")?,
            steps: f.or_default("steps")?,
            input: f.get("input")?,
        })
    }
}

/// Every input's `type` (`#[serde(tag = "type", rename_all = "snake_case")]`), in the order of
/// the enum. The tests read back every variant, so a name missing here fails them.
const INPUT_TYPES: [&str; 16] = [
    "append",
    "crash",
    "restart",
    "power_loss",
    "timeout",
    "partition",
    "cut",
    "uncut",
    "isolate",
    "heal",
    "network",
    "drop_message",
    "align_timers",
    "spread_timers",
    "break_rules",
    "control",
];

/// An input, tagged by `type` with its fields beside it. Unknown members are ignored, as serde
/// ignores them.
impl FromJson for TraceInput {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a trace input (a JSON object with its `type`)")?;
        Ok(match f.tag("type")? {
            "append" => TraceInput::Append {
                // `#[serde(with = "crate::command::as_text")]`: "add 5", parsed here.
                command: match f.raw("command") {
                    Some(text) => command_text(text).map_err(|e| format!("command: {e}"))?,
                    None => return Err("missing field `command`".into()),
                },
                node: f.or_default("node")?,
                client: f.or_default("client")?,
            },
            "crash" => TraceInput::Crash {
                node: f.get("node")?,
            },
            "restart" => TraceInput::Restart {
                node: f.get("node")?,
            },
            "power_loss" => TraceInput::PowerLoss {
                node: f.get("node")?,
            },
            "timeout" => TraceInput::Timeout {
                node: f.get("node")?,
            },
            "partition" => TraceInput::Partition {
                groups: f.get("groups")?,
            },
            "cut" => TraceInput::Cut {
                from: f.get("from")?,
                to: f.get("to")?,
            },
            "uncut" => TraceInput::Uncut {
                from: f.get("from")?,
                to: f.get("to")?,
            },
            "isolate" => TraceInput::Isolate {
                node: f.get("node")?,
            },
            "heal" => TraceInput::Heal,
            "network" => TraceInput::Network {
                loss_probability: f.or_default("loss_probability")?,
                duplicate_probability: f.or_default("duplicate_probability")?,
                latency_ms_min: f.or_default("latency_ms_min")?,
                latency_ms_max: f.or_default("latency_ms_max")?,
            },
            "drop_message" => TraceInput::DropMessage { id: f.get("id")? },
            "align_timers" => TraceInput::AlignTimers,
            "spread_timers" => TraceInput::SpreadTimers,
            // No `#[serde(default)]` here, unlike the `break_rules` command: a trace always
            // writes every switch, so one without `rules` is refused.
            "break_rules" => TraceInput::BreakRules {
                rules: f.get("rules")?,
            },
            "control" => TraceInput::Control {
                paused: f.get("paused")?,
                speed: f.get("speed")?,
            },
            other => return Err(unknown_variant(other, &INPUT_TYPES)),
        })
    }
}

/// Where a trace starts, tagged by `kind`: `empty`, or `disk` with one disk per node.
impl FromJson for Start {
    fn from_json(json: &Json) -> Result<Self, String> {
        const KINDS: [&str; 2] = ["empty", "disk"];
        let f = Fields::of(json, "a trace's start (a JSON object with its `kind`)")?;
        Ok(match f.tag("kind")? {
            "empty" => Start::Empty,
            "disk" => Start::Disk {
                nodes: f.get("nodes")?,
            },
            other => return Err(unknown_variant(other, &KINDS)),
        })
    }
}

impl FromJson for NodeDisk {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a node's disk")?;
        Ok(NodeDisk {
            node: f.get("node")?,
            hard_state: f.get("hard_state")?,
            log: f.get("log")?,
        })
    }
}

impl FromJson for HardState {
    fn from_json(json: &Json) -> Result<Self, String> {
        // No `#[serde(default)]`: `current_term` is needed; `voted_for`, an `Option`, is `None`
        // when left out (as serde's derive reads a missing `Option`).
        let f = Fields::of(json, "a hard state")?;
        Ok(HardState {
            current_term: f.get("current_term")?,
            voted_for: f.get("voted_for")?,
        })
    }
}

impl FromJson for SimConfig {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a cluster configuration")?;
        Ok(SimConfig {
            nodes: f.get("nodes")?,
            seed: f.get("seed")?,
            log_model: f.get("log_model")?,
            timing: f.get("timing")?,
            network: f.get("network")?,
            // Left out when no rule is broken: correct Raft.
            broken_rules: f.or_default("broken_rules")?,
        })
    }
}

impl FromJson for NetworkSettings {
    fn from_json(json: &Json) -> Result<Self, String> {
        // No `#[serde(default)]`, although it has a `Default`: every field is needed.
        let f = Fields::of(json, "network settings")?;
        Ok(NetworkSettings {
            latency_ms_min: f.get("latency_ms_min")?,
            latency_ms_max: f.get("latency_ms_max")?,
            loss_probability: f.get("loss_probability")?,
            duplicate_probability: f.get("duplicate_probability")?,
        })
    }
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
