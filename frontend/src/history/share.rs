//! Share links (docs/trace.md): the current run as a link to copy (`GET /api/trace/link`), and a
//! page opened from one (`#trace=…&t=…`), which loads that run paused at its instant. Owns those
//! two requests; the link's format is `timeline`'s and `shared::trace::link`'s.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

use super::{error_of, parse_result, At, History};
use crate::http::{copy_to_clipboard, request};
use crate::state::Ctx;
use crate::timeline::{parse_share, share_fragment, TraceView};
use crate::transport::EngineKind;
use crate::wire::{Fields, FromJson, Json};
use crate::ws::Origin;
use shared::protocol::{ClientCommand, ConnectionRole};
use shared::trace::link;

impl History {
    /// Ask for the current run as a share link and put it in `link` (and the clipboard, when the
    /// browser allows). A run too long for a link says so and points at the file.
    pub fn make_link(self, ctx: Ctx) {
        let t = self.past.get_untracked().map(|p| p.time_ms);
        ctx.clear_reply(Origin::History);
        spawn_local(async move {
            match request("GET", "/api/trace/link", None).await {
                Ok((200, text)) => match parse_result::<LinkResult>(&text) {
                    Ok(link) => {
                        let url = page_url() + &share_fragment(&link.fragment, t);
                        // Shown first: the clipboard may be refused (a page not on https or
                        // localhost) or wait for a permission.
                        self.link.set(Some(url.clone()));
                        let said = if copy_to_clipboard(&url).await {
                            format!("Link copied ({} characters)", url.len())
                        } else {
                            "Copy the link below".to_string()
                        };
                        ctx.replies.update(|r| {
                            r.insert(Origin::History, Ok(said));
                        });
                    }
                    Err(e) => ctx.local_error(Origin::History, e),
                },
                Ok((_, text)) => ctx.local_error(Origin::History, error_of(&text)),
                Err(e) => ctx.local_error(Origin::History, e),
            }
        });
    }

    /// When the page was opened from a share link (`#trace=…&t=…`): load that run, pause it, and
    /// show the instant `t`. The fragment is removed from the address bar once read, so a reload
    /// does not load the run again over whatever happened since.
    pub fn open_share_link(self, ctx: Ctx) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let hash = window.location().hash().unwrap_or_default();
        let Some(share) = parse_share(&hash) else {
            return;
        };
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&page_url()));
        }
        // The link's JSON is posted as it came (the server reads and checks all of it again).
        // The page checks only its outline (JSON, a trace's version, a configuration and an
        // end: `TraceView`), so that a damaged link is refused here, before the run is paused;
        // reading the whole trace would put its readers in the page module for this alone
        // (≈ 33 KB brotli; docs/bench-frontend.md).
        let checked = link::inflate(&share.fragment)
            .map_err(|e| e.to_string())
            .and_then(|json| match TraceView::from_json(&json) {
                Ok(_) => Ok(json),
                Err(e) => Err(e.to_string()),
            });
        let json = match checked {
            Ok(json) => json,
            Err(e) => {
                return ctx.local_error(
                    Origin::History,
                    format!("This link's run cannot be opened: {e}"),
                );
            }
        };
        // The role comes with the first state (`hello`; the page's own engine gives none): wait
        // for it. A student's page may not change the class's run, so the link opens in the
        // student's own sandbox instead.
        let started = StoredValue::new(false);
        Effect::new(move |_| {
            let role = ctx.role.get();
            if ctx.live.snapshots.get() == 0 || started.get_value() {
                return;
            }
            started.set_value(true);
            if role == Some(ConnectionRole::Viewer) {
                let at_ms = share.t_ms;
                return crate::sandbox::start_from_link(ctx, Some(self), json.clone(), at_ms);
            }
            self.load_link(ctx, json.clone(), share.t_ms);
        });
    }

    /// Load a link's run (`json`) as the live one, paused, showing instant `t_ms` if given.
    fn load_link(self, ctx: Ctx, json: String, t_ms: Option<u64>) {
        spawn_local(async move {
            // Paused first, so that the loaded run waits at the instant the link names instead
            // of running on from it (a loaded run goes on as the old one went). Should the
            // server refuse the link after all (a trace that does not re-execute, say), the run
            // is resumed if it was going before: a bad link leaves the class's run as it was.
            let was_paused = paused_now(ctx).await;
            command_now(ctx, ClientCommand::Pause).await;
            self.load(ctx, json, move |loaded| {
                if !loaded {
                    if was_paused == Some(false) {
                        spawn_local(command_now(ctx, ClientCommand::Resume));
                    }
                } else if let Some(t) = t_ms {
                    self.show(ctx, At::Ms(t));
                }
            });
        });
    }
}

/// Whether the live run is paused, when known: from the page's own engine's last snapshot, or
/// from `GET /api/health` (the WebSocket may not be open yet when a link is opened).
async fn paused_now(ctx: Ctx) -> Option<bool> {
    if ctx.engine.get_untracked() == EngineKind::Browser {
        return ctx.live.peek(|v| v.paused);
    }
    match request("GET", "/api/health", None).await {
        Ok((200, text)) => crate::wire::parse(&text)
            .ok()
            .and_then(|health| bool::from_json(health.get("paused")?).ok()),
        _ => None,
    }
}

/// Pause or resume at once: the page's own engine takes commands at once (its worker queues
/// them); a server over HTTP (the WebSocket may not be open yet).
async fn command_now(ctx: Ctx, command: ClientCommand) {
    if ctx.engine.get_untracked() == EngineKind::Browser {
        return ctx.send(command, Origin::Playback);
    }
    let body = serde_json::to_string(&command).expect("a command always serializes");
    if let Ok((status, text)) = request("POST", "/api/commands", Some(body.clone())).await {
        if status != 200 {
            leptos::logging::warn!("{body}: {}", error_of(&text));
        }
    }
}

/// The page's address without its fragment or query.
fn page_url() -> String {
    web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(l.origin().ok()? + &l.pathname().ok()?)
        })
        .unwrap_or_default()
}

/// `GET /api/trace/link`'s result: the link's fragment.
struct LinkResult {
    fragment: String,
}

impl FromJson for LinkResult {
    fn from_json(json: &Json) -> Result<Self, String> {
        Ok(LinkResult {
            fragment: Fields::of(json, "a link")?.get("fragment")?,
        })
    }
}
