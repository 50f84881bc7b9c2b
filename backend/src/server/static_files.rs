//! The built frontend's files, served safely and cheaply: nothing outside the static directory
//! (symlinks are resolved and checked), no dotfiles, precompressed `.br`/`.gz` siblings when the
//! browser takes them, cache headers by kind of file, and headers that fit the page (`nosniff`,
//! a content security policy). Owns those rules; must not know about the API or the WebSocket.
//!
//! Caching: trunk puts a content hash in every asset name (`app-0123456789abcdef_bg.wasm`), so
//! those never change and are cached for a year (`immutable`); everything else, `index.html`
//! above all, is revalidated on every load (`no-cache`).
//!
//! The policy allows what a Leptos/wasm-bindgen page needs: its own scripts plus the inline
//! module script trunk writes into `index.html` (allowed by its SHA-256, computed from the file
//! being served), compiling WebAssembly (`'wasm-unsafe-eval'`), inline style attributes (the page
//! places log cells with them), and WebSockets to the server.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

use super::ServerError;

/// The longest file name served: Linux's and macOS's `NAME_MAX` (255) less the `.br` or `.gz`
/// that the precompressed sibling adds (ServeDir opens `name.br` too, and a 253-byte name made
/// that one too long: a 500 again).
const NAME_BYTES_MAX: usize = 255 - 3;
/// The longest path served: far beyond any file of the page, well within `PATH_MAX`.
const PATH_BYTES_MAX: usize = 1024;

/// Serve `request` from `dir` (which holds an `index.html`).
pub(super) async fn serve(dir: &Path, request: Request) -> Result<Response, ServerError> {
    let path = percent_decode(request.uri().path());
    if !is_safe(dir, &path) {
        return Ok(not_found());
    }
    let is_html = path.ends_with('/') || path.ends_with(".html");
    let mut service = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let mut response = match service.try_call(request).await {
        Ok(response) => response.map(Body::new),
        Err(e) => {
            return Err(ServerError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read a static file: {e}"),
            ))
        }
    };
    let html = if is_html {
        let index = dir.join(path.trim_start_matches('/')).join("index.html");
        let file = if path.ends_with('/') {
            index
        } else {
            dir.join(path.trim_start_matches('/'))
        };
        Some(tokio::fs::read_to_string(&file).await.unwrap_or_default())
    } else {
        None
    };
    set_headers(response.headers_mut(), &path, html.as_deref());
    Ok(response)
}

/// The headers every file of the page gets, from a directory or from the binary: `nosniff`,
/// `Vary`, the cache rule by kind of file, and on an HTML page (`html`: its text) the content
/// security policy that allows its inline scripts.
pub(super) fn set_headers(headers: &mut HeaderMap, path: &str, html: Option<&str>) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let cache = if html.is_none() && is_hashed(path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Some(html) = html {
        if let Ok(csp) = HeaderValue::from_str(&content_security_policy(html)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// True when `path` names nothing hidden and, with symlinks resolved, stays inside `dir` (also
/// for the `.br`/`.gz` siblings and the `index.html` a directory stands for).
fn is_safe(dir: &Path, path: &str) -> bool {
    if path.len() > PATH_BYTES_MAX {
        return false;
    }
    let relative = PathBuf::from(path.trim_start_matches('/'));
    for component in relative.components() {
        match component {
            // A name longer than any file's (NAME_MAX) is no file of the page: the file system
            // refused it with an error, which was answered 500 and logged as one.
            Component::Normal(name) if name.len() > NAME_BYTES_MAX => return false,
            Component::Normal(name) if !name.to_string_lossy().starts_with('.') => {}
            _ => return false, // "..", a root, or a dotfile such as .env or .git
        }
    }
    let Ok(root) = dir.canonicalize() else {
        return false;
    };
    let file = dir.join(&relative);
    let mut candidates = vec![file.clone(), file.join("index.html")];
    for suffix in [".br", ".gz"] {
        let mut sibling = file.clone().into_os_string();
        sibling.push(suffix);
        candidates.push(sibling.into());
    }
    candidates
        .iter()
        .all(|candidate| match candidate.canonicalize() {
            Ok(real) => real.starts_with(&root),
            Err(_) => true, // does not exist: ServeDir answers 404
        })
}

/// `%xx` escapes decoded, so `/%2eenv` is seen as `/.env`.
pub(super) fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Does the file name carry trunk's content hash (`name-<16+ hex digits>[_bg].ext`)?
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() >= 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The policy for a page whose HTML is `html`: its inline scripts are allowed by their hashes.
pub(super) fn content_security_policy(html: &str) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for script in inline_scripts(html) {
        let digest = Sha256::digest(script.as_bytes());
        let hash = base64::engine::general_purpose::STANDARD.encode(digest);
        script_src.push_str(&format!(" 'sha256-{hash}'"));
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )
}

/// The text of every `<script>` element without a `src` attribute.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let open_tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !open_tag.contains(" src=") {
            scripts.push(&body[..close]);
        }
        rest = &body[close + "</script>".len()..];
    }
    scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_asset_names_are_hashed_and_others_are_not() {
        assert!(is_hashed("/logscope-frontend-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("/logscope-frontend-0123456789abcdef.js"));
        assert!(is_hashed("/style-93c1e5d8d63c1f2a.css"));
        // The in-browser engine's files (scripts/build-page.sh).
        assert!(is_hashed("/logscope-engine-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("/engine-worker-0123456789abcdef.js"));
        assert!(!is_hashed("/index.html"));
        assert!(!is_hashed("/favicon.svg"));
        assert!(!is_hashed("/logscope-frontend.js"));
    }

    #[test]
    fn inline_scripts_are_allowed_by_hash_and_nothing_else() {
        let html = r#"<script type="module">import init from '/a.js';</script>
            <script src="/b.js"></script>"#;
        assert_eq!(inline_scripts(html), vec!["import init from '/a.js';"]);
        let csp = content_security_policy(html);
        assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
        assert!(!csp.contains("'unsafe-inline' 'sha"), "{csp}");
    }

    #[test]
    fn escapes_are_decoded_before_the_dotfile_check() {
        assert_eq!(percent_decode("/%2eenv"), "/.env");
        assert_eq!(percent_decode("/a%20b"), "/a b");
        assert_eq!(percent_decode("/100%"), "/100%");
    }
}
