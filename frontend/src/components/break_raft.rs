//! The "Break Raft" lab: four switches that turn rules of the paper off ON PURPOSE (each with
//! what goes wrong), and RaftScope's "align timers" / "spread timers". Sends `break_rules`,
//! `align_timers` and `spread_timers`; the switches' state is the server's (`Ctx::safety`).

use leptos::prelude::*;
use shared::protocol::ClientCommand;
use shared::raft::BrokenRules;

use crate::components::reply::ReplyLine;
use crate::state::use_ctx;
use crate::ws::Origin;

/// One switch: its JSON name, label and the warning that goes with it.
const SWITCHES: [(&str, &str, &str); 4] = [
    (
        "commit_old_term_by_counting",
        "Commit old-term entries by counting",
        "§5.4.2 / Figure 8: a “committed” entry can be overwritten",
    ),
    (
        "vote_without_log_check",
        "Vote without the up-to-date check",
        "§5.4.1: a leader missing committed entries can win",
    ),
    (
        "forget_vote_on_restart",
        "Forget the vote on restart",
        "Figure 2: a server votes twice, two leaders in one term",
    ),
    (
        "ack_before_fsync",
        "Acknowledge before fsync",
        "Figure 2: a power loss takes back an acknowledged entry",
    ),
];

fn get(rules: &BrokenRules, name: &str) -> bool {
    match name {
        "commit_old_term_by_counting" => rules.commit_old_term_by_counting,
        "vote_without_log_check" => rules.vote_without_log_check,
        "forget_vote_on_restart" => rules.forget_vote_on_restart,
        _ => rules.ack_before_fsync,
    }
}

fn with(mut rules: BrokenRules, name: &str, on: bool) -> BrokenRules {
    match name {
        "commit_old_term_by_counting" => rules.commit_old_term_by_counting = on,
        "vote_without_log_check" => rules.vote_without_log_check = on,
        "forget_vote_on_restart" => rules.forget_vote_on_restart = on,
        _ => rules.ack_before_fsync = on,
    }
    rules
}

/// The lab panel.
#[component]
pub fn BreakRaftPanel() -> impl IntoView {
    let ctx = use_ctx();
    let rules = move || ctx.safety.with(|s| s.broken_rules);
    let any = move || rules().any();
    view! {
        <section class="panel break-raft" class:danger=any aria-label="Break Raft" data-testid="break-raft">
            <h2>"Break Raft" <span class="hint">"on purpose, to watch safety fail"</span></h2>
            <ul class="switches">
                {SWITCHES.iter().map(|(name, label, warning)| {
                    let name = *name;
                    view! {
                        <li>
                            <label class="switch" class:on=move || get(&rules(), name)>
                                <input type="checkbox" data-testid=format!("break-{name}")
                                    prop:checked=move || get(&rules(), name)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        let rules = with(rules(), name, on);
                                        ctx.send(ClientCommand::BreakRules { rules }, Origin::Lab);
                                    }/>
                                <span class="switch-label">{*label}</span>
                            </label>
                            <span class="warning">"⚠ broken on purpose: " {*warning}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p class="hint">"A switch acts from now on. To stage a scenario from its first step, turn it on, then start a new cluster (“New cluster…”)."</p>
            <div class="row-buttons">
                <span class="label">"Timers"</span>
                <button class="btn chip" data-testid="align-timers"
                    title="Every follower's election timer fires at the same instant: split votes"
                    on:click=move |_| ctx.send(ClientCommand::AlignTimers, Origin::Lab)>"Align timers"</button>
                <button class="btn chip" data-testid="spread-timers"
                    title="Spread the followers' election timers over the timeout range"
                    on:click=move |_| ctx.send(ClientCommand::SpreadTimers, Origin::Lab)>"Spread timers"</button>
            </div>
            <ReplyLine origin=Origin::Lab/>
        </section>
    }
}
