//! The safety panel: always in view, one light per guarantee the live checker watches (green
//! while it holds, red once broken), and after a violation what broke, where, and a button that
//! rewinds the run to just before the input that led there (`POST /api/fork`). Reads
//! `state::Ctx::safety`; the verdict itself comes from the server's checker.

use leptos::prelude::*;

use crate::live::Part;
use crate::state::use_ctx;
use crate::ws::Origin;

/// The compact panel.
#[component]
pub fn SafetyPanel() -> impl IntoView {
    let ctx = use_ctx();
    let red = move || ctx.safety.with(|s| s.is_red());
    let rows = move || ctx.safety.with(|s| s.rows());
    let headline = move || ctx.safety.with(|s| s.headline());
    let detail = move || {
        ctx.safety
            .with(|s| s.violation.as_ref().map(|v| v.detail.clone()))
    };
    let rewind = move || ctx.safety.with(|s| s.rewind());
    let broken = move || ctx.safety.with(|s| s.broken_rules.any());
    // Green lights beside servers holding different values (`add rand` in the request model)
    // looked like a contradiction: say what the properties are about.
    let divergent = move || {
        ctx.live
            .read(&[Part::Committed, Part::AllNodes], |v| v.first_divergent())
            .flatten()
            .filter(|_| !red())
    };
    view! {
        <section class="panel safety" class:red=red aria-label="Safety" data-testid="safety"
            data-state=move || if red() { "red" } else { "green" }>
            <h2>"Safety"
                <span class="hint">{move || if red() {
                    "violated: the run paused"
                } else if broken() {
                    "holding so far (rules broken on purpose)"
                } else {
                    "checked live, every step"
                }}</span>
            </h2>
            // What the presenter's strip says when the six names do not fit on its one line
            // (frontend/style.css): the count, with the names in its tooltip.
            <p class="safety-summary" data-testid="safety-summary" title=move || {
                rows().into_iter().map(|(name, _)| name).collect::<Vec<_>>().join(", ")
            }>
                <span class="light" aria-hidden="true">"●"</span>
                {move || {
                    let n = rows().len();
                    if broken() {
                        format!("Safety: all {n} properties hold so far (rules broken on purpose)")
                    } else {
                        format!("Safety: all {n} properties hold, checked every step")
                    }
                }}
            </p>
            <ul class="safety-rows">
                {move || rows().into_iter().map(|(name, holds)| {
                    let testid = format!("safety-{}", name.replace(' ', "-"));
                    view! {
                    <li class="safety-row" class:bad=!holds data-testid=testid
                        title=if holds { "holds so far" } else { "violated" }>
                        <span class="light" aria-hidden="true">{if holds { "●" } else { "✖" }}</span>
                        {name}
                        // The light's meaning, for a screen reader (the tooltip is the mouse's).
                        <span class="visually-hidden">{if holds { ": holds" } else { ": violated" }}</span>
                    </li>
                }}).collect_view()}
            </ul>
            {move || divergent().map(|i| view! {
                <p class="safety-note" data-testid="safety-divergent">
                    {format!("The servers hold different values (since entry {i}), and yet these properties hold: they are about which entries each server applies, in order. A request that is not deterministic, like add rand, gives each server its own result: log the state change instead.")}
                </p>
            })}
            {move || headline().map(|h| view! {
                <div class="safety-violation" role="alert">
                    <p class="headline" data-testid="safety-headline">{h}</p>
                    <p class="detail">{detail().unwrap_or_default()}</p>
                    {rewind().map(|(n, input)| view! {
                        <button class="btn primary" data-testid="safety-rewind"
                            on:click=move |_| fork_before(ctx, n)>
                            {format!("Rewind to before “{input}”")}
                        </button>
                    })}
                </div>
            })}
        </section>
    }
}

/// `POST /api/fork {"before_input": n}`: the live run becomes the instant just before input
/// `n` (the server answers with a fresh snapshot on the WebSocket).
fn fork_before(ctx: crate::state::Ctx, n: usize) {
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = post_json("/api/fork", &format!("{{\"before_input\":{n}}}")).await {
            ctx.local_error(Origin::Lab, format!("could not rewind: {e}"));
        }
    });
}

async fn post_json(url: &str, body: &str) -> Result<(), String> {
    match crate::http::request("POST", url, Some(body.to_string())).await? {
        (200..=299, _) => Ok(()),
        (status, text) => Err(format!("HTTP {status}: {text}")),
    }
}
