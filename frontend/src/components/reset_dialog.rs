//! "New cluster…": the dialog that starts a new cluster — its size, seed, log model and timings,
//! and what it would keep of a lesson's or the break-Raft lab's settings (offered back to the
//! defaults after a lesson). Sends `reset`; what differs from the defaults is `present`'s.

use leptos::prelude::*;
use shared::protocol::{ClientCommand, Timing};
use shared::types::LogModel;

use crate::components::reply::ReplyLine;
use crate::state::use_ctx;
use crate::ws::Origin;

/// "New cluster…": size, seed, log model and timings.
#[component]
pub fn ResetDialog() -> impl IntoView {
    let ctx = use_ctx();
    let nodes = RwSignal::new(String::new());
    let seed = RwSignal::new(String::new());
    let model = RwSignal::new(String::new());
    let et_min = RwSignal::new(String::new());
    let et_max = RwSignal::new(String::new());
    let heartbeat = RwSignal::new(String::new());
    let waiting = RwSignal::new(false);
    // What the new cluster would keep that is not the default (a lesson's slow timers, a rule
    // switched off), and whether to start from the defaults instead: ticked after a lesson, so
    // that the demo after it is plain Raft again; unticked otherwise (the break-Raft lab stages
    // a scenario by switching a rule off, then starting a new cluster).
    let lessons = use_context::<crate::components::lessons::Lessons>();
    let lesson_seen = move || lessons.is_some_and(|l| l.seen_since_reset.get_value());
    let left = RwSignal::new(Vec::<String>::new());
    let from_defaults = RwSignal::new(true);
    let current_timing = StoredValue::new(Timing::default());
    let fill_timing = move |t: Timing| {
        et_min.set(t.election_timeout_ms_min.to_string());
        et_max.set(t.election_timeout_ms_max.to_string());
        heartbeat.set(t.heartbeat_interval_ms.to_string());
    };
    // Fill the form from the current cluster whenever it opens.
    Effect::new(move |_| {
        if !ctx.reset_open.get() {
            return;
        }
        ctx.clear_reply(Origin::Reset);
        let current = ctx.live.peek(|v| {
            (
                v.nodes.len(),
                v.seed,
                v.log_model,
                v.timing,
                v.network.clone(),
            )
        });
        if let Some((n, s, m, t, network)) = current {
            nodes.set(n.to_string());
            seed.set(s.to_string());
            model.set(m.to_string());
            let rules = ctx.safety.with_untracked(|s| s.broken_rules);
            left.set(crate::present::settings_left(&t, &network, &rules));
            let ticked = lesson_seen() && !left.with_untracked(Vec::is_empty);
            from_defaults.set(ticked);
            current_timing.set_value(t);
            fill_timing(if ticked { Timing::default() } else { t });
        }
    });
    let choose_defaults = move |on: bool| {
        from_defaults.set(on);
        fill_timing(if on {
            Timing::default()
        } else {
            current_timing.get_value()
        });
    };
    // Close once the server accepted it.
    Effect::new(move |_| {
        let ok = ctx
            .replies
            .with(|r| matches!(r.get(&Origin::Reset), Some(Ok(_))));
        if ok && waiting.get_untracked() {
            waiting.set(false);
            ctx.reset_open.set(false);
            ctx.clear_reply(Origin::Reset);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let number = |s: RwSignal<String>, what: &str| -> Result<Option<u64>, String> {
            let t = s.get_untracked();
            let t = t.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<u64>()
                .map(Some)
                .map_err(|_| format!("{what} must be a whole number, not \"{t}\""))
        };
        let parsed = (|| {
            let n = number(nodes, "the number of servers")?;
            if let Some(n) = n {
                if !(1..=9).contains(&n) {
                    return Err(format!("a cluster has 1 to 9 servers, not {n}"));
                }
            }
            let log_model = model.get_untracked().parse::<LogModel>().ok();
            Ok(ClientCommand::Reset {
                nodes: n,
                seed: number(seed, "the seed")?,
                log_model,
                election_timeout_ms_min: number(et_min, "the election timeout")?,
                election_timeout_ms_max: number(et_max, "the election timeout")?,
                heartbeat_interval_ms: number(heartbeat, "the heartbeat interval")?,
                default_settings: from_defaults.get_untracked()
                    && !left.with_untracked(Vec::is_empty),
            })
        })();
        match parsed {
            Ok(cmd) => {
                waiting.set(true);
                ctx.send(cmd, Origin::Reset);
                if let Some(l) = lessons {
                    l.seen_since_reset.set_value(false);
                }
            }
            Err(e) => ctx.local_error(Origin::Reset, e),
        }
    };
    let random_seed = move |_| {
        let r = (js_sys::Math::random() * 1_000_000.0) as u64;
        seed.set(r.to_string());
    };
    let field = move |label: &'static str,
                      sig: RwSignal<String>,
                      testid: &'static str,
                      min: &'static str,
                      max: &'static str| {
        view! {
            <label class="field">
                <span>{label}</span>
                // Left empty, a field keeps the current cluster's value.
                <input type="number" min=min max=max data-testid=testid prop:value=move || sig.get()
                    data-autofocus=(testid == "reset-nodes").then_some("")
                    placeholder="as now"
                    on:input=move |ev| sig.set(event_target_value(&ev))/>
            </label>
        }
    };
    view! {
        <Show when=move || ctx.reset_open.get()>
            <div class="overlay" on:click=move |_| ctx.reset_open.set(false)>
                <form class="dialog" data-testid="reset-dialog" on:submit=submit novalidate=true
                    role="dialog" aria-modal="true" tabindex="-1" aria-label="Start a new cluster"
                    on:click=|ev| ev.stop_propagation()>
                    <crate::components::modal::ModalFocus of="reset-dialog"/>
                    <h2>"Start a new cluster"</h2>
                    <p class="hint">"The current run and its disks are replaced. Everything below is reproducible from the seed."</p>
                    {field("Servers (1–9)", nodes, "reset-nodes", "1", "9")}
                    <label class="field">
                        <span>"Seed"</span>
                        <span class="with-button">
                            <input type="number" min="0" data-testid="reset-seed" prop:value=move || seed.get()
                                placeholder="as now"
                                on:input=move |ev| seed.set(event_target_value(&ev))/>
                            <button type="button" class="btn" data-testid="random-seed" on:click=random_seed
                                title="A random seed" aria-label="A random seed">
                                // A die drawn here, not an emoji: machines without an emoji font
                                // showed an empty box.
                                <svg class="icon die" viewBox="0 0 16 16" aria-hidden="true">
                                    <rect x="1.5" y="1.5" width="13" height="13" rx="3" fill="none" stroke="currentColor" stroke-width="1.6"/>
                                    <circle cx="5" cy="5" r="1.4"/><circle cx="11" cy="5" r="1.4"/><circle cx="8" cy="8" r="1.4"/>
                                    <circle cx="5" cy="11" r="1.4"/><circle cx="11" cy="11" r="1.4"/>
                                </svg>
                            </button>
                        </span>
                    </label>
                    <fieldset class="field">
                        <legend>"The log holds"</legend>
                        <label class="radio"><input type="radio" name="model" value="command"
                            prop:checked=move || model.get() == "command"
                            on:change=move |_| model.set("command".into())/>
                            " requests (\u{201c}add 5\u{201d}): every server runs them"</label>
                        <label class="radio"><input type="radio" name="model" value="state"
                            prop:checked=move || model.get() == "state"
                            on:change=move |_| model.set("state".into())/>
                            " state changes (\u{201c}value = 5\u{201d}): only the leader runs them"</label>
                    </fieldset>
                    <Show when=move || !left.with(Vec::is_empty)>
                        <label class="radio defaults" data-testid="reset-defaults">
                            <input type="checkbox" prop:checked=move || from_defaults.get()
                                on:change=move |ev| choose_defaults(event_target_checked(&ev))/>
                            " Start from the default settings (every Raft rule on, the default timings and network). Unticked, the new cluster keeps: "
                            <strong>{move || left.get().join("; ")}</strong>
                        </label>
                    </Show>
                    <div class="field-row">
                        {field("Election timeout min (ms)", et_min, "reset-et-min", "1", "100000")}
                        {field("max (ms)", et_max, "reset-et-max", "1", "100000")}
                        {field("Heartbeat (ms)", heartbeat, "reset-heartbeat", "1", "100000")}
                    </div>
                    <ReplyLine origin=Origin::Reset/>
                    <div class="dialog-buttons">
                        <button type="button" class="btn" on:click=move |_| ctx.reset_open.set(false)>"Cancel"</button>
                        <button type="submit" class="btn primary" data-testid="reset-submit">"Start"</button>
                    </div>
                </form>
            </div>
        </Show>
    }
}
