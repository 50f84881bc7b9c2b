//! The side panel for a selected server (its full state and its actions: crash, restart, power
//! loss, time out, isolate, send it a request) or a selected message (every field, and a drop
//! button while it is in flight).

use crate::decimal::Fixed;
use shared::protocol::{
    AppendEntries, AppendEntriesResponse, ForwardedRequest, RequestVote, RequestVoteResponse,
};
use std::collections::BTreeMap;

use leptos::prelude::*;
use shared::protocol::{ClientCommand, InFlight, MessageBody, PeerProgress};
use shared::types::{LogIndex, NodeId, Role, Term};

use crate::components::on_screen;
use crate::components::reply::ReplyLine;
use crate::live::Part;
use crate::model::{capitalize, describe_kind, NodeState};
use crate::state::{use_ctx, Ctx, Selection};
use crate::ws::Origin;

/// What the server panel shows of a server: its state without its log (which can be long and
/// is drawn by the log table).
#[derive(Clone, Debug, PartialEq)]
struct NodeFacts {
    up: bool,
    role: Role,
    current_term: Term,
    voted_for: Option<NodeId>,
    leader_id: Option<NodeId>,
    last_index: LogIndex,
    last_term: Term,
    synced_index: LogIndex,
    commit_index: LogIndex,
    last_applied: LogIndex,
    value: i64,
    election_deadline_ms: Option<u64>,
    votes: Vec<NodeId>,
    storage_error: Option<String>,
    progress: BTreeMap<NodeId, PeerProgress>,
}

impl NodeFacts {
    fn of(n: &NodeState) -> NodeFacts {
        NodeFacts {
            up: n.up,
            role: n.role,
            current_term: n.current_term,
            voted_for: n.voted_for,
            leader_id: n.leader_id,
            last_index: n.last_index(),
            last_term: n.term_at(n.last_index()).unwrap_or_default(),
            synced_index: n.synced_index,
            commit_index: n.commit_index,
            last_applied: n.last_applied,
            value: n.value,
            election_deadline_ms: n.election_deadline_ms,
            votes: n.votes.clone(),
            storage_error: n.storage_error.clone(),
            progress: n.progress.clone(),
        }
    }
}

/// Bring a panel that just opened into view when it opened off screen: in the stacked layout
/// (tablets, narrow laptops) the side panels sit under the ring, a screen or more below the
/// server that was clicked. On phones it is a sheet over the screen's bottom, always in view:
/// there the ring is brought up above it, unless the page only follows the presenter's
/// selection (`bring_ring` false): a student reading the story is not pulled away at each click
/// made at the projector.
fn reveal(testid: &'static str, bring_ring: bool) {
    request_animation_frame(move || {
        let Some(window) = web_sys::window() else {
            return;
        };
        let Some(panel) = on_screen::by_testid(testid) else {
            return;
        };
        let height = on_screen::window_height();
        let rect = panel.get_bounding_client_rect();
        let width = window
            .inner_width()
            .ok()
            .and_then(|w| w.as_f64())
            .unwrap_or(0.0);
        // A sheet (style.css, phones): the whole width, down to the screen's bottom.
        let sheet =
            rect.left() <= 1.0 && rect.right() >= width - 1.0 && rect.bottom() >= height - 1.0;
        if sheet {
            // Always in view. The ring is what it may hide: bring the ring up above it, so
            // that a crash is seen happening.
            if !bring_ring {
                return;
            }
            if let Some(ring) = on_screen::by_testid("ring") {
                let r = ring.get_bounding_client_rect();
                if r.top() < 0.0 || r.bottom() > rect.top() {
                    window.scroll_by_with_x_and_y(0.0, r.top() - 8.0);
                }
            }
        } else if rect.top() > height - 80.0 || rect.bottom() < 80.0 {
            window.scroll_by_with_x_and_y(0.0, rect.top() - height * 0.25);
        }
    });
}

/// Whichever inspector the selection asks for.
#[component]
pub fn Inspector() -> impl IntoView {
    let ctx = use_ctx();
    Effect::new(move |before: Option<Selection>| {
        let now = ctx.selection.get();
        if before != Some(now) {
            let following = ctx.following.get_untracked()
                && ctx.role.get_untracked() == Some(shared::protocol::ConnectionRole::Viewer);
            match now {
                Selection::Node(_) => reveal("node-panel", !following),
                Selection::Message(_) => reveal("message-panel", !following),
                Selection::None => {}
            }
        }
        now
    });
    move || match ctx.selection.get() {
        Selection::None => ().into_any(),
        Selection::Node(id) => view! { <NodePanel id/> }.into_any(),
        Selection::Message(id) => view! { <MessagePanel id/> }.into_any(),
    }
}

fn deadline_text(n: &NodeFacts, now: f64) -> String {
    match n.election_deadline_ms {
        Some(d) if n.up => format!(
            "in {} ms (at {} s)",
            Fixed((d as f64 - now).max(0.0), 0),
            Fixed(d as f64 / 1000.0, 3)
        ),
        _ => "—".to_string(),
    }
}

