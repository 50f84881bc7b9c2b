//! The page built into the binary (the `embed` feature; build.rs writes the table of files):
//! served by the same rules as a static directory (static_files.rs) — the `.br`/`.gz` sibling a
//! browser accepts, cache headers by kind of file, `nosniff`, the content security policy — from
//! memory. Owns looking a request up in a table of files and choosing its encoding; must not know
//! about the API or the WebSocket. The table is a parameter, so the rules are tested natively
//! with a table of their own, without a built page.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::static_files::{percent_decode, set_headers};

/// The page's files in this binary: (path under the page's root, contents). Empty unless built
/// with the `embed` feature.
pub(super) static PAGE: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/embedded_page.rs"));

/// True when this binary carries a page (`embed` feature, with `index.html`).
pub fn has_page() -> bool {
    find(PAGE, "index.html").is_some()
}

/// Serve `request` from `files`.
pub(super) fn serve(files: &'static [(&str, &[u8])], request: &Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
    }
    let path = percent_decode(request.uri().path());
    let mut name = path.trim_start_matches('/').to_string();
    if name.is_empty() || name.ends_with('/') {
        name.push_str("index.html");
    }
    // The table holds no dotfiles and nothing outside the page: a name is found or it is not.
    let Some(plain) = find(files, &name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let (body, encoding) = match accepted_sibling(files, &name, request.headers()) {
        Some((sibling, encoding)) => (sibling, Some(encoding)),
        None => (plain, None),
    };
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&name)),
    );
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    let html = name
        .ends_with(".html")
        .then(|| String::from_utf8_lossy(plain));
    set_headers(headers, &name, html.as_deref());
    response
}

fn find(files: &'static [(&str, &[u8])], name: &str) -> Option<&'static [u8]> {
    files
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// The compressed sibling of `name` to send, brotli before gzip, when the browser takes it and
/// the table has it: (contents, `Content-Encoding`).
fn accepted_sibling(
    files: &'static [(&str, &[u8])],
    name: &str,
    headers: &HeaderMap,
) -> Option<(&'static [u8], &'static str)> {
    let accepted = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(encoding, _)| accepts(&accepted, encoding))
        .find_map(|(encoding, suffix)| {
            find(files, &format!("{name}{suffix}")).map(|bytes| (bytes, encoding))
        })
}

/// Does the `Accept-Encoding` value `accepted` take `encoding` (named, or `*`, without `q=0`)?
fn accepts(accepted: &str, encoding: &str) -> bool {
    accepted.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let token = parts.next().unwrap_or("");
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (token.eq_ignore_ascii_case(encoding) || token == "*") && !refused
    })
}

/// The `Content-Type` of a page file, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILES: &[(&str, &[u8])] = &[
        ("index.html", b"<script type=\"module\">go()</script>"),
        ("app-0123456789abcdef_bg.wasm", b"plain wasm"),
        ("app-0123456789abcdef_bg.wasm.br", b"brotli wasm"),
        ("app-0123456789abcdef_bg.wasm.gz", b"gzip wasm"),
        ("style-0123456789abcdef.css", b"body{}"),
        ("style-0123456789abcdef.css.gz", b"gzip css"),
    ];

    fn get(path: &str, accept_encoding: Option<&str>) -> Response {
        let mut request = Request::builder().uri(path);
        if let Some(value) = accept_encoding {
            request = request.header(header::ACCEPT_ENCODING, value);
        }
        serve(FILES, &request.body(Body::empty()).unwrap())
    }

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec()
    }

    fn header_of(response: &Response, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn the_best_accepted_sibling_is_sent_with_its_encoding() {
        let wasm = "/app-0123456789abcdef_bg.wasm";
        let r = get(wasm, Some("gzip, deflate, br"));
        assert_eq!(header_of(&r, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(
            header_of(&r, header::CONTENT_TYPE),
            Some("application/wasm")
        );
        assert_eq!(body(r).await, b"brotli wasm");
        let r = get(wasm, Some("gzip"));
        assert_eq!(header_of(&r, header::CONTENT_ENCODING), Some("gzip"));
        assert_eq!(body(r).await, b"gzip wasm");
        let r = get(wasm, Some("br;q=0, gzip;q=0.5"));
        assert_eq!(header_of(&r, header::CONTENT_ENCODING), Some("gzip"));
        let r = get(wasm, None);
        assert_eq!(header_of(&r, header::CONTENT_ENCODING), None);
        assert_eq!(body(r).await, b"plain wasm");
        // No brotli sibling for the stylesheet: gzip, though brotli comes first.
        let r = get("/style-0123456789abcdef.css", Some("br, gzip"));
        assert_eq!(header_of(&r, header::CONTENT_ENCODING), Some("gzip"));
        assert_eq!(header_of(&r, header::VARY), Some("accept-encoding"));
    }

    #[tokio::test]
    async fn hashed_assets_are_immutable_and_the_page_is_revalidated_with_its_policy() {
        let r = get("/app-0123456789abcdef_bg.wasm", Some("br"));
        assert_eq!(
            header_of(&r, header::CACHE_CONTROL),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(
            header_of(&r, header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff")
        );
        let r = get("/", Some("br"));
        assert_eq!(header_of(&r, header::CACHE_CONTROL), Some("no-cache"));
        assert_eq!(
            header_of(&r, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        let csp = header_of(&r, header::CONTENT_SECURITY_POLICY).unwrap();
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
        assert_eq!(body(r).await, FILES[0].1);
    }

    #[tokio::test]
    async fn unknown_hidden_and_escaping_paths_are_not_found_and_writes_are_refused() {
        for path in [
            "/nope.js",
            "/.env",
            "/../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/index.html.br",
        ] {
            assert_eq!(get(path, None).status(), StatusCode::NOT_FOUND, "{path}");
        }
        let post = Request::builder()
            .method(Method::POST)
            .uri("/")
            .body(Body::empty());
        assert_eq!(
            serve(FILES, &post.unwrap()).status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn a_binary_built_without_the_feature_carries_no_page() {
        assert_eq!(has_page(), cfg!(feature = "embed"));
    }
}
