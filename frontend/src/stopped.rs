//! The banner across the top of the page when the page or its in-browser engine has stopped for
//! good (a panic: wasm32 aborts, so the module is dead; a worker that failed to load or died).
//! Without it every button would silently do nothing. Owns that banner; must not try to recover:
//! a reload is the way back, and the cluster survives it (on the server, or in this browser's
//! storage for the in-browser engine).

/// Put `sentence` across the top of the page (once: a second stop keeps the first sentence,
/// which names the cause).
pub fn show(sentence: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id("stopped").is_some() {
        return;
    }
    let (Ok(banner), Some(body)) = (document.create_element("div"), document.body()) else {
        return;
    };
    banner.set_id("stopped");
    banner.set_class_name("crashed");
    let _ = banner.set_attribute("role", "alert");
    let _ = banner.set_attribute("data-testid", "crashed");
    banner.set_text_content(Some(sentence));
    let _ = body.prepend_with_node_1(&banner);
}
