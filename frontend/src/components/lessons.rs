//! Lessons on the page: the "Lessons" button of the top bar, the picker (built-in lessons and a
//! teacher's file), the lesson panel (caption, Back/Next, the question to predict, Reveal and
//! the why), and on a student's page the step as the projector shows it (`ViewerLesson`). Talks to the lesson routes (docs/api.md) through `http::request`: the server's, or
//! the in-browser engine's when the page runs its own cluster; the cluster itself arrives as any
//! other run's messages. Owns only what the panel shows; what a reply means is in
//! `crate::lesson` (tested natively).

use leptos::prelude::*;
use shared::protocol::ConnectionRole;
use wasm_bindgen::JsCast;

use crate::components::on_screen;
use crate::components::prediction::PresenterTally;
use crate::history::History;
use crate::lesson::{read_current, read_reply, LessonView, Listed};
use crate::state::use_ctx;

/// The lesson's state on this page, shared by the button, the picker and the panel.
#[derive(Clone, Copy)]
pub struct Lessons {
    /// The open lesson, as the server last told.
    pub open: RwSignal<Option<LessonView>>,
    /// The picker is shown.
    pub picker: RwSignal<bool>,
    /// The built-in lessons (fetched when the picker first opens).
    list: RwSignal<Vec<Listed>>,
    /// The last refusal (a teacher's file: "line 5: …").
    error: RwSignal<Option<String>>,
    /// The choice the user predicted at the current question.
    picked: RwSignal<Option<usize>>,
    /// A request is on its way (buttons wait).
    busy: RwSignal<bool>,
    /// The last `refresh` asked: an older answer arriving after it is not shown.
    asked: StoredValue<u64>,
    /// A lesson was open since the page last started a new cluster: what the cluster's
    /// settings differ in is most likely the lesson's, and the New cluster dialog offers to
    /// drop it, ticked (after the break-Raft lab, unticked: "turn a rule off, then start a new
    /// cluster" is how the lab stages a scenario).
    pub seen_since_reset: StoredValue<bool>,
}

impl Lessons {
    /// Create. Whether a lesson is already open (a reload mid-lesson) is asked when the server's
    /// `Hello` arrives (`app.rs`), not here: before it the page does not know whether a server
    /// or its own engine answers, and a static host would answer 404 from its root.
    pub fn new() -> Lessons {
        Lessons {
            open: RwSignal::new(None),
            picker: RwSignal::new(false),
            list: RwSignal::new(Vec::new()),
            error: RwSignal::new(None),
            picked: RwSignal::new(None),
            busy: RwSignal::new(false),
            asked: StoredValue::new(0),
            seen_since_reset: StoredValue::new(false),
        }
    }

