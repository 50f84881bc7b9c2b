//! The built frontend as the server sends it: nothing outside the static directory (symlinks),
//! no dotfiles, `nosniff` and a content security policy that lets the page's own inline module
//! script and WebAssembly run, precompressed siblings, and cache headers by kind of file. Owns
//! no production code.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::*;

const HASHED: &str = "logscope-frontend-0123456789abcdef_bg.wasm";

fn write(dir: &Path, name: &str, content: &[u8]) {
    std::fs::write(dir.join(name), content).unwrap();
}

async fn get(server: &TestServer, path: &str, accept_encoding: Option<&str>) -> reqwest::Response {
    let mut request = server.http.get(server.url(path));
    if let Some(e) = accept_encoding {
        request = request.header("accept-encoding", e);
    }
    request.send().await.unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap_or(""))
}

#[tokio::test]
async fn static_files_stay_inside_the_directory_and_carry_the_right_headers() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", b"outside secret");
    let dist = tempfile::tempdir().unwrap();
    let script = "import init from '/logscope-frontend-0123456789abcdef.js'; await init();";
    let index = format!("<!doctype html><script type=\"module\">{script}</script>");
    write(dist.path(), "index.html", index.as_bytes());
    write(dist.path(), HASHED, b"\0asm plain");
    write(dist.path(), &format!("{HASHED}.br"), b"brotli bytes");
    write(dist.path(), &format!("{HASHED}.gz"), b"gzip bytes");
    write(dist.path(), ".env", b"TOKEN=dotfile");
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dist.path().join("leak.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), dist.path().join("linked")).unwrap();
    let server = TestServer::start(Options {
        static_dir: Some(dist.path().to_path_buf()),
        ..Options::default()
    })
    .await;

    // Outside the directory, hidden files: not found, whatever the spelling.
    for path in [
        "/leak.txt",
        "/linked/secret.txt",
        "/.env",
        "/%2eenv",
        "/a/../.env",
        // No file has a name this long: 404, not 500 and an error in the log (QA, 2026-12-02).
        &format!("/{}", "a".repeat(256)),
        &format!("/x/{}.js", "b".repeat(300)),
        // Its precompressed sibling's name would be too long (QA's review, 2026-12-02)…
        &format!("/{}", "c".repeat(253)),
        // …and a path longer than any file system takes.
        &"/d".repeat(2100),
    ] {
        // As a browser asks: the precompressed siblings are looked for too.
        let r = get(&server, path, Some("br, gzip")).await;
        assert_eq!(r.status(), 404, "{path}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("secret") && !body.contains("TOKEN"),
            "{path}: {body}"
        );
    }

    // The page: revalidated each time, with a policy that allows its inline script by hash.
    let r = get(&server, "/", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    let csp = header(&r, "content-security-policy").to_string();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
        "{csp}"
    );
    assert!(csp.contains("connect-src 'self' ws: wss:"), "{csp}");
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");

    // A hashed asset: cached for good, precompressed when the browser takes it.
    let r = get(&server, &format!("/{HASHED}"), Some("br, gzip")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-encoding"), "br");
    assert_eq!(
        header(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(header(&r, "vary")
        .to_ascii_lowercase()
        .contains("accept-encoding"));
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"brotli bytes");
    let r = get(&server, &format!("/{HASHED}"), Some("gzip")).await;
    assert_eq!(header(&r, "content-encoding"), "gzip");
    let r = get(&server, &format!("/{HASHED}"), Some("identity")).await;
    assert_eq!(header(&r, "content-encoding"), "");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"\0asm plain");
    server.stop().await;
}
