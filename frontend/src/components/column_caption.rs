//! The caption under the logs while an entry is highlighted (a cell clicked or tapped, a
//! sentence of the story): what every server holds at that index, in words
//! (`ClusterView::column`). A cell's tooltip says it for one server, too small for a projector
//! and never on a phone. Draws only; the highlight is the page's (`Ctx::highlight`).

use leptos::prelude::*;

use crate::live::Part;
use crate::model::Focus;
use crate::state::use_ctx;

#[component]
pub fn ColumnCaption() -> impl IntoView {
    let ctx = use_ctx();
    let column = Memo::new(move |_| {
        let index = match ctx.highlight.get() {
            Focus::Entry(i) | Focus::NodeEntry(_, i) => i,
            _ => return None,
        };
        ctx.live
            .read(&[Part::AllNodes, Part::Committed], |v| v.column(index))
    });
    move || {
        column.get().map(|c| {
            let lines = c
                .lines()
                .into_iter()
                .map(|line| view! { <li>{line}</li> })
                .collect_view();
            view! {
                <div class="column-caption" data-testid="column-caption" role="status">
                    <strong>{c.heading()}</strong>
                    <ul>{lines}</ul>
                    <button class="column-close" aria-label="Close the caption"
                        on:click=move |_| ctx.highlight.set(Focus::None)>"×"</button>
                </div>
            }
        })
    }
}
