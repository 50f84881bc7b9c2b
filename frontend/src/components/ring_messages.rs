//! A message on the ring: its marker by kind (RequestVote ◆, AppendEntries ●, heartbeat •,
//! forwarded request ■; replies hollow with + or −), moving along its link while in flight
//! (click to inspect), and the fading ghost of one that was lost. Drawn from the light
//! `FlightLook`, never from the entries a message carries; must not draw servers or links
//! (`ring.rs` does).

use leptos::prelude::*;
use shared::protocol::ClientCommand;

use crate::decimal::{fixed, Fixed};
use crate::layout::Ring;
use crate::model::{FlightLook, Focus, GhostLook, Shape};
use crate::state::{use_ctx, Selection};
use crate::ws::Origin;

/// Message colours by kind (shape also differs, so colour is never the only cue).
pub const VOTE_COLOUR: &str = "#7b2d8e";
/// AppendEntries colour.
pub const APPEND_COLOUR: &str = "#1f4e79";
/// Forwarded client request colour.
pub const CLIENT_COLOUR: &str = "#a04a00";

/// The marker for a message: shape by kind (RequestVote ◆, AppendEntries ●, heartbeat •,
/// forwarded request ■), replies hollow with + (granted/success) or − (refused/rejected).
fn message_shape(shape: Shape, size: f64) -> AnyView {
    // Every number as text with one decimal (crate::decimal: no float printer in the page).
    let s = Fixed(size, 1);
    let n = Fixed(-size, 1);
    match shape {
        Shape::RequestVote => view! {
            <path class="msg-shape" fill=VOTE_COLOUR stroke=VOTE_COLOUR
                d=format!("M0,{n} L{s},0 L0,{s} L{n},0 Z")/>
        }
        .into_any(),
        Shape::VoteReply { granted } => reply_shape(VOTE_COLOUR, true, granted, size).into_any(),
        Shape::Heartbeat => view! {
            <circle class="msg-shape" r=fixed(size * 0.62, 1) fill=APPEND_COLOUR stroke=APPEND_COLOUR/>
        }
        .into_any(),
        Shape::Append { entries } => view! {
            <circle class="msg-shape" r=s.to_string() fill=APPEND_COLOUR stroke=APPEND_COLOUR/>
            <text class="msg-count" y=fixed(size * 0.38, 1) text-anchor="middle">{entries.to_string()}</text>
        }
        .into_any(),
        Shape::AppendReply { success } => reply_shape(APPEND_COLOUR, false, success, size).into_any(),
        Shape::ClientRequest => view! {
            <rect class="msg-shape" x=n.to_string() y=n.to_string() width=fixed(2.0 * size, 1)
                height=fixed(2.0 * size, 1) rx="2" fill=CLIENT_COLOUR stroke=CLIENT_COLOUR/>
        }
        .into_any(),
    }
}

fn reply_shape(colour: &'static str, diamond: bool, good: bool, size: f64) -> impl IntoView {
    let (s, n) = (Fixed(size, 1), Fixed(-size, 1));
    let outline = if diamond {
        view! { <path class="msg-shape reply" fill="#ffffff" stroke=colour
        d=format!("M0,{n} L{s},0 L0,{s} L{n},0 Z")/> }
        .into_any()
    } else {
        view! { <circle class="msg-shape reply" r=s.to_string() fill="#ffffff" stroke=colour/> }
            .into_any()
    };
    let (k, n) = (Fixed(size * 0.5, 1), Fixed(-size * 0.5, 1));
    let sign = if good {
        format!("M{n},0 L{k},0 M0,{n} L0,{k}")
    } else {
        format!("M{n},0 L{k},0")
    };
    view! {
        {outline}
        <path class="msg-sign" stroke=colour d=sign/>
    }
}

fn kind_class(shape: Shape) -> &'static str {
    match shape {
        Shape::RequestVote => "msg request-vote",
        Shape::VoteReply { .. } => "msg request-vote-reply",
        Shape::Heartbeat => "msg heartbeat",
        Shape::Append { .. } => "msg append-entries",
        Shape::AppendReply { .. } => "msg append-entries-reply",
        Shape::ClientRequest => "msg client-request",
    }
}

#[component]
pub(super) fn MessageGlyph(flight: FlightLook, ring: Memo<Ring>) -> impl IntoView {
    let ctx = use_ctx();
    let id = flight.id;
    let (from, to) = (flight.from, flight.to);
    let size = move || ring.get().message_size();
    let pos = move || {
        let f = flight.fraction(ctx.now.get());
        let p = ring.get().message_at(from, to, f);
        format!("translate({},{})", Fixed(p.x, 1), Fixed(p.y, 1))
    };
    let heading = move || format!("rotate({})", Fixed(ring.get().heading_deg(from, to), 1));
    let selected = move || ctx.selection.get() == Selection::Message(id);
    let highlighted = move || ctx.highlight.get() == Focus::Message(id);
    let shape = flight.shape;
    let class = kind_class(shape);
    let click = move |ev: web_sys::MouseEvent| {
        ev.stop_propagation();
        ctx.selection.set(Selection::Message(id));
        // RaftScope pauses while a message is inspected: it would be gone before you could read.
        // (Not on a viewer's page: the run is the presenter's.)
        if ctx.may_control() && ctx.live.peek(|v| !v.paused).unwrap_or(false) {
            ctx.send(ClientCommand::Pause, Origin::Message);
        }
    };
    view! {
        <g class=class class:selected=selected class:highlight=highlighted transform=pos
            on:click=click data-testid="message" data-kind=flight.kind.as_str()
            data-from=from.to_string() data-to=to.to_string()>
            <circle class="msg-hit" r=move || fixed(size() + 8.0, 1)/>
            <g transform=heading>
                <path class="msg-arrow" d=move || { let s = size(); format!("M{},-4.5 L{},0 L{},4.5 Z", Fixed(s + 2.5, 1), Fixed(s + 9.5, 1), Fixed(s + 2.5, 1)) }/>
            </g>
            {move || message_shape(shape, size())}
        </g>
    }
}

#[component]
pub(super) fn GhostGlyph(ghost: GhostLook, ring: Memo<Ring>) -> impl IntoView {
    let ctx = use_ctx();
    let (from, to, at) = (ghost.flight.from, ghost.flight.to, ghost.position);
    let p = move || ring.get().message_at(from, to, at);
    let lost_at = ghost.lost_at_ms as f64;
    // Fade over about 1.2 s of wall time, whatever the speed.
    let opacity = move || {
        let speed = ctx.live.speed.get();
        let fade_ms = if speed > 0.0 { 1_200.0 * speed } else { 1.0 };
        (1.0 - (ctx.now.get() - lost_at) / fade_ms).clamp(0.0, 1.0) * 0.85
    };
    let shape = ghost.flight.shape;
    let size = move || ring.get().message_size();
    let id = ghost.flight.id;
    view! {
        <g class="ghost" opacity=move || fixed(opacity(), 3) data-testid="ghost"
            transform=move || { let p = p(); format!("translate({},{})", Fixed(p.x, 1), Fixed(p.y, 1)) }
            on:click=move |ev: web_sys::MouseEvent| { ev.stop_propagation(); ctx.selection.set(Selection::Message(id)); }>
            {move || message_shape(shape, size())}
            <path class="ghost-x" d=move || { let (s, n) = (Fixed(size() + 3.0, 1), Fixed(-size() - 3.0, 1)); format!("M{n},{n} L{s},{s} M{s},{n} L{n},{s}") }/>
        </g>
    }
}
