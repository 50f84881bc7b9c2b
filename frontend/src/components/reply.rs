//! The line under a group of controls that shows the server's answer to its last command (or a
//! local error). Reads the replies in the context; sends nothing.

use leptos::prelude::*;

use crate::state::use_ctx;
use crate::ws::Origin;

/// Inline reply (error or confirmation) for one control group.
#[component]
pub fn ReplyLine(
    origin: Origin,
    /// Show only errors (where a confirmation would just move the layout).
    #[prop(optional)]
    errors_only: bool,
) -> impl IntoView {
    let ctx = use_ctx();
    let reply = move || {
        ctx.replies
            .with(|r| r.get(&origin).cloned())
            .filter(|r| !(errors_only && r.is_ok()))
    };
    move || {
        match reply() {
        Some(Err(e)) => view! {
            <p class="reply error" role="alert" data-testid=format!("error-{origin:?}").to_ascii_lowercase()>{e}</p>
        }
        .into_any(),
        Some(Ok(m)) => view! { <p class="reply ok">{m}</p> }.into_any(),
        None => ().into_any(),
    }
    }
}
