//! What a key press landed on: a field being typed in, or a control the keyboard focused. The
//! page's shortcuts (`app::on_key`, the timeline's) ask here, so that they leave both alone; this
//! module decides nothing else.

use std::cell::Cell;

use wasm_bindgen::JsCast;

fn target(ev: &web_sys::KeyboardEvent) -> Option<web_sys::Element> {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
}

/// True when the key goes into a text field, a list or a text area. The range sliders are not
/// typed in: they keep the focus after a drag and take only the arrows, so the page's letters
/// (k, c, space…) still act there.
pub fn is_typing(ev: &web_sys::KeyboardEvent) -> bool {
    target(ev).is_some_and(|el| {
        let tag = el.tag_name().to_ascii_lowercase();
        let slider = el.get_attribute("type").as_deref() == Some("range");
        (tag == "input" && !slider) || tag == "textarea" || tag == "select"
    })
}

thread_local! {
    /// Whether the focus was last moved by a pointer (a click, a tap) rather than by Tab.
    static FOCUS_BY_POINTER: Cell<bool> = const { Cell::new(false) };
}

/// A pointer was pressed somewhere: the focus, if it moves, moves by click.
pub fn pointer_pressed() {
    FOCUS_BY_POINTER.with(|f| f.set(true));
}

/// Tab or Shift+Tab was pressed: the focus moves by keyboard.
pub fn tab_pressed() {
    FOCUS_BY_POINTER.with(|f| f.set(false));
}

/// True when Space should press the focused control rather than pause the run: a student who
/// tabbed to "Crash S3" expects Space to crash it. A control focused by a click keeps the focus,
/// and there Space still pauses, as a lecturer who just clicked "Step" and reaches for the space
/// bar expects. (`:focus-visible` cannot tell the two apart here: the key being pressed already
/// makes the browser show the focus.)
pub fn space_presses_control(ev: &web_sys::KeyboardEvent) -> bool {
    let by_pointer = FOCUS_BY_POINTER.with(Cell::get);
    !by_pointer
        && target(ev).is_some_and(|el| {
            el.matches("button, a[href], summary, [role=button], [role=checkbox], [role=switch]")
                .unwrap_or(false)
        })
}
