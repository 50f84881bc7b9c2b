//! Ghost entries in a server's log row: entries log repair overwrote or a power loss took back,
//! drawn faded and struck out where they were, with a tooltip saying why ("overwritten by S1's
//! entry from term 4", "lost in power loss: never synced"). When a new entry already stands at
//! that index, the ghost peeks out from behind it like a card under a card. Owns only the
//! drawing; what is a ghost and for how long is `model::log_ghosts`.

use crate::decimal::Fixed;
use leptos::prelude::*;
use shared::types::{LogIndex, NodeId, Term};

use super::logs::{left_px, CELL_PX};
use crate::layout::{term_colour, term_text_colour};
use crate::live::Part;
use crate::state::use_ctx;

/// One ghost as drawn.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct GhostLook {
    index: LogIndex,
    term: Term,
    text: String,
    reason: String,
    /// A live entry stands at the same index (the ghost is drawn behind it, offset).
    covered: bool,
}

/// The ghosts of server `id`'s row, within the scrolled-to `range`.
#[component]
pub fn GhostCells(id: NodeId, range: Memo<std::ops::RangeInclusive<LogIndex>>) -> impl IntoView {
    let ctx = use_ctx();
    let ghosts = Memo::new(move |_| {
        let r = range.get();
        ctx.live
            .read(&[Part::Node(id)], |v| {
                let last = v.node(id).map_or(LogIndex(0), |n| n.last_index());
                v.log_ghosts_of(id, r)
                    .into_iter()
                    .map(|g| GhostLook {
                        index: g.entry.index,
                        term: g.entry.term,
                        text: g.entry.command.clone(),
                        reason: g.reason(),
                        covered: g.entry.index <= last,
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    view! {
        <For each=move || ghosts.get() key=|g| g.clone() let:g>
            {
                let style = format!(
                    "left:{}px;width:{}px;background-color:{};color:{}",
                    Fixed(left_px(g.index) + 3.0, 0),
                    Fixed(CELL_PX - 6.0, 0),
                    term_colour(g.term),
                    term_text_colour(g.term)
                );
                let title = format!("index {}, term {}: {} · {}", g.index, g.term, g.text, g.reason);
                view! {
                    <div class="log-ghost" class:covered=g.covered style=style title=title
                        data-testid=format!("ghost-{id}-{}", g.index) data-reason=g.reason.clone()>
                        <span class="cell-term">{format!("t{}", g.term)}</span>
                        <span class="cell-text">{g.text.clone()}</span>
                    </div>
                }
            }
        </For>
    }
}
