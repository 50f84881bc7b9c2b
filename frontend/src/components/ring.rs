//! The ring: servers S1…Sn around a circle (role, term colour, election timer, votes, crashes),
//! the links between them (click to cut or restore), and the layer of messages in flight, each
//! drawn by `ring_messages`. Reads the view model and the animated "now"; sends commands only
//! through the context.

use crate::decimal::{fixed, Fixed};
use leptos::prelude::*;
use shared::protocol::ClientCommand;
use shared::types::{NodeId, Role, Term};

use crate::layout::{term_colour, term_text_colour, Ring, CUT_MARK_R, PAUSE_BADGE, RING_VIEW};
use crate::live::Part;
use crate::model::{link_blocked, link_cut, FlightLook, Focus, GhostLook};
use crate::present::{announcement, centre_text, next_timeout};
use crate::state::{use_ctx, Ctx, Selection};

use super::ring_messages::{GhostGlyph, MessageGlyph};
use crate::ws::Origin;

#[derive(Clone, Debug, PartialEq)]
struct NodeLook {
    up: bool,
    role: Role,
    term: Term,
    is_leader: bool,
    /// Acts as leader of a term the cluster has left behind.
    stale: bool,
    votes: Vec<NodeId>,
    coming: Vec<NodeId>,
    refused: Vec<NodeId>,
    deadline_ms: Option<u64>,
    failed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct LinkLook {
    ab: bool,
    ba: bool,
    ab_cut: bool,
    ba_cut: bool,
}

fn ring_memo(ctx: Ctx) -> Memo<Ring> {
    // Five places before the first snapshot (the default cluster), so the page does not jump.
    Memo::new(move |_| {
        Ring::new(if ctx.live.ready.get() {
            ctx.live.node_count.get()
        } else {
            5
        })
    })
}

/// The SVG with everything on the ring.
#[component]
pub fn ClusterRing() -> impl IntoView {
    let ctx = use_ctx();
    let ring = ring_memo(ctx);
    let n = Memo::new(move |_| ring.get().n);
    let has_view = move || ctx.live.ready.get();
    let pairs = move || {
        let n = n.get();
        NodeId::all(n)
            .flat_map(|a| (a + 1).through(NodeId(n)).map(move |b| (a, b)))
            .collect::<Vec<_>>()
    };
    // Wakes only when messages come or go; copies a few numbers per message, no entries.
    let flights = Memo::new(move |_| {
        ctx.live
            .read(&[Part::Messages], |v| {
                v.messages.values().map(FlightLook::of).collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let ghosts = Memo::new(move |_| {
        ctx.live
            .read(&[Part::Ghosts], |v| {
                v.ghosts.iter().map(GhostLook::of).collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    // Wider than the ring itself: labels of the left- and right-most servers sit beside them.
    // 115 units each side: "S2 candidate" at the projector's size fits (measured in Chromium).
    let view_box = format!(
        "-115 0 {} {}",
        Fixed(RING_VIEW + 230.0, 0),
        Fixed(RING_VIEW, 0)
    );
    view! {
        // A group, not an image: an image's children are hidden from screen readers, and each
        // server is a button.
        <svg class="ring" viewBox=view_box data-testid="ring" role="group"
            aria-label="Servers on a ring with the messages between them"
            on:click=move |_| {
                ctx.selection.set(Selection::None);
                ctx.highlight.set(Focus::None);
            }>
            <Show when=has_view fallback=|| view! {
                <text class="centre-title" x=fixed(RING_VIEW / 2.0, 1) y=fixed(RING_VIEW / 2.0, 1) text-anchor="middle">
                    "Connecting to the logscope server…"
                </text>
            }>
                <g class="links">
                    <For each=pairs key=|p| *p let:pair>
                        <Link a=pair.0 b=pair.1 ring/>
                    </For>
                </g>
                // Over the links, so that no line runs through the words (its halo hides them);
                // under the messages, which a class follows across the middle.
                <CentreInfo ring/>
                <g class="nodes">
                    <For each=move || NodeId::all(n.get()) key=|id| *id let:id>
                        <NodeGlyph id ring/>
                    </For>
                </g>
                <g class="messages" data-testid="messages">
                    <For each=move || ghosts.get() key=|g| g.flight.id let:ghost>
                        <GhostGlyph ghost ring/>
                    </For>
                    <For each=move || flights.get() key=|m| m.id let:flight>
                        <MessageGlyph flight ring/>
                    </For>
                </g>
            </Show>
        </svg>
    }
}

/// A filter whose flood fills the box of the text it is put on, under the text: a card sized to
/// the words whatever their length and font size. Written as text: `view!` wraps a filter's
/// children in `<g>`s, which breaks it (the text then is not drawn at all).
const STALE_CARD: &str = "<filter id=\"stale-card\" x=\"-0.04\" y=\"-0.06\" width=\"1.08\" \
     height=\"1.12\"><feFlood flood-color=\"#fff7ed\" flood-opacity=\"0.92\"/><feComposite \
     in=\"SourceGraphic\" operator=\"over\"/></filter>";

#[component]
fn CentreInfo(ring: Memo<Ring>) -> impl IntoView {
    let ctx = use_ctx();
    let c = RING_VIEW / 2.0;
    let text = Memo::new(move |_| {
        let _ = ctx.live.leader.get();
        ctx.live
            .read(
                &[Part::AllNodes, Part::Committed, Part::Control],
                centre_text,
            )
            .unwrap_or_default()
    });
    // The timer waited for is read from the view when it changes; only while there is one does
    // the count follow the animated clock (every frame, changing once a second).
    let waiting = Memo::new(move |_| {
        ctx.live
            .read(&[Part::AllNodes, Part::Control], next_timeout)
            .flatten()
    });
    let countdown = Memo::new(move |_| {
        let next = waiting.get()?;
        next.text(ctx.now.get())
    });
    let sub = move || countdown.get().unwrap_or_else(|| text.get().sub);
    let paused = move || ctx.live.paused.get();
    let show = move || ring.get().n > 1;
    // The warning about a stale leader, in two lines so that it fits inside the ring.
    let stale_lines = move || {
        let stale = text.get().stale?;
        let (first, second) = stale.split_once("; ").unwrap_or((stale.as_str(), ""));
        Some((format!("{first};"), second.to_string()))
    };
    view! {
        // In the picture's corner, clear of the servers and of the centre text.
        <Show when=paused>
            <g class="pause-glyph" data-testid="pause-badge" pointer-events="none"
                transform=format!("translate({},{})", Fixed(PAUSE_BADGE.x, 1), Fixed(PAUSE_BADGE.y, 1))>
                <rect class="badge" x="-16" y="-20" width="130" height="40" rx="10"/>
                <rect x="-6" y="-11" width="7" height="22" rx="2"/>
                <rect x="5" y="-11" width="7" height="22" rx="2"/>
                <text class="badge-text" x="22" y="7">"paused"</text>
            </g>
        </Show>
        <Show when=show>
            <g class="centre" pointer-events="none">
                <text class="centre-title" x=fixed(c, 1) y=fixed(c - 8.0, 1) text-anchor="middle" data-testid="centre-leader">
                    {move || text.get().title}
                </text>
                <text class="centre-sub" x=fixed(c, 1) y=fixed(c + 20.0, 1) text-anchor="middle" data-testid="centre-sub">
                    {sub}
                </text>
                // On a pale card the size of its two lines (`STALE_CARD`): the dashed lines of a
                // partition crossed it between the letters.
                {move || stale_lines().map(|(a, b)| view! {
                    <defs inner_html=STALE_CARD/>
                    <text class="centre-stale" x=fixed(c, 1) y=fixed(c + 46.0, 1) text-anchor="middle" data-testid="centre-stale"
                        filter="url(#stale-card)">
                        <tspan x=fixed(c, 1)>{a}</tspan>
                        <tspan x=fixed(c, 1) dy="1.2em">{b}</tspan>
                    </text>
                })}
            </g>
        </Show>
    }
}

#[component]
fn Link(a: NodeId, b: NodeId, ring: Memo<Ring>) -> impl IntoView {
    let ctx = use_ctx();
    let look = Memo::new(move |_| {
        ctx.live.read(&[Part::Network], |v| LinkLook {
            ab: link_blocked(&v.network, a, b),
            ba: link_blocked(&v.network, b, a),
            ab_cut: link_cut(&v.network, a, b),
            ba_cut: link_cut(&v.network, b, a),
        })
    });
    let geometry = move || {
        let r = ring.get();
        (r.node(a), r.node(b))
    };
    let highlighted = move || ctx.highlight.get() == Focus::Link(a, b);
    let state_class = move || match look.get() {
        Some(l) if l.ab && l.ba => "link-line blocked",
        Some(l) if l.ab || l.ba => "link-line half",
        _ => "link-line",
    };
    let toggle = move |ev: web_sys::MouseEvent| {
        ev.stop_propagation();
        if !ctx.may_control() {
            return; // a viewer's click on a link only looks
        }
        let Some(l) = look.get_untracked() else {
            return;
        };
        if l.ab_cut || l.ba_cut {
            // Restore both directions: the other one may be cut by an event still on its way.
            ctx.send(ClientCommand::Uncut { from: a, to: b }, Origin::Network);
            ctx.send(ClientCommand::Uncut { from: b, to: a }, Origin::Network);
        } else if l.ab || l.ba {
            ctx.local_error(
                Origin::Network,
                format!(
                    "S{a} and S{b} are in different partitions: use \u{201c}Heal network\u{201d} to \
                     join them"
                ),
            );
        } else {
            ctx.send(ClientCommand::Cut { from: a, to: b }, Origin::Network);
            ctx.send(ClientCommand::Cut { from: b, to: a }, Origin::Network);
        }
    };
    // A student's page changes nothing: its tooltips do not offer to.
    let viewer = move || ctx.role.get() == Some(shared::protocol::ConnectionRole::Viewer);
    let title = move || match look.get() {
        Some(l) if (l.ab_cut || l.ba_cut) && viewer() => format!("S{a} ↔ S{b} is cut"),
        Some(l) if l.ab_cut || l.ba_cut => format!("S{a} ↔ S{b} is cut: click to restore it"),
        Some(l) if l.ab || l.ba => format!("S{a} ↔ S{b}: blocked by a partition"),
        _ if viewer() => format!("S{a} ↔ S{b}: connected"),
        _ => format!("S{a} ↔ S{b}: click to cut this link"),
    };
    // A one-way cut shows which way with an arrowhead near the receiver that cannot hear.
    let one_way = move || {
        let l = look.get()?;
        if l.ab == l.ba {
            return None;
        }
        let (from, to) = if l.ab { (a, b) } else { (b, a) };
        let r = ring.get();
        let p = r.message_at(from, to, 0.85);
        Some(format!(
            "translate({},{}) rotate({})",
            Fixed(p.x, 1),
            Fixed(p.y, 1),
            Fixed(r.heading_deg(from, to), 1)
        ))
    };
    // Not always the middle: the middle of some links is under the centre text.
    let mid = move || {
        let m = ring.get().cut_mark_at(a, b);
        (m.x, m.y)
    };
    view! {
        <g class="link" class:highlight=highlighted on:click=toggle
            data-testid=format!("link-{a}-{b}")
            data-blocked=move || match look.get() {
                Some(l) if l.ab && l.ba => "both",
                Some(l) if l.ab || l.ba => "one-way",
                _ => "none",
            }>
            <title>{title}</title>
            <line class="link-hit" x1=move || fixed(geometry().0.x, 1) y1=move || fixed(geometry().0.y, 1)
                x2=move || fixed(geometry().1.x, 1) y2=move || fixed(geometry().1.y, 1)/>
            <line class=state_class x1=move || fixed(geometry().0.x, 1) y1=move || fixed(geometry().0.y, 1)
                x2=move || fixed(geometry().1.x, 1) y2=move || fixed(geometry().1.y, 1)/>
            <Show when=move || look.get().is_some_and(|l| l.ab || l.ba)>
                <g class="cut-mark" transform=move || { let (x, y) = mid(); format!("translate({},{})", Fixed(x, 1), Fixed(y, 1)) }>
                    <circle r=fixed(CUT_MARK_R, 1)/>
                    <path d="M-5,-5 L5,5 M5,-5 L-5,5"/>
                </g>
            </Show>
            {move || one_way().map(|t| view! {
                <path class="cut-arrow" transform=t d="M-9,-7 L3,0 L-9,7 Z"/>
            })}
        </g>
    }
}

#[component]
fn NodeGlyph(id: NodeId, ring: Memo<Ring>) -> impl IntoView {
    let ctx = use_ctx();
    let look = Memo::new(move |_| {
        let leader = ctx.live.leader.get();
        // A candidate also follows the messages, for the votes still on their way to it.
        let candidate = ctx
            .live
            .read(&[Part::Node(id)], |v| {
                v.node(id).is_some_and(|n| n.role == Role::Candidate)
            })
            .unwrap_or(false);
        let parts: &[Part] = if candidate {
            &[Part::Node(id), Part::Messages]
        } else {
            &[Part::Node(id)]
        };
        let look = ctx.live.read(parts, |v| {
            let n = v.node(id)?;
            Some(NodeLook {
                up: n.up,
                role: n.role,
                term: n.current_term,
                is_leader: n.up && (leader == Some(id) || v.leaders_now().contains(&id)),
                stale: n.up
                    && n.role == Role::Leader
                    && leader != Some(id)
                    && !v.leaders_now().contains(&id),
                votes: n.votes.clone(),
                coming: if candidate {
                    v.votes_coming(id)
                } else {
                    Vec::new()
                },
                refused: n.votes_refused.clone(),
                deadline_ms: n.election_deadline_ms,
                failed: n.storage_error.is_some(),
            })
        });
        look.flatten()
    });
    let timeout_max = Memo::new(move |_| {
        let max = ctx.live.read(&[Part::Cluster], |v| {
            v.timing.election_timeout_ms_max.max(1)
        });
        max.unwrap_or(300)
    });
    let centre = move || ring.get().node(id);
    let r = move || ring.get().node_radius;
    let role_name = move || match look.get() {
        Some(l) if !l.up => "down",
        Some(l) if l.stale => "old leader",
        Some(l) if l.role == Role::Leader => "leader",
        Some(l) if l.role == Role::Candidate => "candidate",
        _ => "follower",
    };
    let selected = move || ctx.selection.get() == Selection::Node(id);
    let highlighted =
        move || matches!(ctx.highlight.get(), Focus::Node(n) | Focus::NodeEntry(n, _) if n == id);
    let fill = move || match look.get() {
        Some(l) if l.up => term_colour(l.term),
        _ => "#eceef1",
    };
    let text_fill = move || match look.get() {
        Some(l) if l.up => term_text_colour(l.term),
        _ => "#6b7280",
    };
    // Election timer: the fraction of the longest timeout still to run (RaftScope's arc).
    let timer_r = move || r() + 9.0;
    let timer_dash = move || {
        let l = look.get()?;
        if !l.up || l.role == Role::Leader {
            return None;
        }
        let deadline = l.deadline_ms? as f64;
        let fraction = ((deadline - ctx.now.get()) / timeout_max.get() as f64).clamp(0.0, 1.0);
        let circumference = 2.0 * std::f64::consts::PI * timer_r();
        Some(format!(
            "{} {}",
            Fixed(fraction * circumference, 2),
            Fixed(circumference, 2)
        ))
    };
    let label_pos = move || {
        let ring = ring.get();
        let p = ring.node(id);
        let c = ring.centre();
        let (dx, dy) = (p.x - c.x, p.y - c.y);
        let len = (dx * dx + dy * dy).sqrt();
        let (ux, uy) = if len < 1e-6 {
            (0.0, 1.0)
        } else {
            (dx / len, dy / len)
        };
        // Beside the circle on the outside: left-hand servers are labelled to their left, and so
        // on, so a long label ("S5 candidate") never runs over the circle.
        let d = ring.node_radius + 18.0;
        let anchor = if ux < -0.35 {
            "end"
        } else if ux > 0.35 {
            "start"
        } else {
            "middle"
        };
        // Above or below a server the name is lifted clear of the circle; beside one, the name
        // and the role under it are centred on the circle's side.
        let (lift, up) = if anchor == "middle" {
            (12.0, 0.0)
        } else {
            (0.0, 10.0)
        };
        (ux * d, uy * (d + lift) + 8.0 - up, anchor)
    };
    let select = move |ev: web_sys::MouseEvent| {
        ev.stop_propagation();
        let next = if ctx.selection.get_untracked() == Selection::Node(id) {
            Selection::None
        } else {
            Selection::Node(id)
        };
        ctx.selection.set(next);
        ctx.highlight.set(Focus::None);
    };
    let votes_view = move || {
        let l = look.get()?;
        if !l.up || l.role != Role::Candidate {
            return None;
        }
        let n = ring.get().n;
        let spacing = (1.6 * r() / n as f64).min(10.0);
        let x0 = -(n as f64 - 1.0) * spacing / 2.0;
        let y = r() * 0.55;
        let dots = NodeId::all(n)
            .map(|peer| {
                let class = if l.votes.contains(&peer) {
                    "vote have"
                } else if l.coming.contains(&peer) {
                    "vote coming"
                } else if l.refused.contains(&peer) {
                    "vote refused"
                } else {
                    "vote none"
                };
                let x = x0 + peer.slot() as f64 * spacing;
                view! { <circle class=class cx=fixed(x, 1) cy=fixed(y, 1) r=fixed((spacing * 0.38).min(3.8), 2)><title>{format!("S{peer}")}</title></circle> }
            })
            .collect_view();
        Some(view! { <g class="votes">{dots}</g> })
    };
    view! {
        <g class="node" class:selected=selected class:highlight=highlighted
            class:leader=move || look.get().is_some_and(|l| l.is_leader)
            class:candidate=move || look.get().is_some_and(|l| l.up && l.role == Role::Candidate)
            class:down=move || look.get().is_some_and(|l| !l.up)
            transform=move || { let p = centre(); format!("translate({},{})", Fixed(p.x, 1), Fixed(p.y, 1)) }
            on:click=select
            data-testid=format!("node-{id}")
            // data-role stays the Raft role (tests and scripts read it); data-stale says that
            // this leader's term is behind the cluster's.
            data-role=move || if role_name() == "old leader" { "leader" } else { role_name() }
            data-stale=move || look.get().is_some_and(|l| l.stale).to_string()
            data-term=move || look.get().map(|l| l.term).unwrap_or_default().to_string()
            role="button" tabindex="0"
            aria-label=move || format!("S{id}, {}, term {}", role_name(), look.get().map(|l| l.term).unwrap_or_default())
            on:keydown=move |ev: web_sys::KeyboardEvent| {
                if ev.key() == "Enter" {
                    ctx.selection.set(Selection::Node(id));
                }
            }>
            <title>{move || {
                let what = if ctx.role.get() == Some(shared::protocol::ConnectionRole::Viewer) {
                    "click for its state"
                } else {
                    "click for its state and actions"
                };
                format!("S{id}: {}, term {} — {what}", role_name(), look.get().map(|l| l.term).unwrap_or_default())
            }}</title>
            <circle class="halo" r=move || fixed(r() + 20.0, 1)/>
            <circle class="timer-track" r=move || fixed(timer_r(), 1)/>
            {move || timer_dash().map(|d| view! {
                <circle class="timer-arc" r=fixed(timer_r(), 1) stroke-dasharray=d transform="rotate(-90)"/>
            })}
            <circle class="body" r=move || fixed(r(), 1) fill=fill/>
            <text class="term" y=move || if look.get().is_some_and(|l| l.role == Role::Candidate) { "10" } else { "4" }
                fill=text_fill text-anchor="middle">
                {move || look.get().map(|l| l.term.to_string()).unwrap_or_default()}
            </text>
            <text class="term-caption" y=move || fixed(if look.get().is_some_and(|l| l.role == Role::Candidate) { -24.0 } else { r() * 0.55 }, 1)
                fill=text_fill text-anchor="middle">"term"</text>
            {votes_view}
            // A leader of an older term that has not heard of the newer one yet (cut off in a
            // minority, say) keeps a grey crown: it still acts as leader, but cannot commit.
            <Show when=move || look.get().is_some_and(|l| l.up && l.role == Role::Leader)>
                <path class="crown" class:stale=move || look.get().is_some_and(|l| l.stale)
                    transform=move || format!("translate(0,{})", Fixed(-r() + 5.0, 1))
                    d="M-16,0 L-16,-14 L-8,-6 L0,-18 L8,-6 L16,-14 L16,0 Z"/>
            </Show>
            <Show when=move || look.get().is_some_and(|l| !l.up)>
                <g class="down-icon" transform=move || format!("translate({},{})", Fixed(r() * 0.62, 1), Fixed(-r() * 0.62, 1))>
                    <circle r="13"/>
                    <path d=move || if look.get().is_some_and(|l| l.failed) { "M-6,-6 L6,6 M6,-6 L-6,6" } else { "M2,-9 L-5,1 L1,1 L-2,9 L5,-1 L-1,-1 Z" }/>
                </g>
            </Show>
            // Beside a left- or right-hand server the role goes under the name, so that "S2
            // candidate" at a projector's size stays inside the ring's box; above and below a
            // server it follows the name.
            <text class="node-label" x=move || fixed(label_pos().0, 1) y=move || fixed(label_pos().1, 1) text-anchor=move || label_pos().2>
                {format!("S{id}")}
                <tspan class="node-role"
                    x=move || (label_pos().2 != "middle").then(|| fixed(label_pos().0, 1))
                    dy=move || (label_pos().2 != "middle").then_some("1.05em")
                    dx=move || (label_pos().2 == "middle").then_some("6")>{move || match role_name() {
                    "follower" => String::new(),
                    other => other.to_string(),
                }}</tspan>
            </text>
        </g>
    }
}

/// Words for a screen reader, said when they change: who leads in which term and which
/// servers are down (`present::announcement`). Hidden on screen, where the ring says it.
#[component]
pub fn Announcer() -> impl IntoView {
    let ctx = use_ctx();
    let words = Memo::new(move |_| {
        let _ = ctx.live.leader.get();
        ctx.live
            .read(&[Part::AllNodes, Part::Control], announcement)
            .unwrap_or_default()
    });
    view! {
        <p class="visually-hidden" aria-live="polite" data-testid="announce">{move || words.get()}</p>
    }
}
