//! The page's shared state: the live cluster, the animated "now", the selection and highlight,
//! the connection and the last reply per control, in one `Copy` context every component reads;
//! and the one path commands take to the server. Draws nothing and knows no Raft (see `model`).

use std::collections::BTreeMap;

use leptos::prelude::*;
use shared::protocol::{ClientCommand, ConnectionRole, PresenterView};
use shared::types::NodeId;

use crate::clock::PlaybackClock;
use crate::live::Live;
use crate::model::safety::SafetyState;
use crate::model::Focus;
use crate::present::{help_pause, HelpPause};
use crate::transport::{EngineKind, Handlers, Transport};
use crate::ws::{ConnState, Origin};

/// The widest screen laid out as a phone (style.css's `max-width: 700px`).
const PHONE_MAX_PX: f64 = 700.0;

/// What a viewer's page says when something would command the cluster.
pub const READ_ONLY: &str = "You are watching the presenter's cluster (read-only): only the \
    presenter can change it";

/// What the side panel inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Nothing inspected (the client and network controls show either way).
    None,
    /// A server.
    Node(NodeId),
    /// A message (in flight, or remembered after it arrived).
    Message(u64),
}

/// Everything components share. All fields are `Copy` handles.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The cluster, one reactive part at a time.
    pub live: Live,
    /// Virtual time now, extrapolated every animation frame.
    pub now: RwSignal<f64>,
    /// Connection state.
    pub conn: RwSignal<ConnState>,
    /// The teacher's "pause at key moments" setting (`components::auto_pause`).
    pub auto_pause: RwSignal<crate::model::AutoPause>,
    /// Wall time in whole seconds (set by the animation loop), for countdowns.
    pub wall_s: RwSignal<u64>,
    /// What the side panel shows.
    pub selection: RwSignal<Selection>,
    /// What a narration or entry click highlights.
    pub highlight: RwSignal<Focus>,
    /// Last reply per control.
    pub replies: RwSignal<BTreeMap<Origin, Result<String, String>>>,
    /// Overlays.
    pub help_open: RwSignal<bool>,
    /// Reset dialog.
    pub reset_open: RwSignal<bool>,
    /// The presenter view: large text, everything on one projector screen.
    pub presenter: RwSignal<bool>,
    /// The legend is unfolded (it folds away in the presenter view).
    pub legend_open: RwSignal<bool>,
    /// The help overlay paused the run when it opened (so closing it resumes).
    help_paused: StoredValue<bool>,
    /// The append form's text (shared with the "c" key and the server panel).
    pub append_text: RwSignal<String>,
    /// This connection's role, from `hello` (`None` until it comes, or from an older server).
    pub role: RwSignal<Option<ConnectionRole>>,
    /// The URL students open, when the server listens beyond loopback (from `hello`).
    pub viewer_url: RwSignal<Option<String>>,
    /// A viewer follows the presenter's selection, highlight and layout (on by default).
    pub following: RwSignal<bool>,
    /// The presenter's latest view state, kept so that rejoining follow mode goes straight to it.
    pub presenter_view: RwSignal<Option<PresenterView>>,
    /// The question a lesson asks now, its tally, and this viewer's pick.
    pub prediction: RwSignal<crate::predict::Prediction>,
    /// The live safety checker's verdict (and the rules broken on purpose).
    pub safety: RwSignal<SafetyState>,
    /// Set when the server speaks another protocol version (the page must be reloaded).
    pub version_mismatch: RwSignal<Option<u32>>,
    /// The instant shown while the timeline shows the past (set by `history`): commands that
    /// would change the live run wait meanwhile (`timeline::while_past`).
    pub past_ms: StoredValue<Option<u64>>,
    /// Wall time of the last reconnect asked for by a gap in the events.
    pub(crate) last_resync_ms: StoredValue<f64>,
    pub(crate) connection: StoredValue<Option<Transport>, LocalStorage>,
    /// Which engine runs the cluster: the server, or this page (`transport`).
    pub engine: RwSignal<EngineKind>,
    /// The app's message handlers, for a sandbox started later (`sandbox`).
    pub(crate) handlers: StoredValue<Option<Handlers>, LocalStorage>,
    /// A sandbox is being started ("Try it yourself" waits).
    pub sandbox_busy: RwSignal<bool>,
    /// What starting a sandbox says: progress, or why it could not start.
    pub sandbox_status: RwSignal<Option<String>>,
    pub(crate) clock: StoredValue<PlaybackClock>,
    /// This tab's client id (Raft §8), drawn at random when the page opens, and the serial of
    /// its last request: every append carries both, so the cluster executes it once even if the
    /// network duplicates its forward.
    client_id: u64,
    serial: StoredValue<u64>,
}

