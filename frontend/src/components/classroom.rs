//! The classroom strip under the top bar, and follow mode. A viewer's page says it is read-only
//! and whether it follows the presenter (one click to stop or to follow again); the presenter's
//! page shows the URL students open and its QR code, and sends what it shows (selection,
//! highlight, layout, the instant its timeline shows) for viewers to follow. Owns follow mode;
//! must not command the cluster.

use leptos::prelude::*;
use shared::protocol::{ClientCommand, ConnectionRole, PresenterView, ServerMessage};

use crate::components::prediction::ViewerQuestion;
use crate::components::reply::ReplyLine;
use crate::follow::{focus_of, highlight_of, qr_svg};
use crate::history::{At, History};
use crate::state::{use_ctx, Ctx, Selection};
use crate::transport::EngineKind;
use crate::ws::{ConnState, Origin};

/// Take what a server message says about the classroom: `hello`'s role and viewer URL, the
/// presenter's view state (applied at once while following), and the lesson's question.
pub fn on_message(ctx: Ctx, message: &ServerMessage) {
    match message {
        ServerMessage::Hello {
            role, viewer_url, ..
        } => {
            ctx.role.set(*role);
            ctx.viewer_url.set(viewer_url.clone());
            // A new connection has no answer on the server yet: do not show the old one as
            // given; it goes again when the server says the question is still open.
            if ctx.prediction.with_untracked(|p| p.picked.is_some()) {
                ctx.prediction.update(|p| p.on_reconnect());
            }
        }
        ServerMessage::PresenterView(view) => {
            ctx.presenter_view.set(Some(view.clone()));
            if ctx.following.get_untracked() && !ctx.may_control() {
                apply(ctx, view);
            }
        }
        ServerMessage::Prediction { prediction } => {
            let prediction = prediction.clone();
            let again = ctx
                .prediction
                .try_update(|p| p.on_message(prediction))
                .flatten();
            if let Some((question, choice)) = again {
                crate::components::prediction::answer(ctx, question, choice);
            }
        }
        _ => {}
    }
}

/// Show what the presenter shows.
fn apply(ctx: Ctx, view: &PresenterView) {
    let selection = match (view.selected_node, view.selected_message) {
        (Some(node), _) => Selection::Node(node),
        (None, Some(message)) => Selection::Message(message),
        (None, None) => Selection::None,
    };
    if ctx.selection.get_untracked() != selection {
        ctx.selection.set(selection);
    }
    let focus = focus_of(view.highlight);
    if ctx.highlight.get_untracked() != focus {
        ctx.highlight.set(focus);
    }
    if ctx.presenter.get_untracked() != view.presenter_layout {
        ctx.set_presenter(view.presenter_layout);
    }
}

/// What this page shows, as the protocol says it.
fn current_view(ctx: Ctx, history: Option<History>) -> PresenterView {
    // The instant the timeline shows (none: live), as the presenter asked for it.
    let past = history.and_then(|h| h.past.get());
    let (selected_node, selected_message) = match ctx.selection.get() {
        Selection::None => (None, None),
        Selection::Node(n) => (Some(n), None),
        Selection::Message(m) => (None, Some(m)),
    };
    PresenterView {
        selected_node,
        selected_message,
        highlight: highlight_of(ctx.highlight.get()),
        presenter_layout: ctx.presenter.get(),
        scrub_seq: past.map(|p| p.seq),
        scrub_ms: past.and_then(|p| match p.at {
            At::Ms(t) => Some(t),
            At::Seq(_) => None,
        }),
    }
}

/// The instant a following viewer should show for the presenter's view (`None`: live).
fn scrub_target(view: &PresenterView) -> Option<At> {
    match (view.scrub_ms, view.scrub_seq) {
        (Some(t), _) => Some(At::Ms(t)),
        (None, Some(seq)) => Some(At::Seq(seq)),
        (None, None) => None,
    }
}

/// On a following viewer's page: show the instant the presenter's timeline shows, and go back
/// to live when the presenter does (also on rejoining follow mode).
fn follow_scrubbing(ctx: Ctx, history: History) {
    Effect::new(move |_| {
        let following = ctx.following.get() && ctx.role.get() == Some(ConnectionRole::Viewer);
        let Some(view) = ctx.presenter_view.get().filter(|_| following) else {
            return;
        };
        let shown = history.past.get_untracked().map(|p| p.at);
        match scrub_target(&view) {
            None if shown.is_some() => history.back_to_live(ctx),
            Some(at) if shown != Some(at) => history.show(ctx, at),
            _ => {}
        }
    });
}

/// On the presenter's page of a shared server: send the view state whenever it changes (and
/// again after a reconnect, in case the server restarted and forgot it). On a viewer's page:
/// follow the presenter's timeline position.
pub fn start_broadcast(ctx: Ctx) {
    let history = use_context::<History>();
    if let Some(history) = history {
        follow_scrubbing(ctx, history);
    }
    let last_sent = StoredValue::new(None::<PresenterView>);
    Effect::new(move |_| {
        let shared = ctx.viewer_url.with(Option::is_some);
        let presenter = ctx.role.get() == Some(ConnectionRole::Presenter);
        if ctx.conn.get() != ConnState::Open {
            last_sent.set_value(None);
            return;
        }
        let view = current_view(ctx, history);
        if !(shared && presenter) || last_sent.with_value(|l| l.as_ref() == Some(&view)) {
            return;
        }
        last_sent.set_value(Some(view.clone()));
        ctx.send(ClientCommand::PresenterView(view), Origin::Follow);
    });
}

