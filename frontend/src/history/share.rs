//! Share links (docs/trace.md): the current run as a link to copy (`GET /api/trace/link`), and a
//! page opened from one (`#trace=…&t=…`), which loads that run paused at its instant. Owns those
//! two requests; the link's format is `timeline`'s and `shared::trace::link`'s.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{error_of, parse_result, At, History};
use crate::http::{copy_to_clipboard, request};
use crate::state::Ctx;
use crate::timeline::{parse_share, share_fragment};
use crate::transport::EngineKind;
use crate::ws::Origin;
use shared::protocol::ClientCommand;
use shared::trace::{link, Trace};

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
        // The link's JSON is posted as it came (the server reads it again), after the same check
        // `link::decode` makes, so a bad link is refused here, before the run is paused. Posting
        // `Trace::to_json()` of the decoded trace instead would put a trace writer in the page
        // module for this alone (10.8 KB; docs/bench-frontend.md).
        let checked = link::inflate(&share.fragment).and_then(|json| {
            Trace::from_json(&json)?;
            Ok(json)
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
        // Paused first (over HTTP: the WebSocket may not be open yet), so the run waits at the
        // instant the link names instead of running on from it.
        spawn_local(async move {
            if ctx.engine.get_untracked() == EngineKind::Browser {
                // The page's own engine takes commands at once (its worker queues them).
                ctx.send(ClientCommand::Pause, Origin::History);
            } else {
                let pause = r#"{"type":"pause"}"#.to_string();
                if let Ok((status, text)) = request("POST", "/api/commands", Some(pause)).await {
                    if status != 200 {
                        leptos::logging::warn!("pause: {}", error_of(&text));
                    }
                }
            }
            self.load(ctx, json, move || {
                if let Some(t) = share.t_ms {
                    self.show(ctx, At::Ms(t));
                }
            });
        });
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

#[derive(Deserialize)]
struct LinkResult {
    fragment: String,
}
