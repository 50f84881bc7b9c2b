//! The keyboard's way through a dialog (help, New cluster, the lesson picker): the focus moves
//! into it when it opens, Tab stays inside it while it is open, and the focus goes back to what
//! had it (the button that opened it) when it closes; and a focus that a redraw dropped (the
//! lesson panel's Next) put back. It draws nothing and must not close dialogs: each dialog's own
//! signal does that.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;

use crate::components::on_screen;

/// What Tab may land on inside a dialog.
const FOCUSABLE: &str = "input:not([type=hidden]):not([disabled]), select:not([disabled]), \
     textarea:not([disabled]), button:not([disabled]), a[href], [tabindex]:not([tabindex='-1'])";

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

/// The dialog `[data-testid=testid]` and the elements Tab may land on inside it, in order.
fn dialog_and_stops(testid: &str) -> Option<(web_sys::Element, Vec<web_sys::HtmlElement>)> {
    let dialog = on_screen::by_testid(testid)?;
    let list = dialog.query_selector_all(FOCUSABLE).ok()?;
    let stops = (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    Some((dialog, stops))
}

/// Placed inside a dialog's `<Show>`: lives exactly as long as the dialog is drawn. Without
/// it a keyboard user opening help had 35 Tabs to go through the page behind it, and after
/// closing, the focus was nowhere.
#[component]
pub fn ModalFocus(
    /// The dialog element's `data-testid`.
    of: &'static str,
) -> impl IntoView {
    // Wrapped: cleanups must be `Send`, and this page has one thread.
    // An element, not only an HTML one: a server on the ring (SVG) can have opened it.
    let opener = SendWrapper::new(document().and_then(|d| d.active_element()));
    // After this frame the dialog is in the document. The focus goes to its field marked
    // `data-autofocus` (New cluster's first number), else to the dialog itself (which has
    // `tabindex="-1"`): a screen reader then reads the dialog's name, and Tab goes on inside it.
    // Not to its first button: the picker's list of lessons may not have arrived yet.
    request_animation_frame(move || {
        let Some(dialog) = on_screen::by_testid(of) else {
            return;
        };
        let target = dialog
            .query_selector("[data-autofocus]")
            .ok()
            .flatten()
            .unwrap_or(dialog);
        if let Ok(target) = target.dyn_into::<web_sys::HtmlElement>() {
            let _ = target.focus();
        }
    });
    let tab = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() != "Tab" {
            return;
        }
        let Some((dialog, stops)) = dialog_and_stops(of) else {
            return;
        };
        let (Some(first), Some(last)) = (stops.first(), stops.last()) else {
            return;
        };
        let active = document().and_then(|d| d.active_element());
        let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a)));
        let at = |el: &web_sys::HtmlElement| active.as_ref() == Some(el.unchecked_ref());
        let on_dialog = active.as_ref() == Some(&dialog);
        // Wrap around at either end, and pull a focus that escaped (a click on the page
        // behind) back in.
        let to = if !inside {
            Some(first)
        } else if ev.shift_key() && (at(first) || on_dialog) {
            Some(last)
        } else if !ev.shift_key() && at(last) {
            Some(first)
        } else {
            None
        };
        if let Some(to) = to {
            ev.prevent_default();
            let _ = to.focus();
        }
    });
    on_cleanup(move || {
        tab.remove();
        if let Some(opener) = opener.take() {
            // The opener may be gone (the picker's lesson button after a lesson opened):
            // focusing a detached element does nothing.
            // `focus` is the same method on SVG elements.
            let _ = opener.unchecked_ref::<web_sys::HtmlElement>().focus();
        }
    });
}

/// After the next frame: if the focus fell to the page's body (the element that had it was
/// drawn anew, as the lesson panel's Reveal and Next are at each step), move it to the first
/// of `testids` present, without scrolling. A screen reader then reads the new step's heading
/// or the verdict; a keyboard user goes on from there instead of from the top of the page.
pub fn refocus_if_lost(testids: &'static [&'static str]) {
    request_animation_frame(move || {
        let Some(d) = document() else {
            return;
        };
        let lost = d
            .active_element()
            .is_none_or(|a| Some(a) == d.body().map(Into::into));
        if !lost {
            return;
        }
        let target = testids.iter().find_map(|id| on_screen::by_testid(id));
        if let Some(target) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
            let options = web_sys::FocusOptions::new();
            options.set_prevent_scroll(true);
            let _ = target.focus_with_options(&options);
        }
    });
}