/// The strip under the top bar: the viewer's notice and follow switch, or the presenter's
/// invitation (URL and QR code). Nothing on a page nobody else watches.
#[component]
pub fn ClassroomBar() -> impl IntoView {
    let ctx = use_ctx();
    move || match (ctx.role.get(), ctx.viewer_url.get()) {
        _ if matches!(ctx.engine.get(), EngineKind::Sandbox { .. }) => {
            view! { <SandboxBar/> }.into_any()
        }
        (Some(ConnectionRole::Viewer), _) => view! { <ViewerBar/> }.into_any(),
        (Some(ConnectionRole::Presenter), Some(url)) => view! { <ShareBar url/> }.into_any(),
        _ => ().into_any(),
    }
}

#[component]
fn ViewerBar() -> impl IntoView {
    let ctx = use_ctx();
    let history = use_context::<History>();
    let follow_again = move |_| {
        ctx.following.set(true);
        if let Some(view) = ctx.presenter_view.get_untracked() {
            apply(ctx, &view);
        }
    };
    // A page opened with a presenter link that this server does not take (it was started with
    // another --token, or its data directory's token file was deleted): say so, or the
    // presenter is left wondering why every key is refused.
    let stale_link = web_sys::window().map(|w| w.location()).is_some_and(|l| {
        crate::present::has_presenter_token(
            &l.search().unwrap_or_default(),
            &l.hash().unwrap_or_default(),
        )
    });
    view! {
        <div class="classroom-bar viewer-bar" data-testid="viewer-bar" role="status">
            {stale_link.then(|| view! {
                <span class="notice stale-link" data-testid="stale-presenter-link">
                    "This presenter link is not the server's: open the presenter link it printed \
                     when it started."
                </span>
            })}
            <span class="notice">"You are watching the presenter's cluster (read-only)"</span>
            {move || if ctx.following.get() {
                view! {
                    <span class="follow-state" data-testid="follow-state">"Following the presenter"</span>
                    <button class="btn chip" data-testid="follow-stop"
                        title="Look around on your own; the cluster stays live"
                        on:click=move |_| ctx.following.set(false)>"Stop following"</button>
                }.into_any()
            } else {
                view! {
                    <span class="follow-state" data-testid="follow-state">"Exploring on your own"</span>
                    <button class="btn chip primary" data-testid="follow-start"
                        on:click=follow_again>"Follow the presenter again"</button>
                }.into_any()
            }}
            <button class="btn chip" data-testid="sandbox-start"
                title="Copy the cluster as you see it now into this browser, and run it yourself"
                disabled=move || ctx.sandbox_busy.get()
                on:click=move |_| crate::sandbox::start(ctx, history)>"Try it yourself"</button>
            {move || ctx.sandbox_status.get().map(|text| view! {
                <span class="sandbox-status" data-testid="sandbox-status" role="status">{text}</span>
            })}
        </div>
        // Side by side where the window is wide enough (classroom.css): the step read along,
        // and the question answered.
        <div class="viewer-cards">
            <crate::components::lessons::ViewerLesson/>
            <ViewerQuestion/>
        </div>
    }
}

/// A viewer's own sandbox: says whose cluster it is, and the way back.
#[component]
fn SandboxBar() -> impl IntoView {
    let ctx = use_ctx();
    let notice = move || match ctx.engine.get() {
        EngineKind::Sandbox { at_ms, link } => crate::present::sandbox_notice(at_ms, link),
        _ => String::new(),
    };
    view! {
        <div class="classroom-bar sandbox-bar" data-testid="sandbox-bar" role="status">
            <span class="notice" data-testid="sandbox-notice">{notice}</span>
            <button class="btn chip primary" data-testid="sandbox-leave"
                title="Leave the sandbox (it is not kept) and watch the presenter again"
                on:click=move |_| crate::sandbox::back_to_class()>"Back to the class"</button>
        </div>
    }
}

#[component]
fn ShareBar(url: String) -> impl IntoView {
    let open = RwSignal::new(false);
    let qr = qr_svg(&url);
    let href = url.clone();
    let big_url = url.clone();
    let warning = crate::present::viewer_url_warning(&url);
    // Esc closes it, as it closes the page's other panels (the help says so).
    let esc = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && open.get_untracked() {
            open.set(false);
        }
    });
    on_cleanup(move || esc.remove());
    view! {
        <div class="classroom-bar share-bar" data-testid="share-bar">
            <span class="notice">"Students open "</span>
            <a class="viewer-url" data-testid="viewer-url" href=href target="_blank" rel="noopener">{url}</a>
            {warning.map(|w| view! {
                <span class="unreachable" data-testid="viewer-url-warning">{w}</span>
            })}
            <span class="hint">"· they follow what you select and highlight"</span>
            <button class="btn chip" data-testid="qr-open" on:click=move |_| open.set(true)>"QR code"</button>
            // The relay's errors (e.g. too many view changes at once); success says nothing.
            <ReplyLine origin=Origin::Follow errors_only=true/>
        </div>
        <Show when=move || open.get()>
            <div class="overlay" on:click=move |_| open.set(false)>
                <div class="dialog qr-dialog" data-testid="qr-dialog" role="dialog"
                    aria-label="QR code of the viewer URL">
                    {qr.clone().map(|q| view! {
                        <svg class="qr" data-testid="qr" viewBox=format!("0 0 {0} {0}", q.view_side)
                            shape-rendering="crispEdges" role="img" aria-label=format!("QR code of {big_url}")>
                            <rect width="100%" height="100%" fill="#fff"/>
                            <path d=q.path fill="#000"/>
                        </svg>
                    })}
                    <p class="qr-url">{big_url.clone()}</p>
                    {warning.map(|w| view! {
                        <p class="unreachable">{format!("Careful: {w}.")}</p>
                    })}
                    <p class="hint">"Click anywhere or press Esc to close"</p>
                </div>
            </div>
        </Show>
    }
}
