//! The narration panel: what happened, newest first, one sentence each. Clicking a sentence
//! highlights what it talks about (a server, an entry, a message, a link); clicking again clears.

use crate::decimal::Fixed;
use leptos::prelude::*;

use crate::components::on_screen;
use crate::live::Part;
use crate::model::{Focus, Narration, Tone};
use crate::state::{use_ctx, Selection};

/// Items drawn (the model keeps more).
const SHOWN_MAX: usize = 120;

fn tone_class(t: Tone) -> &'static str {
    match t {
        Tone::Election => "tone-election",
        Tone::Leader => "tone-leader",
        Tone::Log => "tone-log",
        Tone::Client => "tone-client",
        Tone::Fault => "tone-fault",
        Tone::Network => "tone-network",
        Tone::Control => "tone-control",
        Tone::Warning => "tone-warning",
    }
}

/// The panel.
#[component]
pub fn NarrationPanel() -> impl IntoView {
    let ctx = use_ctx();
    // Only a new sentence wakes this (not every event batch).
    let items = Memo::new(move |_| {
        ctx.live
            .read(&[Part::Narration], |v| {
                v.narration
                    .iter()
                    .take(SHOWN_MAX)
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    view! {
        <section class="panel narration" aria-label="What happened">
            <h2>"What happened" <span class="hint">"newest first · click to highlight"</span></h2>
            <ol class="narration-list" data-testid="narration">
                <For each=move || items.get() key=|n| n.id let:item>
                    <NarrationItem item/>
                </For>
            </ol>
        </section>
    }
}

#[component]
fn NarrationItem(item: Narration) -> impl IntoView {
    let ctx = use_ctx();
    let focus = item.focus;
    let active = move || focus != Focus::None && ctx.highlight.get() == focus;
    let click = move |_| {
        let next = if ctx.highlight.get_untracked() == focus {
            Focus::None
        } else {
            focus
        };
        ctx.highlight.set(next);
        if next != Focus::None {
            show_on_screen(next);
        }
        if let Focus::Message(id) = focus {
            if ctx
                .live
                .peek(|v| v.messages.contains_key(&id))
                .unwrap_or(false)
            {
                ctx.selection.set(Selection::Message(id));
            }
        }
    };
    let time = format!("{}s", Fixed(item.time_ms as f64 / 1000.0, 3));
    view! {
        <li class=format!("narration-item {}", tone_class(item.tone)) class:active=active>
            <button on:click=click disabled=focus == Focus::None>
                <span class="n-time">{time}</span>
                <span class="n-text">{item.text.clone()}</span>
            </button>
        </li>
    }
}

/// On a one-column page (a phone, a tablet) the story is a screen or two below the ring and the
/// logs: a sentence tapped there highlighted something out of sight. Bring it into view, if
/// it is not: the logs for an entry, the ring for a server, a message or a link.
fn show_on_screen(focus: Focus) {
    let testid = match focus {
        Focus::Entry(_) | Focus::NodeEntry(..) => "logs",
        _ => "ring",
    };
    on_screen::bring_into_view(testid, 40.0);
}
