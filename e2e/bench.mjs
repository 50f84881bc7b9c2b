// Frontend benchmark: what a student's browser downloads and how smoothly it draws.
//
//   node e2e/bench.mjs            (after scripts/build-page.sh and cargo build --release -p logscope-backend)
//
// Prints, as a markdown table:
//   1. the shipped wasm (raw and gzip -9) and JS glue sizes in dist/;
//   2. frame times in headless Chromium with 5 servers, 2,000 entries in every log and a network
//      slow enough to keep about 40 messages in flight (median, p95, long tasks);
//   3. the time from clicking "Append" to the entry drawn in the leader's log row, at speed 1.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, startBackend, launch, until, api, cluster, shot } from './lib.mjs';

const ENTRIES = Number(process.env.BENCH_ENTRIES || 2000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS || 10000);
const CLICKS = Number(process.env.BENCH_CLICKS || 25);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

function sizes() {
  const dist = join(ROOT, 'dist');
  const files = readdirSync(dist);
  const wasm = files.find((f) => f.endsWith('.wasm'));
  const js = files.find((f) => f.endsWith('.js'));
  const css = files.find((f) => f.endsWith('.css'));
  const raw = (f) => statSync(join(dist, f)).size;
  const gz = (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
  return {
    wasm_raw: raw(wasm), wasm_gzip: gz(wasm),
    js_raw: raw(js), js_gzip: gz(js),
    css_raw: css ? raw(css) : 0, css_gzip: css ? gz(css) : 0,
  };
}

async function fillLogs(url) {
  // Long election timeouts so that a slow network (set later) does not cause elections; as fast
  // as possible while the logs fill.
  await api(url, { type: 'speed', speed: 0 });
  await api(url, { type: 'reset', nodes: 5, seed: 5, election_timeout_ms_min: 1500, election_timeout_ms_max: 3000 });
  await until(async () => (await cluster(url)).nodes.some((n) => n.role === 'leader'), { what: 'a leader' });
  // The server limits appends per client (50/s): pace them, retrying when told to slow down.
  for (let i = 0; i < ENTRIES; i++) {
    for (;;) {
      const r = await api(url, { type: 'append', command: `add ${(i % 9) + 1}` });
      if (r.ok) break;
      if (!/rate limit/.test(r.error || '')) throw new Error(`append failed: ${JSON.stringify(r)}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
  await until(async () => (await cluster(url)).nodes.every((n) => n.commit_index >= ENTRIES),
    { what: `${ENTRIES} entries committed everywhere`, timeoutMs: 120000, intervalMs: 500 });
  await api(url, { type: 'network', latency_ms_min: 200, latency_ms_max: 300 });
  await api(url, { type: 'speed', speed: 1 });
}

async function frames(page) {
  return page.evaluate((measureMs) => new Promise((resolve) => {
    const deltas = [];
    const long = [];
    const inFlight = [];
    const po = new PerformanceObserver((list) => { for (const e of list.getEntries()) long.push(e.duration); });
    po.observe({ type: 'longtask' });
    const sampler = setInterval(() => inFlight.push(document.querySelectorAll('[data-testid=message]').length), 250);
    let last = performance.now();
    const end = last + measureMs;
    const frame = (t) => {
      deltas.push(t - last);
      last = t;
      if (t < end) {
        requestAnimationFrame(frame);
      } else {
        clearInterval(sampler);
        po.disconnect();
        resolve({ deltas: deltas.slice(1), long, inFlight });
      }
    };
    requestAnimationFrame(frame);
  }), MEASURE_MS);
}

async function appendToDraw(page, url) {
  await api(url, { type: 'network', latency_ms_min: 5, latency_ms_max: 15 });
  const samples = [];
  for (let i = 0; i < CLICKS; i++) {
    const snap = await cluster(url);
    const leader = snap.nodes.find((n) => n.role === 'leader');
    const index = leader.log.length + 1;
    const text = `set ${1000 + i}`;
    await page.locator('[data-testid=append-input]').fill(text);
    const ms = await page.evaluate(({ leaderId, index, text }) => new Promise((resolve, reject) => {
      const row = document.querySelector(`[data-testid=log-${leaderId}]`);
      const drawn = () => {
        const cell = document.querySelector(`[data-testid=entry-${leaderId}-${index}]`);
        return cell && cell.textContent.includes(text);
      };
      const start = performance.now();
      const obs = new MutationObserver(() => {
        if (drawn()) {
          obs.disconnect();
          // The DOM has the cell; wait for the frame that paints it.
          requestAnimationFrame(() => resolve(performance.now() - start));
        }
      });
      obs.observe(row, { childList: true, subtree: true, characterData: true });
      setTimeout(() => { obs.disconnect(); reject(new Error(`entry ${index} not drawn on S${leaderId}`)); }, 10000);
      document.querySelector('[data-testid=append-submit]').click();
    }), { leaderId: leader.id, index, text });
    samples.push(ms);
    await until(async () => (await cluster(url)).nodes.every((n) => n.commit_index >= index), { what: 'commit', timeoutMs: 10000 });
  }
  return samples;
}

const s = sizes();
const backend = await startBackend(['--speed', '0', '--seed', '5']);
const browser = await launch();
try {
  await fillLogs(backend.url);
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(backend.url);
  await until(() => page.locator('[data-testid=conn].open').count(), { what: 'connected' });
  await until(async () => Number(await page.locator('[data-testid=row-1]').getAttribute('data-last-index')) >= ENTRIES,
    { what: 'the logs drawn', timeoutMs: 30000 });
  // Let the slow network fill up with messages before measuring.
  await until(async () => (await page.locator('[data-testid=message]').count()) >= 20, { what: 'messages in flight', timeoutMs: 20000 });
  const f = await frames(page);
  await shot(page, 'bench-2000-entries');
  const drawn = await page.locator('[data-testid^=entry-]').count();
  const clicks = await appendToDraw(page, backend.url);
  const info = await page.evaluate(() => navigator.userAgent);

  const med = (xs) => pct(xs, 50);
  console.log(`# logscope frontend benchmark (${new Date().toISOString().slice(0, 10)})\n`);
  console.log(`Browser: ${info.replace(/^Mozilla\/5.0 /, '')}\n`);
  console.log('| what | value |\n|---|---|');
  console.log(`| wasm (raw) | ${kb(s.wasm_raw)} |`);
  console.log(`| wasm (gzip -9) | ${kb(s.wasm_gzip)} |`);
  console.log(`| JS glue (raw / gzip) | ${kb(s.js_raw)} / ${kb(s.js_gzip)} |`);
  console.log(`| CSS (raw / gzip) | ${kb(s.css_raw)} / ${kb(s.css_gzip)} |`);
  console.log(`| entries per log | ${ENTRIES} (entry cells in the DOM: ${drawn}) |`);
  console.log(`| messages in flight (median, max of samples) | ${med(f.inFlight)}, ${Math.max(...f.inFlight)} |`);
  console.log(`| frames measured | ${f.deltas.length} over ${MEASURE_MS / 1000} s |`);
  console.log(`| frame time median / p95 / max | ${med(f.deltas).toFixed(1)} / ${pct(f.deltas, 95).toFixed(1)} / ${Math.max(...f.deltas).toFixed(1)} ms |`);
  console.log(`| long tasks (> 50 ms) | ${f.long.length}${f.long.length ? ` (longest ${Math.max(...f.long).toFixed(0)} ms)` : ''} |`);
  console.log(`| click Append → entry drawn on the leader, speed 1 (n=${clicks.length}) median / p95 | ${med(clicks).toFixed(1)} / ${pct(clicks, 95).toFixed(1)} ms |`);
} finally {
  await browser.close();
  await backend.stop();
}
