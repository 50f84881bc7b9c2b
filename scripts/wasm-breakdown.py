#!/usr/bin/env python3
"""Where the page's wasm bytes go, by part, raw and brotli-compressed: an estimate to read
beside `twiggy top` (which names single items but does not compress).

Reads a module that still has its `name` section (build it with names kept, see
docs/bench-frontend.md), puts every function body in one part by its symbol name (first rule
that matches, in the order of PARTS below), and prints per part: the raw body bytes and the
bytes `brotli --best` makes of that part's bodies alone. Parts compressed alone lose the
context they share with the rest of the module, so their brotli figures add up to more than
the whole module's; the share column scales them to the real total. The data section (string
constants, tables) is one more part. Usage: scripts/wasm-breakdown.py MODULE.wasm
"""

import re
import subprocess
import sys

# (part, pattern on the demangled name): the first match wins, so the specific rules come first.
PARTS = [
    ("serde: derived (de)serializers of the wire types", r"impl serde(_core)?::(de::Deserialize|ser::Serialize) for (shared|logscope_frontend|logscope_engine)|as serde(_core)?::de::(Deserialize|Visitor|DeserializeSeed)\b|__Visitor|__FieldVisitor|__Field|as serde(_core)?::ser::Serialize>"),
    ("serde: Content buffering (internally tagged enums, flatten)", r"private::de|Content|FlatMap"),
    ("serde: serde_json and serde's own code", r"serde_json|serde_core|serde::"),
    ("frontend: views, reducer, glue (logscope_frontend)", r"logscope_frontend"),
    ("engine: the worker's session, lessons and history (logscope_engine)", r"logscope_engine"),
    ("shared: protocol, Raft, simulator, lessons, traces (crate `shared`)", r"^<?shared::|<shared::"),
    ("compression (miniz_oxide, base64: share links)", r"miniz_oxide|base64|adler"),
    ("leptos: tachys (DOM rendering)", r"tachys"),
    ("leptos: reactive_graph (signals, memos, effects)", r"reactive_graph|any_spawner|or_poisoned"),
    ("leptos: leptos, leptos_dom, other leptos crates", r"leptos|throw_error|hydration_context|oco_ref|next_tuple|send_wrapper"),
    ("wasm-bindgen, js-sys, web-sys, futures", r"wasm_bindgen|js_sys|web_sys|futures|__wbg|__wbindgen"),
    ("QR code (qrcodegen)", r"qrcodegen"),
    ("std: formatting (core::fmt, alloc::fmt, Display/Debug)", r"core::fmt|alloc::fmt|fmt::Display|fmt::Debug|fmt::Write|float::|num::flt2dec|num::dec2flt|num::fmt"),
    ("std: panics and unwrap messages", r"panic|unwrap_failed|expect_failed|core::result::unwrap|core::option::expect|console_error_panic_hook|slice_index|str_index|bounds_check|slice_error_fail|assert_failed"),
    ("std: allocator (dlmalloc)", r"dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_"),
    ("std: collections, strings, other core/alloc/std", r"core::|alloc::|std::|hashbrown|memchr|itoa|ryu|compiler_builtins|memcpy|memmove|memset|memcmp"),
]


def leb(buf, pos):
    """Reads an unsigned LEB128 number; returns (value, next position)."""
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def sections(buf):
    """Yields (id, name or None, payload start, payload end) for each section."""
    pos = 8  # magic and version
    while pos < len(buf):
        sid = buf[pos]
        size, pos = leb(buf, pos + 1)
        end = pos + size
        name = None
        if sid == 0:
            n, p = leb(buf, pos)
            name = buf[p : p + n].decode()
        yield sid, name, pos, end
        pos = end


