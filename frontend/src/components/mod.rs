//! Thin Leptos components over the view model: each reads `state::Ctx` and draws one part of the page.
//! None of them holds Raft knowledge of its own.

pub mod auto_pause;
pub mod branches;
pub mod break_raft;
pub mod classroom;
pub mod column_caption;
pub mod controls;
pub mod inspector;
pub mod keys;
pub mod lessons;
pub mod log_ghosts;
pub mod logs;
pub mod modal;
pub mod narration;
pub mod on_screen;
pub mod overlays;
pub mod prediction;
pub mod reply;
pub mod reset_dialog;
pub mod ring;
pub mod ring_messages;
pub mod safety;
pub mod timeline;
