//! The logs: one row per server under a shared index ruler (the index is the log's logical
//! timestamp), plus the global committed log. Entries are coloured by term, committed ones solid
//! and the rest dashed, memory-only ones striped; the leader's next_index/match_index sit under
//! each follower and a quorum counter under each uncommitted leader entry. Only the scrolled-to
//! window of indexes is in the DOM, so thousands of entries scroll smoothly; entries older than
//! the snapshot's window are fetched from the server when scrolled to (`crate::older`). Entries a
//! server lost stay a while as ghosts in its row (`super::log_ghosts`).

use crate::decimal::Fixed;
use leptos::html;
use leptos::prelude::*;
use shared::types::{EntryData, LogIndex, NodeId, Role, Term};

use super::log_ghosts::GhostCells;
use crate::layout::{follow_scroll_left, term_colour, term_text_colour, visible_indexes};
use crate::live::Part;
use crate::model::{entry_text, grid_move, ClusterView, Focus};
use crate::older::Fetches;
use crate::present::quorum_title;
use crate::state::{use_ctx, Ctx, Selection};

/// Width of one entry column (px), gap included.
pub const CELL_PX: f64 = 68.0;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CellLook {
    index: LogIndex,
    term: Term,
    /// The entry in full ("value = 5"), for the tooltip.
    text: String,
    /// What fits in the cell ("= 5").
    short: String,
    committed: bool,
    synced: bool,
    applied: bool,
    divergent: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Marker {
    /// The leader's next_index for this follower.
    Next(LogIndex),
    /// The leader's match_index for this follower.
    Match(LogIndex),
    /// An uncommitted leader entry: the servers whose disk holds it, the cluster size, and
    /// whether it is from an older term than the leader's (such an entry never commits by
    /// counting, §5.4.2).
    Quorum(LogIndex, Vec<NodeId>, usize, bool),
}

/// What a row label shows.
#[derive(Clone, Debug, PartialEq)]
struct RowLook {
    up: bool,
    role: Role,
    is_leader: bool,
    value: i64,
    last_index: LogIndex,
    commit_index: LogIndex,
    last_applied: LogIndex,
    synced_index: LogIndex,
}

/// The text drawn in a cell: what the entry holds ("add 5", "no-op"), with "value = 5" drawn as
/// "= 5" so that the value itself fits; the tooltip has the full text.
fn short_text(data: &EntryData) -> String {
    match data {
        EntryData::Value { value, .. } => format!("= {value}"),
        other => other.describe(),
    }
}

fn cells_of(
    v: &ClusterView,
    id: NodeId,
    range: std::ops::RangeInclusive<LogIndex>,
) -> Vec<CellLook> {
    let Some(n) = v.node(id) else {
        return Vec::new();
    };
    let end = (*range.end()).min(n.last_index());
    range
        .start()
        .through(end)
        .filter_map(|i| {
            let e = n.entry(i)?;
            Some(CellLook {
                index: i,
                term: e.term,
                text: entry_text(e),
                short: short_text(&e.data),
                committed: i <= n.commit_index,
                synced: i <= n.synced_index,
                applied: i <= n.last_applied,
                divergent: v.is_divergent(i),
            })
        })
        .collect()
}

/// The leader's marks on row `id`: its quorum counters on its own row, next_index and
/// match_index on a follower's.
fn markers_of(
    v: &ClusterView,
    leader_id: NodeId,
    id: NodeId,
    range: std::ops::RangeInclusive<LogIndex>,
) -> Vec<Marker> {
    let Some(leader) = v.node(leader_id) else {
        return Vec::new();
    };
    if id == leader_id {
        return range
            .start()
            .through(*range.end())
            .filter_map(|i| {
                let old_term = leader.term_at(i).is_some_and(|t| t < leader.current_term);
                v.on_disks(i)
                    .map(|disks| Marker::Quorum(i, disks, v.nodes.len(), old_term))
            })
            .collect();
    }
    let Some(p) = leader.progress.get(&id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if range.contains(&p.next_index) {
        out.push(Marker::Next(p.next_index));
    }
    if p.match_index > 0 && range.contains(&p.match_index) {
        out.push(Marker::Match(p.match_index));
    }
    out
}

pub(super) fn left_px(index: LogIndex) -> f64 {
    index.get().saturating_sub(1) as f64 * CELL_PX
}

fn focus_index(f: Focus) -> Option<LogIndex> {
    match f {
        Focus::Entry(i) | Focus::NodeEntry(_, i) => Some(i),
        _ => None,
    }
}

/// The log table.
#[component]
pub fn LogTable() -> impl IntoView {
    let ctx = use_ctx();
    let scroller = NodeRef::<html::Div>::new();
    let scroll_left = RwSignal::new(0.0f64);
    let viewport = RwSignal::new(1200.0f64);
    // Follow the end of the log while the user has not scrolled back.
    let follow = RwSignal::new(true);
    let max_index = Memo::new(move |_| {
        let max = ctx
            .live
            .read(&[Part::AllNodes, Part::Committed], |v| v.max_index());
        max.unwrap_or(LogIndex(0))
    });
    let n = ctx.live.node_count;
    let global_commit = move || {
        ctx.live.read(&[Part::Committed], |v| {
            let c = v.commit_index();
            format!("{c} {}", if c == 1 { "entry" } else { "entries" })
        })
    };
    let range = Memo::new(move |_| {
        let r = visible_indexes(
            scroll_left.get(),
            viewport.get(),
            CELL_PX,
            max_index.get().get(),
        );
        LogIndex(*r.start())..=LogIndex(*r.end())
    });
    // A snapshot brings only the newest entries: fetch older ones when they are scrolled to.
    let fetches = Fetches::new();
    Effect::new(move |_| {
        let wanted = range.get();
        let pages = ctx
            .live
            .read(&[Part::AllNodes], |v| v.pages_to_fetch(wanted))
            .unwrap_or_default();
        for (node, page) in pages {
            fetches.fetch(ctx.live, node, page);
        }
    });

    // Where this page last scrolled the pane to follow the end. A scroll event can come after
    // more entries arrived (appends in quick succession): the pane is then short of the new end
    // but still where the page put it, and it goes on following; a scroll back by the user
    // leaves both behind.
    let followed_to = StoredValue::new(f64::MAX);
    let measure = move || {
        if let Some(el) = scroller.get_untracked() {
            viewport.set(el.client_width() as f64);
            scroll_left.set(el.scroll_left() as f64);
            let target = follow_scroll_left(
                max_index.get_untracked().get(),
                el.client_width() as f64,
                CELL_PX,
            )
            .min(followed_to.get_value());
            follow.set(el.scroll_left() as f64 >= target - CELL_PX / 2.0);
        }
    };
    // A window resized (a laptop plugged into the projector) changes the pane's width: the
    // newest entries are followed again, not left beyond the narrower pane's right edge.
    let resized = Trigger::new();
    let resize = window_event_listener(leptos::ev::resize, move |_| {
        if let Some(el) = scroller.get_untracked() {
            viewport.set(el.client_width() as f64);
        }
        resized.notify();
    });
    on_cleanup(move || resize.remove());

    // Keep the newest entries in view as they arrive (after the DOM has grown).
    Effect::new(move |_| {
        let _ = max_index.get();
        // The presenter view changes the pane's width without resizing the window.
        let _ = ctx.presenter.get();
        resized.track();
        if !follow.get_untracked() {
            return;
        }
        request_animation_frame(move || {
            if let Some(el) = scroller.get_untracked() {
                // The newest entry at the right edge, not the blank columns after it (on a
                // phone the pane is narrower than those).
                let target = follow_scroll_left(
                    max_index.get_untracked().get(),
                    el.client_width() as f64,
                    CELL_PX,
                );
                if el.scroll_left() != target as i32 {
                    el.set_scroll_left(target as i32);
                }
                followed_to.set_value(el.scroll_left() as f64);
                viewport.set(el.client_width() as f64);
                scroll_left.set(el.scroll_left() as f64);
            }
        });
    });
    // Bring a highlighted entry into view.
    Effect::new(move |_| {
        let Some(i) = focus_index(ctx.highlight.get()) else {
            return;
        };
        if let Some(el) = scroller.get_untracked() {
            let x = left_px(i);
            let w = el.client_width() as f64;
            let sl = el.scroll_left() as f64;
            if x < sl || x + CELL_PX > sl + w {
                follow.set(false);
                el.set_scroll_left((x - w / 2.0).max(0.0) as i32);
                scroll_left.set(el.scroll_left() as f64);
            }
        }
    });

    let width = move || {
        format!(
            "width:{}px",
            Fixed((max_index.get().get() as f64 + 2.0) * CELL_PX, 0)
        )
    };
    let highlight_band = move || {
        focus_index(ctx.highlight.get()).map(|i| {
            view! { <div class="column-highlight" style=format!("left:{}px;width:{}px", Fixed(left_px(i), 0), Fixed(CELL_PX, 0))></div> }
        })
    };
    let jump_to_end = move |_| {
        follow.set(true);
        if let Some(el) = scroller.get_untracked() {
            let target = follow_scroll_left(
                max_index.get_untracked().get(),
                el.client_width() as f64,
                CELL_PX,
            );
            el.set_scroll_left(target as i32);
            followed_to.set_value(el.scroll_left() as f64);
        }
    };

    let scrolled_back = move || scroll_left.get() > 1.0;
    // Eight or nine servers: the presenter's rows get shorter on a short screen (style.css).
    let many = move || n.get() >= 8;
    view! {
        <div class="logs" class:many=many data-testid="logs">
            <div class="logs-labels">
                // The "= N" column is named: in the projector's layout, without the line under
                // each name, a follower's "= 0" beside committed entries read as a mistake.
                <div class="ruler-label">"index"
                    <span class="ruler-value" title="Each server's state machine: the value after the entries it has applied. A follower applies an entry once it hears it is committed (the leader's next AppendEntries says so).">"value"</span>
                </div>
                <For each=move || NodeId::all(n.get()) key=|id| *id let:id>
                    <RowLabel id/>
                </For>
                <div class="row-label committed-label" title="Entries known committed: the replicated log as one">
                    <span class="row-name">"committed"</span>
                    <span class="row-sub" data-testid="global-commit">
                        {move || global_commit().unwrap_or_default()}
                    </span>
                </div>
            </div>
            // Focusable: the arrow keys walk its cells (`grid_move`), highlighting each, and
            // the caption under the table (a status region) says what the index holds.
            <div class="logs-scroll" node_ref=scroller on:scroll=move |_| measure()
                on:keydown=move |ev| {
                    let to = grid_move(ctx.highlight.get_untracked(), &ev.key(), n.get_untracked(),
                        max_index.get_untracked());
                    if let Some(to) = to {
                        ev.prevent_default();
                        ctx.highlight.set(to);
                    }
                }
                tabindex="0" role="region"
                aria-label="Each server's log, by index: the arrow keys move from entry to entry">
                <div class="logs-canvas" style=width>
                    {highlight_band}
                    <div class="ruler">
                        <For each=move || { let r = range.get(); r.start().through(*r.end()) } key=|i| *i let:i>
                            <div class="tick" style=format!("left:{}px;width:{}px", Fixed(left_px(i), 0), Fixed(CELL_PX, 0))>{i.to_string()}</div>
                        </For>
                    </div>
                    <For each=move || NodeId::all(n.get()) key=|id| *id let:id>
                        <LogRow id range/>
                    </For>
                    <CommittedRow range/>
                </div>
            </div>
            // Where the log starts out of sight (a phone shows two or three indexes), say so.
            <div class="jumps">
                <Show when=scrolled_back>
                    <button class="jump-end" data-testid="logs-first" title="Scroll to the first entries"
                        on:click=move |_| {
                            follow.set(false);
                            if let Some(el) = scroller.get_untracked() {
                                el.set_scroll_left(0);
                            }
                        }>"← 1"</button>
                </Show>
                <Show when=move || !follow.get()>
                    <button class="jump-end" on:click=jump_to_end title="Scroll to the newest entries">"newest →"</button>
                </Show>
            </div>
        </div>
    }
}

#[component]
fn RowLabel(id: NodeId) -> impl IntoView {
    let ctx = use_ctx();
    let look = Memo::new(move |_| {
        let leader = ctx.live.leader.get();
        let look = ctx.live.read(&[Part::Node(id)], |v| {
            let n = v.node(id)?;
            Some(RowLook {
                up: n.up,
                role: n.role,
                is_leader: n.up && (leader == Some(id) || v.leaders_now().contains(&id)),
                value: n.value,
                last_index: n.last_index(),
                commit_index: n.commit_index,
                last_applied: n.last_applied,
                synced_index: n.synced_index,
            })
        });
        look.flatten()
    });
    let l = move || look.get();
    let select = move |_| ctx.selection.set(Selection::Node(id));
    view! {
        <div class="row-label" class:leader=move || l().is_some_and(|l| l.is_leader)
            class:down=move || l().is_some_and(|l| !l.up)
            class:highlight=move || matches!(ctx.highlight.get(), Focus::Node(n) if n == id)
            on:click=select
            data-testid=format!("row-{id}")
            data-last-index=move || l().map(|l| l.last_index).unwrap_or_default().to_string()
            data-commit-index=move || l().map(|l| l.commit_index).unwrap_or_default().to_string()
            data-last-applied=move || l().map(|l| l.last_applied).unwrap_or_default().to_string()
            data-synced-index=move || l().map(|l| l.synced_index).unwrap_or_default().to_string()
            data-value=move || l().map(|l| l.value).unwrap_or_default().to_string()>
            <span class="row-name">
                {format!("S{id}")}
                {move || {
                    let tag = match l() {
                        Some(l) if !l.up => Some(("tag down", "down")),
                        Some(l) if l.is_leader => Some(("tag leader", "leader")),
                        Some(l) if l.role == Role::Leader => Some(("tag stale", "old leader")),
                        Some(l) if l.role == Role::Candidate => Some(("tag candidate", "candidate")),
                        _ => None,
                    };
                    tag.map(|(class, text)| view! { <span class=class>{text}</span> })
                }}
            </span>
            <span class="row-value" title="The state machine's register on this server">
                {move || l().map(|l| format!("= {}", l.value)).unwrap_or_default()}
            </span>
            <span class="row-sub">
                {move || l().map(|l| format!("commit {} · applied {} · disk {}", l.commit_index, l.last_applied, l.synced_index)).unwrap_or_default()}
            </span>
        </div>
    }
}

#[component]
fn LogRow(id: NodeId, range: Memo<std::ops::RangeInclusive<LogIndex>>) -> impl IntoView {
    let ctx = use_ctx();
    // This server's entries (and the divergence marks, kept with the committed log).
    let cells = Memo::new(move |_| {
        let r = range.get();
        ctx.live
            .read(&[Part::Node(id), Part::Committed], |v| cells_of(v, id, r))
            .unwrap_or_default()
    });
    // The leader's marks: next/match change with the leader's state only.
    let markers = Memo::new(move |_| {
        let r = range.get();
        let Some(leader) = ctx.live.leader.get() else {
            return Vec::new();
        };
        // The leader's own row carries the quorum counters, which count every server's disk.
        let parts: &[Part] = if id == leader {
            &[Part::Cluster, Part::AllNodes]
        } else {
            &[Part::Cluster, Part::Node(leader)]
        };
        ctx.live
            .read(parts, |v| markers_of(v, leader, id, r))
            .unwrap_or_default()
    });
    let commit_bar = Memo::new(move |_| {
        let bar = ctx.live.read(&[Part::Node(id)], |v| {
            v.node(id)
                .filter(|n| n.up && n.commit_index > 0)
                .map(|n| n.commit_index)
        });
        bar.flatten()
    });
    let down = Memo::new(move |_| {
        let down = ctx
            .live
            .read(&[Part::Node(id)], |v| v.node(id).is_some_and(|n| !n.up));
        down.unwrap_or(false)
    });
    view! {
        <div class="log-row" class:down=move || down.get() data-testid=format!("log-{id}")>
            <GhostCells id range/>
            <For each=move || cells.get() key=|c| c.clone() let:cell>
                <Cell cell node=Some(id) ctx/>
            </For>
            {move || commit_bar.get().map(|c| view! {
                <div class="commit-bar" style=format!("left:{}px", Fixed(left_px(c + 1) - 3.0, 0))
                    title=format!("S{id}'s commit index: {c}")></div>
            })}
            <For each=move || markers.get() key=|m| m.clone() let:marker>
                {match marker {
                    Marker::Next(i) => view! {
                        <div class="marker next" style=format!("left:{}px;width:{}px", Fixed(left_px(i), 0), Fixed(CELL_PX, 0))
                            title=format!("The leader's next_index for S{id}: {i}")>"▲ next"</div>
                    }.into_any(),
                    Marker::Match(i) => view! {
                        <div class="marker match" style=format!("left:{}px;width:{}px", Fixed(left_px(i), 0), Fixed(CELL_PX, 0))
                            title=format!("The leader's match_index for S{id}: {i}")>"● match"</div>
                    }.into_any(),
                    Marker::Quorum(i, disks, of, old_term) => {
                        let have = disks.len();
                        let title = quorum_title(i, &disks, of, old_term);
                        let label = if old_term { format!("{have}/{of} old") } else { format!("{have}/{of}") };
                        view! {
                            <div class="marker quorum" class:old-term=old_term
                                style=format!("left:{}px;width:{}px", Fixed(left_px(i), 0), Fixed(CELL_PX, 0))
                                data-testid=format!("quorum-{i}") data-disks=have.to_string() title=title>
                                {label}
                            </div>
                        }.into_any()
                    }
                }}
            </For>
        </div>
    }
}

#[component]
fn CommittedRow(range: Memo<std::ops::RangeInclusive<LogIndex>>) -> impl IntoView {
    let ctx = use_ctx();
    let cells = Memo::new(move |_| {
        let r = range.get();
        ctx.live
            .read(&[Part::Committed], |v| {
                let end = (*r.end()).min(v.commit_index());
                r.start()
                    .through(end)
                    .filter_map(|i| {
                        let e = v.committed_entry(i)?;
                        Some(CellLook {
                            index: i,
                            term: e.term,
                            text: entry_text(e),
                            short: short_text(&e.data),
                            committed: true,
                            synced: true,
                            applied: false,
                            divergent: v.is_divergent(i),
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    view! {
        <div class="log-row committed-row" data-testid="log-committed">
            <For each=move || cells.get() key=|c| c.clone() let:cell>
                <Cell cell node=None ctx/>
            </For>
        </div>
    }
}

#[component]
fn Cell(cell: CellLook, node: Option<NodeId>, ctx: Ctx) -> impl IntoView {
    let index = cell.index;
    let style = format!(
        "left:{}px;width:{}px;background-color:{};color:{}",
        Fixed(left_px(index) + 3.0, 0),
        Fixed(CELL_PX - 6.0, 0),
        term_colour(cell.term),
        term_text_colour(cell.term)
    );
    let title = format!(
        "index {index}, term {}: {}{}{}{}",
        cell.term,
        cell.text,
        if cell.committed {
            " · committed"
        } else {
            " · not committed"
        },
        if node.is_some() {
            if cell.synced {
                " · on disk"
            } else {
                " · in memory only"
            }
        } else {
            ""
        },
        if cell.divergent {
            " · replicas computed different values!"
        } else {
            ""
        }
    );
    let class = format!(
        "cell{}{}{}{}",
        if cell.committed {
            " committed"
        } else {
            " uncommitted"
        },
        if cell.synced { " synced" } else { " unsynced" },
        if cell.applied { " applied" } else { "" },
        if cell.divergent { " divergent" } else { "" },
    );
    let text = cell.short.clone();
    // Three widths of text (style.css sizes each): up to 6 characters ("add 10") at full size;
    // 7 or 8 ("add rand", "x = 105") smaller, or on a projector squeezed to the cell; longer
    // ones cut with an ellipsis (the whole command is in the cell's tooltip).
    let text_class = match text.chars().count() {
        0..=6 => "cell-text",
        7..=8 => "cell-text long",
        _ => "cell-text long longer",
    };
    let click = move |_| {
        let focus = match node {
            Some(n) => Focus::NodeEntry(n, index),
            None => Focus::Entry(index),
        };
        ctx.highlight
            .update(|h| *h = if *h == focus { Focus::None } else { focus });
    };
    view! {
        <div class=class style=style title=title on:click=click
            data-testid=format!("entry-{}-{index}", node.map_or("c".to_string(), |n| n.to_string()))
            data-term=cell.term.to_string()>
            <span class="cell-term">{format!("t{}", cell.term)}</span>
            <span class=text_class>{text}</span>
        </div>
    }
}