def demangle(sym):
    """Legacy Rust mangling (`_ZN…E`) to a readable path; other names are returned as they are."""
    m = re.match(r"_ZN(.*)E$", sym)
    if not m:
        return sym
    rest, parts = m.group(1), []
    while rest and rest[0].isdigit():
        n = int(re.match(r"\d+", rest).group(0))
        rest = rest[len(str(n)) :]
        parts.append(rest[:n])
        rest = rest[n:]
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    text = "::".join(parts)
    for code, ch in [("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","),
                     ("$u7b$", "{"), ("$u7d$", "}"), ("$u5b$", "["), ("$u5d$", "]"), ("..", "::"),
                     ("$BP$", "*"), ("$u27$", "'"), ("$u3b$", ";"), ("$u21$", "!")]:
        text = text.replace(code, ch)
    return text


def brotli_size(data):
    """Bytes `brotli --best` makes of DATA."""
    out = subprocess.run(["brotli", "--best", "-c"], input=data, capture_output=True, check=True)
    return len(out.stdout)


def main(path):
    buf = open(path, "rb").read()
    imported_functions = 0
    bodies, names, data = [], {}, b""
    for sid, name, start, end in sections(buf):
        if sid == 2:  # imports: functions are numbered after the imported ones
            count, p = leb(buf, start)
            for _ in range(count):
                for _ in range(2):  # module and field names
                    n, p = leb(buf, p)
                    p += n
                kind = buf[p]
                p += 1
                if kind == 0:
                    imported_functions += 1
                    _, p = leb(buf, p)
                elif kind == 1:  # table: element type, limits
                    p += 1
                    flags, p = leb(buf, p)
                    _, p = leb(buf, p)
                    if flags & 1:
                        _, p = leb(buf, p)
                elif kind == 2:  # memory: limits
                    flags, p = leb(buf, p)
                    _, p = leb(buf, p)
                    if flags & 1:
                        _, p = leb(buf, p)
                elif kind == 3:  # global: type, mutability
                    p += 2
        elif sid == 10:
            count, p = leb(buf, start)
            for _ in range(count):
                size, q = leb(buf, p)
                bodies.append(buf[q : q + size])
                p = q + size
        elif sid == 11:
            data = buf[start:end]
        elif name == "name":
            n, p = leb(buf, start)
            p += n
            while p < end:
                sub, p = buf[p], p + 1
                size, p = leb(buf, p)
                if sub == 1:
                    count, q = leb(buf, p)
                    for _ in range(count):
                        idx, q = leb(buf, q)
                        n, q = leb(buf, q)
                        names[idx] = buf[q : q + n].decode(errors="replace")
                        q += n
                p += size
    if not names:
        sys.exit(f"{path} has no name section: build it with names kept (docs/bench-frontend.md)")
    groups = {part: [] for part, _ in PARTS}
    groups["other (unnamed or unmatched)"] = []
    for i, body in enumerate(bodies):
        name = demangle(names.get(imported_functions + i, ""))
        for part, pattern in PARTS:
            if re.search(pattern, name):
                groups[part].append(body)
                break
        else:
            groups["other (unnamed or unmatched)"].append(body)
    groups["data section (strings, tables)"] = [data]
    rows = []
    for part, chunks in groups.items():
        raw = sum(len(c) for c in chunks)
        if raw:
            rows.append((part, len(chunks), raw, brotli_size(b"".join(chunks))))
    total_raw = sum(r[2] for r in rows)
    total_br = sum(r[3] for r in rows)
    whole = brotli_size(buf)
    print(f"module: {len(buf)} B raw, {whole} B brotli (name section included: strip it for the shipped size)")
    print("| part | functions | raw B | raw % | brotli B (alone) | share of brotli |")
    print("|---|---:|---:|---:|---:|---:|")
    for part, n, raw, br in sorted(rows, key=lambda r: -r[3]):
        print(f"| {part} | {n} | {raw} | {100 * raw / total_raw:.1f} % | {br} | {100 * br / total_br:.1f} % |")
    print(f"| **code and data** | {len(bodies)} | {total_raw} | 100 % | {total_br} | 100 % |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
