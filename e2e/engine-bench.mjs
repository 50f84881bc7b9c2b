// How fast the in-browser engine simulates, run as the static site runs it: each site directory
// given (scripts/build-static.sh output) is served by Python's http.server, opened in headless
// Chromium, and a Web Worker of its own engine (the worker script the page names in
// `<meta name="logscope-engine">`) is started on a fresh default cluster at speed 0 ("as fast as
// possible": the worker steps the simulator in chunks, one per timer tick) with a client appending
// `add 1` every `BENCH_APPEND_MS` of wall time. The figure is virtual ms simulated per wall
// second, read from the engine's own `clock` messages over `BENCH_SECONDS` (after one warm-up
// second). Then, with the run paused, it asks the worker for the cluster at the run's middle
// instant (`GET /api/trace/at?at_ms=…`, the timeline's question: the engine re-executes the run
// from its start to there) and times the answer, wall ms from asking to the answer. Sites are
// measured in turn, `BENCH_ROUNDS` times each (A B A B …), to compare builds.
//
// Usage: node engine-bench.mjs SITE_DIR [SITE_DIR …]   (docs/bench-frontend.md)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, launch, until } from './lib.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const APPEND_MS = Number(process.env.BENCH_APPEND_MS || 20);
const sites = process.argv.slice(2).map((d) => resolve(d));
if (sites.length === 0) {
  console.error('usage: node engine-bench.mjs SITE_DIR [SITE_DIR …]');
  process.exit(2);
}
for (const site of sites) {
  if (!existsSync(join(site, 'index.html'))) throw new Error(`${site}/index.html is missing`);
}

/** Serve `dir` on a free port; returns { url, stop }. */
async function serve(dir) {
  const port = await freePort();
  const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
    cwd: dir, stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}/`;
  await until(async () => (await fetch(url)).ok, { what: 'the static server to answer' });
  return { url, stop: () => server.kill('SIGTERM') };
}

/** One measurement of the site at `url`: { rate: virtual ms per wall second, replayMs, atMs }. */
async function measure(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  const result = await page.evaluate(async ({ seconds, appendMs }) => {
    const meta = document.querySelector('meta[name=logscope-engine]');
    const worker = new Worker(new URL(meta.content, location.href), { type: 'module' });
    const clocks = []; // [wall ms, virtual ms]
    let hello = null;
    const helloSeen = new Promise((ok) => { hello = ok; });
    worker.onmessage = (e) => {
      if (typeof e.data !== 'string') return; // a save
      const message = JSON.parse(e.data);
      if (message.type === 'hello') hello();
      if (message.type === 'clock') clocks.push([performance.now(), message.time_ms]);
    };
    worker.postMessage({ type: 'start', saved: null });
    await helloSeen;
    let id = 1;
    worker.postMessage(JSON.stringify({ request_id: id++, type: 'speed', speed: 0 }));
    const load = setInterval(() => {
      worker.postMessage(JSON.stringify({ request_id: id++, type: 'append', command: 'add 1' }));
    }, appendMs);
    await new Promise((ok) => setTimeout(ok, (seconds + 1) * 1000));
    clearInterval(load);
    worker.postMessage(JSON.stringify({ request_id: id++, type: 'pause' }));
    const from = clocks.find(([wall]) => wall >= clocks[0][0] + 1000);
    const to = clocks[clocks.length - 1];
    const rate = (to[1] - from[1]) / ((to[0] - from[0]) / 1000);
    // The timeline's question about the middle of the run, timed from asking to the answer.
    const atMs = Math.floor(to[1] / 2);
    const asked = performance.now();
    const answer = await new Promise((ok) => {
      worker.onmessage = (e) => { if (e.data && e.data.api === 7) ok(e.data); };
      worker.postMessage({
        type: 'api', id: 7, method: 'GET', path: `/api/trace/at?at_ms=${atMs}`, body: null,
      });
    });
    const replayMs = performance.now() - asked;
    worker.terminate();
    if (answer.status !== 200) throw new Error(`trace/at answered ${answer.status}: ${answer.body}`);
    return { rate, replayMs, atMs };
  }, { seconds: SECONDS, appendMs: APPEND_MS });
  await context.close();
  return result;
}

const browser = await launch();
const servers = [];
try {
  for (const site of sites) servers.push({ site, ...(await serve(site)), rates: [], replays: [] });
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of servers) {
      const { rate, replayMs, atMs } = await measure(browser, s.url);
      s.rates.push(rate);
      s.replays.push(replayMs);
      console.log(`round ${round + 1} ${s.site}: ${rate.toFixed(0)} virtual ms per wall second; `
        + `the cluster at ${atMs} ms re-executed in ${replayMs.toFixed(0)} ms`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(0);
  for (const s of servers) {
    console.log(`${s.site}: median ${median(s.rates)} virtual ms/s `
      + `(${s.rates.map((r) => r.toFixed(0)).join(', ')}); replay to the middle: median `
      + `${median(s.replays)} ms (${s.replays.map((r) => r.toFixed(0)).join(', ')})`);
  }
} finally {
  await browser.close();
  for (const s of servers) s.stop();
}