impl Ctx {
    /// A fresh page: nothing known yet, connecting.
    pub fn new() -> Ctx {
        Ctx {
            live: Live::new(),
            now: RwSignal::new(0.0),
            conn: RwSignal::new(ConnState::Connecting { attempts: 0 }),
            auto_pause: RwSignal::new(Default::default()),
            wall_s: RwSignal::new(0),
            selection: RwSignal::new(Selection::None),
            highlight: RwSignal::new(Focus::None),
            replies: RwSignal::new(BTreeMap::new()),
            help_open: RwSignal::new(false),
            reset_open: RwSignal::new(false),
            presenter: RwSignal::new(false),
            // Folded on a phone, where it would push the controls a screen further down.
            legend_open: RwSignal::new(
                web_sys::window()
                    .and_then(|w| w.inner_width().ok())
                    .and_then(|w| w.as_f64())
                    .is_none_or(|w| w > PHONE_MAX_PX),
            ),
            help_paused: StoredValue::new(false),
            append_text: RwSignal::new("add 5".to_string()),
            role: RwSignal::new(None),
            viewer_url: RwSignal::new(None),
            following: RwSignal::new(true),
            presenter_view: RwSignal::new(None),
            prediction: RwSignal::new(Default::default()),
            version_mismatch: RwSignal::new(None),
            past_ms: StoredValue::new(None),
            safety: RwSignal::new(SafetyState::default()),
            last_resync_ms: StoredValue::new(f64::MIN),
            connection: StoredValue::new_local(None),
            engine: RwSignal::new(EngineKind::Unknown),
            handlers: StoredValue::new_local(None),
            sandbox_busy: RwSignal::new(false),
            sandbox_status: RwSignal::new(None),
            clock: StoredValue::new(PlaybackClock::new()),
            // 1..2^53 (exact in an f64); 0 is the server's own client for requests without one.
            client_id: 1 + (js_sys::Math::random() * ((1u64 << 53) - 1) as f64) as u64,
            serial: StoredValue::new(0),
        }
    }

    /// False on a viewer's page: the server refuses its commands, so the page does not send
    /// them (its controls are hidden; keys and clicks that would command say why instead).
    pub fn may_control(&self) -> bool {
        self.role.get_untracked() != Some(ConnectionRole::Viewer)
    }

    /// Send a command; a local failure (not connected, a viewer) is shown like a server error.
    pub fn send(&self, command: ClientCommand, origin: Origin) {
        if !self.may_control() {
            return self.local_error(origin, READ_ONLY.to_string());
        }
        // Keys and buttons alike: nothing lands unseen in the live run while the past is shown.
        if let Err(e) = crate::timeline::while_past(&command, self.past_ms.get_value()) {
            return self.local_error(origin, e);
        }
        let result = self.connection.with_value(|c| match c {
            Some(c) => c.send(command, origin),
            None => Err("not connected to the server".to_string()),
        });
        match result {
            Ok(_) => self.clear_reply(origin),
            Err(e) => self.local_error(origin, e),
        }
    }

    /// Ask for a client request (`add 5`, …) to be appended, to `node` or to the leader. Every
    /// append the page makes goes through here (the form, the quick buttons, a server's panel,
    /// the "c" key); a request that does not parse is refused locally, next to `origin`.
    pub fn append(&self, text: &str, node: Option<NodeId>, origin: Origin) {
        let command = text.trim();
        match command.parse::<shared::Command>() {
            Ok(_) => {
                let command = command.to_string();
                self.serial.update_value(|s| *s += 1);
                let append = ClientCommand::Append {
                    command,
                    node,
                    client_id: Some(self.client_id),
                    serial: Some(self.serial.get_value()),
                };
                self.send(append, origin);
            }
            Err(e) => self.local_error(origin, e.to_string()),
        }
    }

    /// Show an error next to a control without asking the server (e.g. a typo caught locally).
    pub fn local_error(&self, origin: Origin, error: String) {
        self.replies.update(|r| {
            r.insert(origin, Err(error));
        });
    }

    /// The run shown was replaced (a fork, an undo, a loaded trace, a lesson's step, another
    /// page's change): the answers about the old run's requests, servers and links ("S2
    /// appended the entry at index 6") no longer describe it. The reset dialog's and the
    /// timeline's own answers stay: they are about the replacing.
    pub fn forget_replies_about_the_run(&self) {
        self.replies.update(|r| {
            r.retain(|origin, _| {
                !matches!(
                    origin,
                    Origin::Append
                        | Origin::Node
                        | Origin::Network
                        | Origin::Message
                        | Origin::Keyboard
                )
            })
        });
    }

    /// Clear the message next to a control.
    pub fn clear_reply(&self, origin: Origin) {
        self.replies.update(|r| {
            r.remove(&origin);
        });
    }

    /// Reconnect at once.
    pub fn reconnect_now(&self) {
        self.connection.with_value(|c| {
            if let Some(c) = c {
                c.reconnect_now();
            }
        });
    }

    /// Open or close the help. Like RaftScope's, it pauses the run while it is open, and resumes
    /// on close only if it was the one that paused it.
    pub fn set_help(&self, open: bool) {
        if self.help_open.get_untracked() == open {
            return;
        }
        self.help_open.set(open);
        // A viewer's help must not stop the presenter's run (and could not: it is read-only);
        // nor does the help stop the live run while the past is shown (it is not on screen).
        if !self.may_control() || self.past_ms.get_value().is_some() {
            return;
        }
        let Some(paused) = self.live.peek(|v| v.paused) else {
            return;
        };
        let (action, by_help) = help_pause(open, paused, self.help_paused.get_value());
        self.help_paused.set_value(by_help);
        match action {
            HelpPause::Pause => self.send(ClientCommand::Pause, Origin::Playback),
            HelpPause::Resume => self.send(ClientCommand::Resume, Origin::Playback),
            HelpPause::Nothing => {}
        }
    }

    /// Turn the presenter view on or off; its legend starts folded, the normal one unfolded.
    pub fn set_presenter(&self, on: bool) {
        self.presenter.set(on);
        self.legend_open.set(!on);
    }

    /// Toggle pause.
    pub fn toggle_pause(&self) {
        match self.live.peek(|v| v.paused) {
            Some(true) => self.send(ClientCommand::Resume, Origin::Playback),
            Some(false) => self.send(ClientCommand::Pause, Origin::Playback),
            None => {}
        }
    }
}

impl Default for Ctx {
    fn default() -> Ctx {
        Ctx::new()
    }
}

/// Read the shared context.
pub fn use_ctx() -> Ctx {
    expect_context::<Ctx>()
}