#[component]
fn NodePanel(id: NodeId) -> impl IntoView {
    let ctx = use_ctx();
    let state = Memo::new(move |_| {
        let facts = ctx
            .live
            .read(&[Part::Node(id)], |v| v.node(id).map(NodeFacts::of));
        facts.flatten()
    });
    let is_isolated = Memo::new(move |_| {
        let isolated = ctx
            .live
            .read(&[Part::Cluster, Part::Network], |v| v.is_isolated(id));
        isolated.unwrap_or(false)
    });
    let up = move || state.get().is_some_and(|n| n.up);
    let role = move || state.get().map(|n| n.role);
    let send = move |c: ClientCommand| ctx.send(c, Origin::Node);
    let crash_or_restart = move |_| {
        if state.get_untracked().is_some_and(|n| n.up) {
            send(ClientCommand::Crash { node: id })
        } else {
            send(ClientCommand::Restart { node: id })
        }
    };
    let isolate = move |_| {
        if is_isolated.get_untracked() {
            reconnect(ctx, id);
        } else {
            send(ClientCommand::Isolate { node: id })
        }
    };
    let field = super::controls::SuggestionField::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        ctx.append(&ctx.append_text.get_untracked(), Some(id), Origin::Node);
    };
    let title = move || {
        state
            .get()
            .map(|n| {
                let role = if !n.up {
                    "down".to_string()
                } else {
                    n.role.to_string()
                };
                format!("S{id} · {role} · term {}", n.current_term)
            })
            .unwrap_or_else(|| format!("S{id}"))
    };
    let rows = move || {
        let n = state.get()?;
        let now = ctx.now.get();
        let opt = |o: Option<NodeId>| o.map_or("—".to_string(), |v| format!("S{v}"));
        let mut rows = vec![
            ("current_term", n.current_term.to_string()),
            ("voted_for", opt(n.voted_for)),
            ("leader", opt(n.leader_id)),
            (
                "log",
                format!(
                    "{} {} (last term {})",
                    n.last_index,
                    if n.last_index == 1 {
                        "entry"
                    } else {
                        "entries"
                    },
                    n.last_term
                ),
            ),
            ("on disk (synced_index)", n.synced_index.to_string()),
            ("commit_index", n.commit_index.to_string()),
            ("last_applied", n.last_applied.to_string()),
            ("state machine", n.value.to_string()),
            ("election timer", deadline_text(&n, now)),
        ];
        if n.role == Role::Candidate && n.up {
            rows.push((
                "votes",
                n.votes
                    .iter()
                    .map(|v| format!("S{v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        if let Some(e) = &n.storage_error {
            rows.push(("disk error", e.clone()));
        }
        Some(
            rows.into_iter()
                .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
                .collect_view(),
        )
    };
    let progress = move || {
        let n = state.get()?;
        if !n.up || n.role != Role::Leader {
            return None;
        }
        let rows = n
            .progress
            .iter()
            .map(|(peer, p)| {
                view! { <tr><td>{format!("S{peer}")}</td><td>{p.next_index.to_string()}</td><td>{p.match_index.to_string()}</td></tr> }
            })
            .collect_view();
        Some(view! {
            <table class="progress" data-testid="progress-table">
                <thead><tr><th>"peer"</th><th>"next_index"</th><th>"match_index"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })
    };
    view! {
        <section class="panel inspector" data-testid="node-panel" aria-label=move || format!("Server S{id}")>
            <h2>
                {title}
                <button class="close" aria-label="Close" on:click=move |_| ctx.selection.set(Selection::None)>"×"</button>
            </h2>
            <div class="actions">
                <button class="btn" class:danger=up on:click=crash_or_restart data-testid="node-crash">
                    {move || if up() { "Crash" } else { "Restart" }}
                </button>
                <button class="btn danger" on:click=move |_| send(ClientCommand::PowerLoss { node: id })
                    disabled=move || !up() data-testid="node-power-loss"
                    title="Crash and lose every write not yet synced to disk">"Power loss"</button>
                <button class="btn" on:click=move |_| send(ClientCommand::Timeout { node: id })
                    disabled=move || !up() || role() == Some(Role::Leader) data-testid="node-timeout"
                    title="Make its election timer fire now">"Time out"</button>
                <button class="btn" on:click=isolate data-testid="node-isolate">
                    {move || if is_isolated.get() { "Reconnect" } else { "Isolate" }}
                </button>
            </div>
            <form class="inline-form" on:submit=submit>
                <input type="text" class="text" aria-label="Request to send to this server"
                    prop:value=move || ctx.append_text.get()
                    on:focus=move |ev| field.focus(ev) on:blur=move |ev| field.blur(ev)
                    on:mousedown=move |ev| field.mousedown(ev) on:mouseup=move |ev| field.mouseup(ev)
                    on:input=move |ev| ctx.append_text.set(event_target_value(&ev))/>
                <button class="btn primary" type="submit" disabled=move || !up() data-testid="node-send">
                    {format!("Send to S{id}")}
                </button>
            </form>
            <ReplyLine origin=Origin::Node/>
            <dl class="state">{rows}</dl>
            {progress}
        </section>
    }
}

fn reconnect(ctx: Ctx, id: NodeId) {
    let cuts = ctx
        .live
        .peek(|v| v.network.cut_links.clone())
        .unwrap_or_default();
    for [from, to] in cuts {
        if from == id || to == id {
            ctx.send(ClientCommand::Uncut { from, to }, Origin::Node);
        }
    }
}

fn body_rows(m: &InFlight) -> Vec<(&'static str, String)> {
    match &m.message.body {
        MessageBody::RequestVote(RequestVote {
            last_log_index,
            last_log_term,
        }) => vec![
            ("last_log_index", last_log_index.to_string()),
            ("last_log_term", last_log_term.to_string()),
        ],
        MessageBody::RequestVoteResponse(RequestVoteResponse { vote_granted }) => {
            vec![("vote_granted", vote_granted.to_string())]
        }
        MessageBody::AppendEntries(AppendEntries {
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        }) => vec![
            ("prev_log_index", prev_log_index.to_string()),
            ("prev_log_term", prev_log_term.to_string()),
            (
                "entries",
                if entries.is_empty() {
                    "none (heartbeat)".to_string()
                } else {
                    entries
                        .iter()
                        .map(|e| format!("{}:t{} {}", e.index, e.term, e.data.describe()))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ),
            ("leader_commit", leader_commit.to_string()),
        ],
        MessageBody::AppendEntriesResponse(AppendEntriesResponse {
            success,
            match_index,
            rejected_index,
            conflict_index,
            conflict_term,
        }) => {
            let mut rows = vec![("success", success.to_string())];
            if *success {
                rows.push(("match_index", match_index.to_string()));
            } else {
                rows.push(("rejected prev_log_index", rejected_index.to_string()));
                rows.push(("conflict_index", conflict_index.to_string()));
                rows.push((
                    "conflict_term",
                    conflict_term.map_or("—".to_string(), |t| t.to_string()),
                ));
            }
            rows
        }
        MessageBody::ClientRequest(ForwardedRequest {
            command,
            request_id,
            ..
        }) => vec![
            ("command", command.to_string()),
            ("request_id", request_id.to_string()),
        ],
    }
}

#[component]
fn MessagePanel(id: u64) -> impl IntoView {
    let ctx = use_ctx();
    // Where the message is now: in flight or a ghost (a copy of this one message only).
    let live = Memo::new(move |_| {
        ctx.live
            .read(&[Part::Messages, Part::Ghosts], |v| {
                v.find_message(id).map(|(m, s)| (m.clone(), s))
            })
            .flatten()
    });
    // Remember the message after it lands, so the panel does not vanish under the cursor.
    let last_seen = RwSignal::new(None::<InFlight>);
    Effect::new(move |_| {
        if let Some((m, _)) = live.get() {
            last_seen.set(Some(m));
        }
    });
    let status = Memo::new(move |_| match live.get() {
        Some((m, s)) => Some((m, s.describe().to_string())),
        None => last_seen.get().map(|m| (m, "delivered".to_string())),
    });
    let in_flight = move || status.get().is_some_and(|(_, s)| s == "in flight");
    let rows = move || {
        let (m, s) = status.get()?;
        let mut rows = vec![
            ("status", s),
            ("from → to", format!("S{} → S{}", m.from, m.to)),
            ("term", m.message.term.to_string()),
            (
                "sent at",
                format!("{} s", Fixed(m.sent_at_ms as f64 / 1000.0, 3)),
            ),
            (
                "arrives at",
                format!("{} s", Fixed(m.deliver_at_ms as f64 / 1000.0, 3)),
            ),
        ];
        rows.extend(body_rows(&m));
        Some(
            rows.into_iter()
                .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
                .collect_view(),
        )
    };
    let title = move || {
        status
            .get()
            .map(|(m, _)| capitalize(&describe_kind(&m)))
            .unwrap_or_else(|| "Message".to_string())
    };
    view! {
        <section class="panel inspector" data-testid="message-panel">
            <h2>
                {title}
                <button class="close" aria-label="Close" on:click=move |_| ctx.selection.set(Selection::None)>"×"</button>
            </h2>
            <div class="actions">
                <button class="btn danger" disabled=move || !in_flight() data-testid="message-drop"
                    on:click=move |_| ctx.send(ClientCommand::DropMessage { id }, Origin::Message)>"Drop this message"</button>
                <button class="btn" on:click=move |_| ctx.toggle_pause()>
                    {move || if ctx.live.paused.get() { "Resume" } else { "Pause" }}
                </button>
            </div>
            <ReplyLine origin=Origin::Message/>
            <dl class="state">{rows}</dl>
        </section>
    }
}
