//! The classroom's plain parts: turning the page's highlight into the protocol's and back (follow
//! mode sends the presenter's, viewers apply it), and drawing the viewer URL's QR code as one
//! SVG path. Plain functions, unit-tested natively; must not touch Leptos or the browser.

use qrcodegen::{QrCode, QrCodeEcc};
use shared::protocol::Highlight;

use crate::model::Focus;

/// The protocol's form of what the page highlights.
pub fn highlight_of(focus: Focus) -> Option<Highlight> {
    Some(match focus {
        Focus::None => return None,
        Focus::Node(node) => Highlight::Node { node },
        Focus::Entry(index) => Highlight::Entry { index },
        Focus::NodeEntry(node, index) => Highlight::NodeEntry { node, index },
        Focus::Message(message) => Highlight::Message { message },
        Focus::Link(a, b) => Highlight::Link { a, b },
    })
}

/// What the page highlights for the presenter's `highlight`.
pub fn focus_of(highlight: Option<Highlight>) -> Focus {
    match highlight {
        None => Focus::None,
        Some(Highlight::Node { node }) => Focus::Node(node),
        Some(Highlight::Entry { index }) => Focus::Entry(index),
        Some(Highlight::NodeEntry { node, index }) => Focus::NodeEntry(node, index),
        Some(Highlight::Message { message }) => Focus::Message(message),
        Some(Highlight::Link { a, b }) => Focus::Link(a, b),
    }
}

/// A QR code as SVG: `size` modules square plus a quiet zone of [`QUIET`] on each side, and one
/// path of unit squares for the dark modules (one element, however many modules).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrSvg {
    /// The `viewBox` side: modules plus the quiet zone on both sides.
    pub view_side: usize,
    /// The `d` of the dark modules' path.
    pub path: String,
}

/// The white margin a reader needs around the code (4 modules, per the QR standard).
pub const QUIET: usize = 4;

/// The QR code of `text` (medium error correction: still reads on a projector with glare), or
/// `None` if it does not fit a QR code (a URL never comes close).
pub fn qr_svg(text: &str) -> Option<QrSvg> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = qr.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                let (px, py) = (x as usize + QUIET, y as usize + QUIET);
                path.push_str(&format!("M{px},{py}h1v1h-1z"));
            }
        }
    }
    Some(QrSvg {
        view_side: size as usize + 2 * QUIET,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::types::{LogIndex, NodeId};

    #[test]
    fn every_highlight_survives_the_trip_to_viewers() {
        for focus in [
            Focus::None,
            Focus::Node(NodeId(2)),
            Focus::Entry(LogIndex(5)),
            Focus::NodeEntry(NodeId(1), LogIndex(3)),
            Focus::Message(42),
            Focus::Link(NodeId(1), NodeId(4)),
        ] {
            assert_eq!(focus_of(highlight_of(focus)), focus, "{focus:?}");
        }
    }

    #[test]
    fn the_qr_code_of_a_url_has_its_finder_patterns_and_quiet_zone() {
        let qr = qr_svg("http://192.168.1.20:7878/").expect("a URL fits");
        // Version 2 (25 modules) holds this URL at level M; plus 4 quiet modules each side.
        assert_eq!(qr.view_side, 25 + 2 * QUIET);
        // The three finder patterns' corners are dark; nothing is drawn in the quiet zone.
        for (x, y) in [(0, 0), (24, 0), (0, 24)] {
            let square = format!("M{},{}h1v1h-1z", x + QUIET, y + QUIET);
            assert!(qr.path.contains(&square), "corner ({x},{y})");
        }
        assert!(!qr.path.contains("M3,") && !qr.path.contains(",3h"));
        // The same text always gives the same picture (the page redraws it on every render).
        assert_eq!(qr_svg("http://192.168.1.20:7878/"), Some(qr));
    }
}
