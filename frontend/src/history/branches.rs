//! Branches in the page: the runs the server set aside (`GET /api/trace/branches`) and the
//! return to one (`POST /api/trace/branches/{id}/restore`), asking first when the current run
//! holds actions the branch does not (it is then kept as a branch itself, as the server always
//! does). Owns those requests and the list's state; the wording and the decision to ask are
//! `timeline`'s (pure, tested natively), the drawing `components::branches`'.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{error_of, parse_result, History};
use crate::http::request;
use crate::state::Ctx;
use crate::timeline::{abandons, BranchRow, TraceView};
use crate::ws::Origin;

/// The branch list. All fields are `Copy` handles.
#[derive(Clone, Copy)]
pub struct Branches {
    /// As last fetched, oldest first.
    pub list: RwSignal<Vec<BranchRow>>,
    /// The list is unfolded.
    pub open: RwSignal<bool>,
    /// The branch whose return waits for the teacher's confirmation.
    pub confirm: RwSignal<Option<u64>>,
}

impl Branches {
    /// Nothing fetched yet. Call inside the page's owner.
    pub fn new() -> Branches {
        Branches {
            list: RwSignal::new(Vec::new()),
            open: RwSignal::new(false),
            confirm: RwSignal::new(None),
        }
    }

    /// Fetch the list again.
    pub fn refresh(self) {
        spawn_local(async move {
            match request("GET", "/api/trace/branches", None).await {
                Ok((200, text)) => match parse_result::<Vec<BranchRow>>(&text) {
                    Ok(list) => self.list.set(list),
                    Err(e) => leptos::logging::warn!("branches: {e}"),
                },
                Ok((_, text)) => leptos::logging::warn!("branches: {}", error_of(&text)),
                Err(e) => leptos::logging::warn!("branches: {e}"),
            }
        });
    }

    /// "Return" on branch `id`: at once when nothing people did would be abandoned, else ask.
    pub fn ask_return(self, ctx: Ctx, history: History, id: u64) {
        ctx.clear_reply(Origin::History);
        spawn_local(async move {
            let current = get_trace("/api/trace".to_string()).await;
            let branch = get_trace(format!("/api/trace/branches/{id}")).await;
            match (current, branch) {
                (Ok(current), Ok(branch)) if abandons(&current, &branch) => {
                    self.confirm.set(Some(id));
                }
                (Ok(_), Ok(_)) => self.restore(ctx, history, id),
                (Err(e), _) | (_, Err(e)) => ctx.local_error(Origin::History, e),
            }
        });
    }

    /// Make branch `id` the live run (the current one becomes a branch).
    pub fn restore(self, ctx: Ctx, history: History, id: u64) {
        self.confirm.set(None);
        history.replace_run_then(
            ctx,
            format!("/api/trace/branches/{id}/restore"),
            None,
            |_| {},
        );
    }
}

impl Default for Branches {
    fn default() -> Branches {
        Branches::new()
    }
}

/// The trace at `url`, read only as far as `abandons` needs.
async fn get_trace(url: String) -> Result<TraceView, String> {
    match request("GET", &url, None).await? {
        (200, text) => TraceView::from_json(&text).map_err(|e| e.to_string()),
        (_, text) => Err(error_of(&text)),
    }
}