    /// Ask the server where the open lesson stands (`GET /api/lesson`). Called on `Hello` (a
    /// reload mid-lesson), on every fresh snapshot and on the server's `lesson_changed` notice:
    /// any page or script opening, moving or closing the lesson sends every page that notice
    /// (a close moves no cluster, so no snapshot would tell it).
    pub fn refresh(self) {
        let asked = self.asked.get_value() + 1;
        self.asked.set_value(asked);
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(Ok(current)) = call("GET", "/api/lesson", None)
                .await
                .map(|t| read_current(&t))
            {
                // A snapshot and the notice of one change ask twice; answers may cross.
                if self.asked.get_value() != asked {
                    return;
                }
                if current.is_some() {
                    self.seen_since_reset.set_value(true);
                }
                if self.open.get_untracked() != current {
                    if current.as_ref().is_none_or(|v| v.asking()) {
                        self.picked.set(None);
                    }
                    self.open.set(current);
                }
            }
        });
    }

    fn show_picker(self) {
        self.error.set(None);
        self.picker.set(true);
        if self.list.get_untracked().is_empty() {
            wasm_bindgen_futures::spawn_local(async move {
                match call("GET", "/api/lessons", None)
                    .await
                    .and_then(|t| read_reply(&t))
                {
                    Ok(list) => self.list.set(list),
                    Err(e) => self.error.set(Some(e)),
                }
            });
        }
    }

    /// POST to a lesson route; the new position replaces the old, an error is shown.
    fn post(self, url: String, body: Option<String>) {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        wasm_bindgen_futures::spawn_local(async move {
            let reply = call("POST", &url, body)
                .await
                .and_then(|t| read_reply::<LessonView>(&t));
            self.busy.set(false);
            match reply {
                Ok(v) => {
                    if v.asking() || v.stop == 0 {
                        self.picked.set(None);
                    }
                    self.open.set(Some(v));
                    self.error.set(None);
                    self.picker.set(false);
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// A presentation clicker's "next" (PageDown, or `n`): reveal the answer at a question,
    /// else on to the next pause point. False when no lesson is open here (the key is then
    /// the page's own: PageDown scrolls).
    pub fn forward(self) -> bool {
        let Some(v) = self.open.get_untracked() else {
            return false;
        };
        if v.asking() {
            self.post("/api/lesson/reveal".into(), None);
        } else if v.can_next() {
            self.post("/api/lesson/next".into(), None);
        }
        true
    }

    /// The clicker's "previous" (PageUp, or `b`): back to the previous pause point.
    pub fn backward(self) -> bool {
        let Some(v) = self.open.get_untracked() else {
            return false;
        };
        if v.can_back() {
            self.post("/api/lesson/back".into(), None);
        }
        true
    }

    fn close(self) {
        self.open.set(None);
        self.picked.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = call("POST", "/api/lesson/close", None).await;
        });
    }
}

impl Default for Lessons {
    fn default() -> Lessons {
        Lessons::new()
    }
}

fn use_lessons() -> Lessons {
    expect_context::<Lessons>()
}

/// A lesson route with an optional text body; the answer's text (errors are JSON too).
/// The server's, or this page's engine when it runs its own cluster (`http::request` routes).
async fn call(method: &str, url: &str, body: Option<String>) -> Result<String, String> {
    crate::http::request(method, url, body)
        .await
        .map(|(_, text)| text)
}

/// The top bar's button: one click opens the picker, a second opens a lesson.
#[component]
pub fn LessonsButton() -> impl IntoView {
    let l = use_lessons();
    view! {
        <button class="btn" data-testid="lessons-open" title="Scenarios and lessons"
            on:click=move |_| l.show_picker()>
            <svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M2,3 L8,1.5 L14,3 L14,13 L8,14.5 L2,13 Z" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M8,1.5 L8,14.5" stroke="currentColor" stroke-width="1.4"/></svg>
            <span class="btn-label">"Lessons"</span>
        </button>
    }
}

/// The picker: the built-in lessons, and a teacher's file.
#[component]
pub fn LessonPicker() -> impl IntoView {
    let l = use_lessons();
    let upload = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        wasm_bindgen_futures::spawn_local(async move {
            match crate::http::file_text(file).await {
                Ok(text) => l.post("/api/lesson".into(), Some(text)),
                Err(_) => l
                    .error
                    .set(Some("the file could not be read as text".into())),
            }
        });
    };
    view! {
        <Show when=move || l.picker.get()>
            <div class="overlay" on:click=move |_| l.picker.set(false)>
                <div class="dialog lesson-picker" data-testid="lesson-picker" role="dialog"
                    aria-modal="true" tabindex="-1" aria-label="Lessons" on:click=|ev| ev.stop_propagation()>
                    <crate::components::modal::ModalFocus of="lesson-picker"/>
                    <h2>"Lessons"</h2>
                    <p class="hint">"Each lesson stages a scenario step by step, pausing to ask what will happen."</p>
                    <ul class="lesson-list">
                        <For each=move || l.list.get() key=|x| x.name.clone() let:item>
                            <li>
                                <button class="btn lesson-choice" data-testid=format!("lesson-{}", item.name)
                                    disabled=move || l.busy.get()
                                    on:click={
                                        let url = format!("/api/lessons/{}/open", item.name);
                                        move |_| l.post(url.clone(), None)
                                    }>
                                    <span class="lesson-title">{item.title.clone()}</span>
                                    <span class="lesson-about">{item.about.clone()}</span>
                                </button>
                            </li>
                        </For>
                    </ul>
                    <label class="lesson-upload">
                        <span>"Your own lesson file (docs/lessons.md): "</span>
                        <input type="file" accept=".lesson,.txt,text/plain" data-testid="lesson-file"
                            on:change=upload/>
                    </label>
                    {move || l.error.get().map(|e| view! {
                        <p class="lesson-error" role="alert" data-testid="lesson-error">{e}</p>
                    })}
                    <div class="dialog-buttons">
                        <button class="btn" data-testid="lesson-picker-close"
                            on:click=move |_| l.picker.set(false)>"Close"</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

/// The open lesson: heading, caption, the question, and the buttons to move on.
#[component]
pub fn LessonPanel() -> impl IntoView {
    let l = use_lessons();
    let ctx = use_ctx();
    // A viewer's page asks the question in its own card (components::prediction), without
    // the presenter's Back / Reveal / Next.
    let v = move || {
        l.open
            .get()
            .filter(|_| ctx.role.get() != Some(ConnectionRole::Viewer))
            // A sandbox is the student's own: the class's lesson goes on without it.
            .filter(|_| ctx.engine.get().has_lessons())
    };
    // A lesson just opened where its panel is out of sight (on a one-column page, a phone or a
    // narrow window, it is below the ring) looked only like a paused run. Bring it into view,
    // once per lesson (not at each step: the reader may be looking at the ring).
    let opened = Memo::new(move |_| v().map(|v| (v.name, v.title)));
    Effect::new(move |previous: Option<Option<(String, String)>>| {
        let now = opened.get();
        if now.is_some() && previous.is_some_and(|p| p != now) {
            on_screen::bring_into_view("lesson-panel", 0.0);
        }
        now
    });
    // Each step draws the panel anew, dropping the focus of whoever pressed Back, Reveal or
    // Next: it is put back. Only after a press of those buttons: a clicker's PageDown leaves the
    // focus where it was (moving it drew a focus ring around the heading on the projector).
    let pressed = StoredValue::new(false);
    let step = Memo::new(move |_| v().map(|v| (v.progress(), v.question.and_then(|q| q.answer))));
    Effect::new(move |_| {
        if step.get().is_some() && pressed.get_value() {
            pressed.set_value(false);
            crate::components::modal::refocus_if_lost(&["lesson-verdict", "lesson-heading"]);
        }
    });
    // Where the panel scrolls inside a short screen (the presenter's side column at 1280x720),
    // a new step starts at its top (the panel keeps its scroll across steps: after a reveal the
    // last step of Figure 8 opened mid-sentence), and a revealed answer, at the panel's foot, is
    // scrolled up only as far as it takes to show it, keeping as much of the question and the
    // room's tally in sight as fits.
    let revealed = Memo::new(move |_| {
        v().and_then(|v| v.question)
            .is_some_and(|q| q.answer.is_some())
    });
    Effect::new(move |_| {
        if step.get().is_none() {
            return;
        }
        let revealed = revealed.get_untracked();
        request_animation_frame(move || {
            let Some(panel) = on_screen::by_testid("lesson-panel") else {
                return;
            };
            match on_screen::by_testid("lesson-verdict").filter(|_| revealed) {
                Some(verdict) => {
                    let options = web_sys::ScrollIntoViewOptions::new();
                    options.set_block(web_sys::ScrollLogicalPosition::Nearest);
                    verdict.scroll_into_view_with_scroll_into_view_options(&options);
                }
                None => panel.set_scroll_top(0),
            }
        });
    });
    // "Watch the step": the reveal jumped to the step's outcome; the timeline can show the
    // instants in between (history::play). Only where the run has a timeline.
    let history = use_context::<History>();
    let playing = move || history.is_some_and(|h| h.playing.get());
    view! {
        {move || v().map(|v| {
            let asking = v.asking();
            let (can_back, can_next) = (v.can_back(), v.can_next());
            let timeline = history.filter(|_| ctx.engine.get_untracked().has_timeline());
            let replay = v.step_from_ms.zip(timeline).map(|(from, history)| {
                view! {
                    <button class="btn" data-testid="lesson-replay" disabled=playing
                        title="Play the step again, slowly, from the run's history; then back to where it ended"
                        on:click=move |_| history.play(ctx, from)>"Watch the step"</button>
                }
            });
            // The last stop: no greyed-out Next to wonder about; the panel says it is over.
            let at_end = !asking && !can_next;
            let verdict = move || l.open.get().and_then(|v| v.verdict(l.picked.get()));
            let question = v.question.clone().map(|q| {
                let why = q.why.clone();
                let answer = q.answer;
                view! {
                    <div class="lesson-question" data-testid="lesson-question">
                        <p class="lesson-ask">{q.text.clone()}</p>
                        <div class="lesson-choices">
                            {q.choices.iter().enumerate().map(|(i, c)| view! {
                                <button class="btn chip" data-testid=format!("lesson-choice-{i}")
                                    class:picked=move || l.picked.get() == Some(i)
                                    class:right=move || answer == Some(i)
                                    aria-pressed=move || (l.picked.get() == Some(i)).to_string()
                                    disabled=!asking
                                    on:click=move |_| l.picked.set(Some(i))>{c.clone()}</button>
                            }).collect_view()}
                        </div>
                        <PresenterTally/>
                        {verdict().map(|t| view! { <p class="lesson-verdict" data-testid="lesson-verdict" role="status" tabindex="-1">{t}</p> })}
                        {why.map(|w| view! { <p class="lesson-why" data-testid="lesson-why">{w}</p> })}
                    </div>
                }
            });
            view! {
                <section class="panel lesson" aria-label="Lesson" data-testid="lesson-panel">
                    <h2>{v.title.clone()} " " <span class="hint">{v.progress()}</span></h2>
                    <h3 class="lesson-heading" data-testid="lesson-heading" tabindex="-1">{v.heading.clone()}</h3>
                    {(!v.caption.is_empty()).then(|| view! {
                        <p class="lesson-caption" data-testid="lesson-caption">{v.caption.clone()}</p>
                    })}
                    {question}
                    {at_end.then(|| view! {
                        <p class="lesson-end" data-testid="lesson-end">
                            "The end of this lesson. Close it and the cluster stays as it is: \
                             Resume lets it run on."
                        </p>
                    })}
                    <div class="lesson-buttons">
                        <button class="btn" data-testid="lesson-back" disabled=move || !can_back || l.busy.get()
                            on:click=move |_| { pressed.set_value(true); l.post("/api/lesson/back".into(), None) }>"Back"</button>
                        {if asking {
                            view! {
                                <button class="btn primary" data-testid="lesson-reveal" disabled=move || l.busy.get()
                                    title="Run the step and show the answer"
                                    on:click=move |_| { pressed.set_value(true); l.post("/api/lesson/reveal".into(), None) }>"Reveal"</button>
                            }.into_any()
                        } else if !at_end {
                            view! {
                                <button class="btn primary" data-testid="lesson-next" disabled=move || !can_next || l.busy.get()
                                    on:click=move |_| { pressed.set_value(true); l.post("/api/lesson/next".into(), None) }>"Next"</button>
                            }.into_any()
                        } else {
                            ().into_any()
                        }}
                        {replay}
                        <button class="btn" class:primary=at_end data-testid="lesson-close"
                            on:click=move |_| l.close()>"Close"</button>
                    </div>
                    {move || l.error.get().filter(|_| !l.picker.get()).map(|e| view! {
                        <p class="lesson-error" role="alert">{e}</p>
                    })}
                </section>
            }
        })}
    }
}

/// A viewer's page (a student's): the lesson's step as the projector shows it — title, step,
/// heading and caption — so a student at the back can read along. No buttons: the presenter
/// moves the lesson; the question, when there is one, is the card under it
/// (components::prediction).
#[component]
pub fn ViewerLesson() -> impl IntoView {
    let l = use_lessons();
    let ctx = use_ctx();
    move || {
        let viewer = ctx.role.get() == Some(ConnectionRole::Viewer);
        let v = l
            .open
            .get()
            .filter(|_| viewer && ctx.engine.get().has_lessons())?;
        Some(view! {
            <section class="viewer-lesson" data-testid="viewer-lesson" aria-label="The lesson">
                <p class="viewer-lesson-title">{v.title.clone()} " " <span class="hint">{v.progress()}</span></p>
                <h3 class="lesson-heading" data-testid="viewer-lesson-heading">{v.heading.clone()}</h3>
                {(!v.caption.is_empty()).then(|| view! {
                    <p class="lesson-caption" data-testid="viewer-lesson-caption">{v.caption.clone()}</p>
                })}
                // The last stop, as the projector says it (a student's card just stayed put).
                {(!v.asking() && !v.can_next()).then(|| view! {
                    <p class="lesson-end" data-testid="viewer-lesson-end">"The end of this lesson."</p>
                })}
            </section>
        })
    }
}
