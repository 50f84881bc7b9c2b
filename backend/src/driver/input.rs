//! A person's or script's command as the driver takes it: typed, with an append's request text
//! already parsed into a [`Command`] and its client id/serial checked. Owns the one place where
//! the text of a request becomes a command (the edge: both the HTTP and the WebSocket handler call
//! [`Input::parse`]); must not touch the run.

use shared::protocol::ClientCommand;
use shared::{ClientSerial, Command, NodeId};

use super::CommandError;

/// A client request to append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Append {
    /// What to do.
    pub command: Command,
    /// Where to send it (default: the leader).
    pub node: Option<NodeId>,
    /// The client's id and serial (Raft §8), if it gave them.
    pub client: Option<ClientSerial>,
}

/// A command, typed.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// `append`, parsed.
    Append(Append),
    /// Any other command (their fields are typed already).
    Control(ClientCommand),
}

impl Input {
    /// Parse an append's text and check its client id/serial; pass every other command through.
    /// A bad request text is a 400 with the parser's own sentence.
    pub fn parse(command: ClientCommand) -> Result<Input, CommandError> {
        let client = command.client_serial().map_err(CommandError::invalid)?;
        match command {
            ClientCommand::Append { command, node, .. } => {
                let command: Command = command
                    .parse()
                    .map_err(|e: shared::CommandError| CommandError::invalid(e.to_string()))?;
                Ok(Input::Append(Append {
                    command,
                    node,
                    client,
                }))
            }
            ClientCommand::PresenterView(_) => Err(CommandError::invalid(
                "presenter_view is sent by the presenter's page on its WebSocket and relayed to \
                 viewers; it is not a command for the cluster",
            )),
            ClientCommand::Answer { .. } => Err(CommandError::invalid(
                "answer is sent by a viewer's page on its WebSocket to the question a lesson \
                 asks; it is not a command for the cluster",
            )),
            other => Ok(Input::Control(other)),
        }
    }
}

impl From<Append> for Input {
    fn from(append: Append) -> Self {
        Input::Append(append)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(json: &str) -> Result<Input, CommandError> {
        Input::parse(serde_json::from_str(json).expect("valid JSON"))
    }

    #[test]
    fn an_append_is_parsed_once_here() {
        assert_eq!(
            append(r#"{"type":"append","command":"add 5","node":2}"#),
            Ok(Input::Append(Append {
                command: Command::Add(5),
                node: Some(NodeId(2)),
                client: None
            }))
        );
        let bad = append(r#"{"type":"append","command":"add five"}"#).unwrap_err();
        assert_eq!(bad.message, "\"five\" is not a whole number");
        let huge = append(r#"{"type":"append","command":"add -9223372036854775808"}"#);
        assert!(huge.unwrap_err().message.contains("out of range"));
        let half = append(r#"{"type":"append","command":"add 1","serial":3}"#);
        assert!(half.unwrap_err().message.contains("together"));
        assert_eq!(
            Input::parse(ClientCommand::Heal),
            Ok(Input::Control(ClientCommand::Heal))
        );
    }
}
