//! Readers of what people and scripts ask the in-browser engine: a WebSocket request
//! ([`ClientRequest`]) and its [`ClientCommand`] (shared/src/protocol/command.rs), and where a
//! fork goes ([`ForkAt`], the body of `POST /api/fork`, shared/src/trace/answers.rs). Each
//! mirrors that type's serde attributes; must not check what a command asks (whether a node
//! exists, a speed is allowed, a fork names exactly one instant): the engine does, as before.

use crate::protocol::{ClientCommand, ClientRequest};
use crate::trace::answers::ForkAt;

use super::read::{invalid, unknown_variant, Fields, FromJson, Json};

/// Every command's `type` (`#[serde(tag = "type", rename_all = "snake_case")]`), in the order
/// of the enum. The tests read back every variant, so a name missing here fails them.
const COMMAND_TYPES: [&str; 22] = [
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
    "pause",
    "resume",
    "step",
    "speed",
    "presenter_view",
    "answer",
    "align_timers",
    "spread_timers",
    "break_rules",
    "reset",
];

/// A command, tagged by `type` with its fields beside it. Unknown members are ignored (serde
/// ignores them too: no `deny_unknown_fields` here), so a unit command such as `heal` reads
/// whatever else its object holds.
impl FromJson for ClientCommand {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a command (a JSON object with its `type`)")?;
        command(&f, json)
    }
}

/// The command in `f` (`json` is the same object, for the one variant that reads it whole).
fn command(f: &Fields, json: &Json) -> Result<ClientCommand, String> {
    Ok(match f.tag("type")? {
        "append" => ClientCommand::Append {
            // Plain text here: the engine parses it into a `Command` where it receives it.
            command: f.get("command")?,
            node: f.or_default("node")?,
            client_id: f.or_default("client_id")?,
            serial: f.or_default("serial")?,
        },
        "crash" => ClientCommand::Crash {
            node: f.get("node")?,
        },
        "restart" => ClientCommand::Restart {
            node: f.get("node")?,
        },
        "power_loss" => ClientCommand::PowerLoss {
            node: f.get("node")?,
        },
        "timeout" => ClientCommand::Timeout {
            node: f.get("node")?,
        },
        "partition" => ClientCommand::Partition {
            groups: f.get("groups")?,
        },
        "cut" => ClientCommand::Cut {
            from: f.get("from")?,
            to: f.get("to")?,
        },
        "uncut" => ClientCommand::Uncut {
            from: f.get("from")?,
            to: f.get("to")?,
        },
        "isolate" => ClientCommand::Isolate {
            node: f.get("node")?,
        },
        "heal" => ClientCommand::Heal,
        // Each field left out keeps the current setting.
        "network" => ClientCommand::Network {
            loss_probability: f.or_default("loss_probability")?,
            duplicate_probability: f.or_default("duplicate_probability")?,
            latency_ms_min: f.or_default("latency_ms_min")?,
            latency_ms_max: f.or_default("latency_ms_max")?,
        },
        "drop_message" => ClientCommand::DropMessage { id: f.get("id")? },
        "pause" => ClientCommand::Pause,
        "resume" => ClientCommand::Resume,
        "step" => ClientCommand::Step,
        "speed" => ClientCommand::Speed {
            speed: f.get("speed")?,
        },
        // A newtype variant of an internally tagged enum: the view's fields sit beside `type`,
        // and serde reads the view from the object without its tag. The view ignores unknown
        // members, so reading it from the whole object (tag and all) is the same.
        "presenter_view" => ClientCommand::PresenterView(FromJson::from_json(json)?),
        "answer" => ClientCommand::Answer {
            question: f.get("question")?,
            choice: f.get("choice")?,
        },
        "align_timers" => ClientCommand::AlignTimers,
        "spread_timers" => ClientCommand::SpreadTimers,
        // `#[serde(default)]`: `{"type":"break_rules"}` switches every rule back on.
        "break_rules" => ClientCommand::BreakRules {
            rules: f.or_default("rules")?,
        },
        // Each field left out keeps its current value.
        "reset" => ClientCommand::Reset {
            nodes: f.or_default("nodes")?,
            seed: f.or_default("seed")?,
            log_model: f.or_default("log_model")?,
            election_timeout_ms_min: f.or_default("election_timeout_ms_min")?,
            election_timeout_ms_max: f.or_default("election_timeout_ms_max")?,
            heartbeat_interval_ms: f.or_default("heartbeat_interval_ms")?,
            default_settings: f.or_default("default_settings")?,
        },
        other => return Err(unknown_variant(other, &COMMAND_TYPES)),
    })
}

/// A request: `request_id` and, through `#[serde(flatten)]`, the command's `type` and fields
/// in the same object. The command ignores members it does not know, so it is read from the
/// whole object, `request_id` included.
impl FromJson for ClientRequest {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(
            json,
            "a request (a JSON object with its `request_id` and `type`)",
        )?;
        Ok(ClientRequest {
            request_id: f.get("request_id")?,
            command: command(&f, json)?,
        })
    }
}

/// `ForkAt`'s fields, in the order serde reads them from an array.
const FORK_AT_FIELDS: [&str; 3] = ["at_ms", "seq", "before_input"];

/// Where to fork: `#[serde(deny_unknown_fields)]` and every field `#[serde(default)]`, so `{}`
/// and two fields at once are read here (the engine's `ForkAt::position` refuses them with its
/// sentence, as the server does), while a member it does not know, or one given twice, is
/// refused as serde refuses it. Like every derived struct reader, serde also takes the fields
/// in order from an array (`[1500]`, `[null, 612]`): that is mirrored too, so the engine
/// answers any body exactly as the server does.
impl FromJson for ForkAt {
    fn from_json(json: &Json) -> Result<Self, String> {
        match json {
            Json::Object(members) => {
                for (key, _) in members {
                    if !FORK_AT_FIELDS.contains(&key.as_ref()) {
                        let expected: Vec<String> =
                            FORK_AT_FIELDS.iter().map(|n| format!("`{n}`")).collect();
                        return Err(format!(
                            "unknown field `{key}`, expected one of {}",
                            expected.join(", ")
                        ));
                    }
                }
                let f = Fields::of(json, "where to fork")?;
                Ok(ForkAt {
                    at_ms: f.or_default("at_ms")?,
                    seq: f.or_default("seq")?,
                    before_input: f.or_default("before_input")?,
                })
            }
            // Missing trailing elements are the fields' defaults; more than three is refused.
            Json::Array(items) if items.len() <= FORK_AT_FIELDS.len() => {
                let at = |i: usize| items.get(i).unwrap_or(&Json::Null);
                let field = |i: usize| format!("{}: ", FORK_AT_FIELDS[i]);
                Ok(ForkAt {
                    at_ms: FromJson::from_json(at(0)).map_err(|e| field(0) + &e)?,
                    seq: FromJson::from_json(at(1)).map_err(|e| field(1) + &e)?,
                    before_input: FromJson::from_json(at(2)).map_err(|e| field(2) + &e)?,
                })
            }
            Json::Array(items) => Err(format!(
                "invalid length {}, expected struct ForkAt with 3 elements",
                items.len()
            )),
            other => Err(invalid(other, "where to fork (a JSON object)")),
        }
    }
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
