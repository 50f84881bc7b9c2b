//! Build script: the page built into the binary. With the `embed` feature it writes a table of
//! the built page's files (`dist/` beside the workspace, or the directory `LOGSCOPE_PAGE_DIR`
//! names; scripts/build-binary.sh builds it first) for `server::embedded` to serve, each file
//! by `include_bytes!`; without the feature it writes an empty table, so `cargo build` and
//! `cargo test` never need a built page. Must not build the page itself (that takes the wasm32
//! target and the wasm-bindgen CLI: scripts/build-page.sh).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=LOGSCOPE_PAGE_DIR");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let table = out.join("embedded_page.rs");
    if env::var_os("CARGO_FEATURE_EMBED").is_none() {
        write(&table, "&[]");
        return;
    }
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = env::var_os("LOGSCOPE_PAGE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("..").join("dist"));
    // A directory: cargo looks at every file in it, so a rebuilt page is embedded again.
    println!("cargo:rerun-if-changed={}", dir.display());
    if !dir.join("index.html").is_file() {
        panic!(
            "the `embed` feature builds the page into the binary, but {} has no index.html: \
             build it first (scripts/build-page.sh dist && scripts/compress-dist.sh dist), or \
             run scripts/build-binary.sh, which does",
            dir.display()
        );
    }
    let dir = dir.canonicalize().expect("the page directory exists");
    let mut files = Vec::new();
    collect(&dir, &dir, &mut files);
    files.sort();
    let mut text = String::from("&[\n");
    for (name, path) in &files {
        text.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    text.push(']');
    write(&table, &text);
}

/// Every file under `dir` (no dotfiles), as (path relative to `root` with `/`, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.as_deref().is_none_or(|n| n.starts_with('.')) {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under the root");
            let relative: Vec<_> = relative.iter().map(|c| c.to_string_lossy()).collect();
            files.push((relative.join("/"), path.to_string_lossy().into_owned()));
        }
    }
}

fn write(path: &Path, table: &str) {
    // An expression, for `include!` in server/embedded.rs: (path, contents) of each file.
    let text = format!("// The built page's files, written by build.rs.\n{table}\n");
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
