//! Older log entries on demand: a snapshot brings only the newest entries of each log, so when
//! the user scrolls back the page fetches the page the reducer asks for
//! (`ClusterView::pages_to_fetch`) from `GET /api/nodes/{id}/log?from=&to=` and hands it to
//! `ClusterView::older_entries`. While the timeline shows a past instant, the page comes from
//! that instant instead (`GET /api/trace/at/log`): the live log may differ there. Owns the HTTP
//! request; must not decide which entries are needed or where they go (the model does).

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::protocol::LogEntryView;
use shared::types::{LogIndex, NodeId};

use crate::history::{At, History};
use crate::live::Live;
use crate::wire::{Fields, FromJson, Json};

/// Servers with a request under way (one at a time each), and those whose request failed: a
/// failed server is not asked again until the page reloads, so an error cannot turn into a
/// request per event.
#[derive(Clone, Copy)]
pub struct Fetches {
    busy: StoredValue<BTreeSet<NodeId>>,
    /// The timeline (absent in a page without one, e.g. a test): which instant is shown.
    history: Option<History>,
}

impl Fetches {
    /// Nothing fetched yet. Call inside the page's owner.
    pub fn new() -> Fetches {
        Fetches {
            busy: StoredValue::new(BTreeSet::new()),
            history: use_context::<History>(),
        }
    }

    /// Fetch `range` of server `node`'s log unless a request for it is under way (or failed).
    pub fn fetch(self, live: Live, node: NodeId, range: RangeInclusive<LogIndex>) {
        if !self
            .busy
            .try_update_value(|b| b.insert(node))
            .unwrap_or(false)
        {
            return;
        }
        let shown = move || -> Option<At> { self.history?.past.get_untracked().map(|p| p.at) };
        let source = shown();
        spawn_local(async move {
            let (from, to) = (range.start(), range.end());
            let url = match source {
                Some(at) => format!(
                    "/api/trace/at/log?{}&node={node}&from={from}&to={to}",
                    at.query()
                ),
                None => format!("/api/nodes/{node}/log?from={from}&to={to}"),
            };
            match get_entries(&url).await {
                Ok(entries) => {
                    // Only into the instant they were read from (the page may have moved on).
                    if shown() == source {
                        live.change(|v| v.older_entries(node, &entries));
                    }
                    self.busy.update_value(|b| {
                        b.remove(&node);
                    });
                }
                Err(e) => {
                    leptos::logging::warn!("cannot load {url}: {e}");
                }
            }
        });
    }
}

impl Default for Fetches {
    fn default() -> Fetches {
        Fetches::new()
    }
}

/// `GET /api/nodes/{id}/log`'s answer: `{"ok": true, "result": {"entries": […], …}}` or an
/// error; only the entries are read.
struct Page {
    ok: bool,
    entries: Option<Vec<LogEntryView>>,
    error: Option<String>,
}

impl FromJson for Page {
    fn from_json(json: &Json) -> Result<Self, String> {
        let f = Fields::of(json, "a log page")?;
        let entries = match f.raw("result") {
            None | Some(Json::Null) => None,
            Some(result) => Some(Fields::of(result, "a log page")?.get("entries")?),
        };
        Ok(Page {
            ok: f.get("ok")?,
            entries,
            error: f.get("error")?,
        })
    }
}

/// One page of entries, from the server or, when the page runs its own cluster, from its engine
/// (`http::request` knows which answers).
async fn get_entries(url: &str) -> Result<Vec<LogEntryView>, String> {
    let (_, text) = crate::http::request("GET", url, None).await?;
    let page: Page = crate::wire::read(&text)?;
    match (page.ok, page.entries) {
        (true, Some(entries)) => Ok(entries),
        _ => Err(page
            .error
            .unwrap_or_else(|| "no entries in the answer".into())),
    }
}
