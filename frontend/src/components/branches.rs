//! The branches under the timeline: a "Branches (n)" chip among the history tools and, unfolded,
//! the list of runs set aside by a fork, undo, load or return, newest first, each with "Return";
//! and the confirmation when a return would leave actions of the current run behind (it is kept
//! as a branch, and the question says so). Draws and wires only: requests and the decision to
//! ask are `history::branches`'.

use leptos::prelude::*;

use crate::history::{Branches, History};
use crate::state::use_ctx;
use crate::timeline::branch_text;

/// The chip that folds and unfolds the list. The list is fetched when the page opens, when it
/// is unfolded and after each move of the run made from this page.
#[component]
pub fn BranchesChip(branches: Branches) -> impl IntoView {
    let history = expect_context::<History>();
    Effect::new(move |_| {
        let _ = history.moves.get();
        let _ = branches.open.get();
        branches.refresh();
    });
    let count = move || branches.list.with(Vec::len);
    view! {
        <button class="btn chip" data-testid="branches-toggle"
            aria-expanded=move || branches.open.get().to_string()
            title="Runs set aside by Resume from here, Undo or a load: return to one"
            on:click=move |_| branches.open.update(|o| *o = !*o)>
            {move || format!("Branches ({})", count())}
        </button>
    }
}

/// The list, while unfolded.
#[component]
pub fn BranchList(branches: Branches) -> impl IntoView {
    let ctx = use_ctx();
    let history = expect_context::<History>();
    let rows = move || {
        let mut list = branches.list.get();
        list.reverse();
        list
    };
    let busy = move || history.busy.get();
    view! {
        <Show when=move || branches.open.get()>
            <div class="branches" data-testid="branches" role="region" aria-label="Branches">
                <Show when=move || branches.list.with(Vec::is_empty)>
                    <p class="hint" data-testid="branches-empty">
                        "None yet: Resume from here, Undo and loading a trace keep the run they replace here."
                    </p>
                </Show>
                <ul>
                    <For each=rows key=|b| b.id let:b>
                        {
                            let id = b.id;
                            let asking = move || branches.confirm.get() == Some(id);
                            view! {
                                <li data-testid="branch" data-branch-id=id.to_string()
                                    data-reason=b.reason.clone()>
                                    <span class="branch-text">{branch_text(&b)}</span>
                                    <button class="btn chip" data-testid="branch-return"
                                        disabled=move || busy() || b.live
                                        title="Make this run the live one again"
                                        on:click=move |_| branches.ask_return(ctx, history, id)>"Return"</button>
                                    <Show when=asking>
                                        <div class="branch-confirm" role="alertdialog" data-testid="branch-confirm"
                                            aria-label="Return to this branch?">
                                            <span>"The current run has actions this branch does not: it will be kept as a branch too."</span>
                                            <button class="btn primary" data-testid="branch-confirm-yes" disabled=busy
                                                on:click=move |_| branches.restore(ctx, history, id)>
                                                "Return, keep the current run as a branch"</button>
                                            <button class="btn" data-testid="branch-cancel"
                                                on:click=move |_| branches.confirm.set(None)>"Cancel"</button>
                                        </div>
                                    </Show>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </div>
        </Show>
    }
}
