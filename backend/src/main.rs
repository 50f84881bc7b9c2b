//! The `logscope` command: parses flags and starts the server.
fn main() {}
