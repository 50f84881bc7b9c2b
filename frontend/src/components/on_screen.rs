//! Bringing a part of the page into sight when something drew or highlighted it off screen (on a
//! one-column page it can be a screen or two below). Owns only the looking and the scrolling:
//! when to do it is the caller's.

/// The page's element `[data-testid=testid]`, if drawn.
pub fn by_testid(testid: &str) -> Option<web_sys::Element> {
    web_sys::window()?
        .document()?
        .query_selector(&format!("[data-testid={testid}]"))
        .ok()
        .flatten()
}

/// The window's height in CSS px (0 when unknown).
pub fn window_height() -> f64 {
    web_sys::window()
        .and_then(|w| w.inner_height().ok())
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0)
}

/// After the next frame (once what changed is laid out), scroll `[data-testid=testid]` to the
/// top of the window if less than `margin_px` of it shows; leave it alone when it is in sight.
pub fn bring_into_view(testid: &'static str, margin_px: f64) {
    leptos::prelude::request_animation_frame(move || {
        let Some(target) = by_testid(testid) else {
            return;
        };
        let r = target.get_bounding_client_rect();
        if r.bottom() < margin_px || r.top() > window_height() - margin_px {
            target.scroll_into_view_with_bool(true);
        }
    });
}
