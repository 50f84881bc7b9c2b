//! Predictions in the classroom: on a viewer's page, the card with the question a lesson asks
//! now (tap a choice to answer, again to change it; the reveal shows the room's tally next to
//! the right answer); on the presenter's page, the live tally under the lesson's question.
//! Owns only what these show and the `answer` request; what a row says is `crate::predict`'s.

use leptos::prelude::*;
use shared::protocol::{ClientCommand, ConnectionRole};

use crate::components::reply::ReplyLine;
use crate::predict::Row;
use crate::state::{use_ctx, Ctx};
use crate::ws::Origin;

/// Send this viewer's answer (the one request a viewer's page makes: it bypasses the
/// read-only guard of `Ctx::send`, which the server mirrors).
pub(crate) fn answer(ctx: Ctx, question: u64, choice: usize) {
    let result = ctx.connection.with_value(|c| match c {
        Some(c) => c.send(ClientCommand::Answer { question, choice }, Origin::Follow),
        None => Err("not connected to the server: the answer was not sent".to_string()),
    });
    match result {
        Ok(_) => {
            ctx.clear_reply(Origin::Follow);
            ctx.prediction.update(|p| p.picked = Some(choice));
        }
        Err(e) => ctx.local_error(Origin::Follow, e),
    }
}

/// A choice's count and bar (when the tally is shown).
/// Each row drawn by `draw(index, row, its count and bar)`: the viewer's answers and the
/// presenter's tally.
fn each_row<V: IntoView>(
    rows: Vec<Row>,
    draw: impl Fn(usize, &Row, AnyView) -> V,
) -> impl IntoView {
    rows.iter()
        .enumerate()
        .map(|(i, row)| draw(i, row, bar(row).into_any()))
        .collect_view()
}

fn bar(row: &Row) -> impl IntoView {
    row.count.map(|count| {
        view! {
            <span class="tally-count">{count}</span>
            <span class="tally-bar" aria-hidden="true">
                <span class="tally-fill" style=format!("width: {}%", row.percent)></span>
            </span>
        }
    })
}

/// The viewer's question card (nothing on a presenter's page, or when no question is asked).
#[component]
pub fn ViewerQuestion() -> impl IntoView {
    let ctx = use_ctx();
    move || {
        if ctx.role.get() != Some(ConnectionRole::Viewer) {
            return None;
        }
        let p = ctx.prediction.get();
        let v = p.view.clone()?;
        let (open, question) = (v.open, v.question);
        let rows = each_row(p.rows(), |i, row, bar| {
            view! {
                <li class="answer-row" class:right=row.right class:picked=row.picked>
                    <button class="btn chip answer" data-testid=format!("answer-{i}")
                        aria-pressed=row.picked.to_string() disabled=!open
                        on:click=move |_| answer(ctx, question, i)>{row.label.clone()}</button>
                    // In every row (hidden but the right one's), so each row's bar starts in
                    // the same column: the right row alone had it, and its bar was the widest.
                    <span class="right-mark" data-testid=row.right.then_some("answer-right")
                        aria-hidden=(!row.right).then_some("true")>"✓ right"</span>
                    {bar}
                </li>
            }
        });
        Some(view! {
            <section class="viewer-question" data-testid="viewer-question" aria-label="The presenter asks">
                <p class="question-text">{v.text.clone()}</p>
                <ul class="answers">{rows}</ul>
                <p class="answer-status" data-testid="answer-status" role="status">{p.viewer_status()}</p>
                {p.summary().map(|s| view! { <p class="tally-summary" data-testid="viewer-tally">{s}</p> })}
                {v.why.clone().map(|w| view! { <p class="lesson-why">{w}</p> })}
                <ReplyLine origin=Origin::Follow errors_only=true/>
            </section>
        })
    }
}

/// The room's answers under the lesson's question, on the presenter's page.
#[component]
pub fn PresenterTally() -> impl IntoView {
    let ctx = use_ctx();
    move || {
        if ctx.role.get() != Some(ConnectionRole::Presenter) {
            return None;
        }
        let p = ctx.prediction.get();
        let summary = p.summary()?;
        // On a page nobody else can watch (loopback, no token), "0 of 0 answered" is noise.
        let alone = p.view.as_ref()?.tally.as_ref()?.viewers == 0;
        if alone && ctx.viewer_url.with(Option::is_none) {
            return None;
        }
        let rows = each_row(p.rows(), |i, row, bar| {
            view! {
                <li class="tally-row" class:right=row.right data-testid=format!("tally-{i}")>
                    <span class="tally-label">{row.label.clone()}</span>
                    {bar}
                </li>
            }
        });
        Some(view! {
            <div class="tally" data-testid="tally" aria-label="The room's answers">
                <p class="tally-summary" data-testid="tally-summary">{summary}</p>
                <ul class="tally-rows">{rows}</ul>
            </div>
        })
    }
}
