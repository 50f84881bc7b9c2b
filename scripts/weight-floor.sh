#!/usr/bin/env bash
# The page weight's floor (docs/bench-frontend.md, "The floor under the goal"): three tiny wasm
# pages built exactly as scripts/build-page.sh builds ours (the wasm-release settings: opt-level
# "z", LTO, one codegen unit, stripped; `--cfg erase_components`; the same wasm-bindgen flags),
# each measured with `brotli --best`:
#   bindgen  — no Leptos: one `format!` written to the console (wasm-bindgen, allocator, fmt);
#   counter  — Leptos's counter: one signal, one button;
#   runtime  — one use of each Leptos piece the page uses (signals, memos, effects, <Show>,
#              <For>, a keyed list, an event listener on the window, spawn_local, a context).
# They are built in target/weight-floor/ as a crate of their own, with the workspace's
# Cargo.lock, so Leptos and wasm-bindgen are the versions the page ships.
# Usage: scripts/weight-floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PATH"
root="$PWD"
dir="${CARGO_TARGET_DIR:-target}/weight-floor"
mkdir -p "$dir/src" "$dir/.cargo"
cp Cargo.lock "$dir/Cargo.lock"
bindgen_version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
cat >"$dir/Cargo.toml" <<TOML
[package]
name = "weight-floor"
edition = "2021"
version = "0.1.0"
publish = false

[lib]
crate-type = ["cdylib"]

[features]
counter = ["dep:leptos"]
runtime = ["dep:leptos", "dep:wasm-bindgen-futures"]

[dependencies]
wasm-bindgen = "=$bindgen_version"
web-sys = { version = "0.3", features = ["console"] }
leptos = { version = "0.8", features = ["csr"], optional = true }
wasm-bindgen-futures = { version = "0.4", optional = true }

[workspace]

[profile.release]
opt-level = "z"
lto = true
codegen-units = 1
strip = true
TOML
cp "$root/.cargo/config.toml" "$dir/.cargo/config.toml"
cat >"$dir/src/lib.rs" <<'RUST'
//! Three floors of the page weight (scripts/weight-floor.sh): which one is built is a feature.
use wasm_bindgen::prelude::*;

#[cfg(not(any(feature = "counter", feature = "runtime")))]
#[wasm_bindgen(start)]
pub fn start() {
    let text = format!("logscope {}", opaque_number());
    web_sys::console::log_1(&text.into());
}

#[cfg(not(any(feature = "counter", feature = "runtime")))]
fn opaque_number() -> u64 {
    std::hint::black_box(42)
}

#[cfg(all(feature = "counter", not(feature = "runtime")))]
#[wasm_bindgen(start)]
pub fn start() {
    use leptos::prelude::*;
    mount_to_body(|| {
        let count = RwSignal::new(0);
        view! { <button on:click=move |_| count.update(|n| *n += 1)>{count}</button> }
    });
}

#[cfg(feature = "runtime")]
#[wasm_bindgen(start)]
pub fn start() {
    use leptos::prelude::*;
    #[derive(Clone, Copy)]
    struct Shared(RwSignal<Vec<(u64, String)>>);
    #[component]
    fn Rows() -> impl IntoView {
        let Shared(rows) = expect_context::<Shared>();
        view! {
            <ul>
                <For each=move || rows.get() key=|row| row.0 let:row>
                    <li class:odd=move || row.0 % 2 == 1>{row.1}</li>
                </For>
            </ul>
        }
    }
    mount_to_body(|| {
        let rows = RwSignal::new(Vec::<(u64, String)>::new());
        provide_context(Shared(rows));
        let total = Memo::new(move |_| rows.with(|r| r.len()));
        Effect::new(move |_| web_sys::console::log_1(&total.get().to_string().into()));
        let keys = window_event_listener(leptos::ev::keydown, move |ev| {
            let key = ev.key();
            rows.update(|r| r.push((r.len() as u64, key)));
        });
        on_cleanup(move || keys.remove());
        leptos::task::spawn_local(async move { rows.update(|r| r.clear()) });
        let text = RwSignal::new(String::new());
        let many = move || total.get() > 3; // a `>` inside view! would end the tag
        view! {
            <input prop:value=text on:input=move |ev| text.set(event_target_value(&ev))/>
            <button on:click=move |_| rows.update(|r| r.push((r.len() as u64, text.get())))>"Add"</button>
            <Show when=many fallback=|| "few">"many"</Show>
            <Rows/>
        }
    });
}
RUST
printf '| floor | wasm raw | wasm brotli |\n|---|---:|---:|\n'
for floor in bindgen counter runtime; do
  features=()
  [ "$floor" = bindgen ] || features=(--features "$floor")
  (cd "$dir" && cargo build -q --release --target wasm32-unknown-unknown "${features[@]}")
  built="$dir/target/wasm32-unknown-unknown/release/weight_floor.wasm"
  out="$dir/out-$floor"
  rm -rf "$out"
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$out" --out-name floor "$built" 2> >(grep -v target_features >&2)
  printf '| %s | %s B | %s B |\n' "$floor" "$(wc -c <"$out/floor_bg.wasm")" \
    "$(brotli --best -c "$out/floor_bg.wasm" | wc -c)"
done
