// Time to draw an arbitrary instant of a one-hour run in the browser: loads a hand-written trace
// of one virtual hour (5 servers, a fault or a request every 12 s: 300 inputs) into a fresh
// server, opens the page, then clicks the timeline at N random instants and measures, in the
// page, from the pointerdown to the first animation frame after the page shows that instant
// (request, the server's re-execution from its checkpoints, the reducer and the redraw).
// Also prints where the time goes (request / page work / layout and paint) and the answer's size.
// Usage: node e2e/bench-timeline.mjs [N]   (LOGSCOPE_BIN picks the server binary)
import { startBackend, launch, until } from './lib.mjs';

const N = Number(process.argv[2] || 40);
const HOUR_MS = 3_600_000;

function hourTrace() {
  const inputs = [];
  for (let k = 1; k * 12_000 < HOUR_MS; k++) {
    const at_ms = k * 12_000;
    const node = (Math.floor(k / 3) % 5) + 1;
    const input = k % 3 === 0 ? { type: 'crash', node }
      : k % 3 === 1 ? { type: 'restart', node: (Math.floor((k - 1) / 3) % 5) + 1 }
        : { type: 'append', command: `add ${k}` };
    inputs.push({ at_ms, input });
  }
  return {
    version: 1,
    config: {
      nodes: 5, seed: 3, log_model: 'command',
      timing: { election_timeout_ms_min: 150, election_timeout_ms_max: 300, heartbeat_interval_ms: 50, fsync_ms: 2, max_entries_per_append: 8 },
      network: { latency_ms_min: 5, latency_ms_max: 15, loss_probability: 0.0, duplicate_probability: 0.0 },
    },
    start: { kind: 'empty' },
    inputs,
    end_ms: HOUR_MS,
  };
}

const backend = await startBackend(['--speed', '0.01', '--paused']);
const browser = await launch();
try {
  const trace = hourTrace();
  let t0 = Date.now();
  const loaded = await (await fetch(`${backend.url}/api/trace`, { method: 'POST', body: JSON.stringify(trace) })).json();
  if (!loaded.ok) throw new Error(JSON.stringify(loaded));
  console.log(`loaded ${trace.inputs.length} inputs over ${HOUR_MS / 1000} virtual s in ${Date.now() - t0} ms`);
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(backend.url);
  t0 = Date.now();
  await until(async () => Number(await page.locator('[data-testid=track]').getAttribute('data-end-ms')) >= HOUR_MS - 1000,
    { what: 'the markers of the hour', timeoutMs: 600_000 });
  console.log(`markers of the hour on the page after ${Date.now() - t0} ms`);
  const times = [];
  // Where the time goes, per click: the request (pointerdown to the response's last byte, from
  // the Resource Timing entry of `GET /api/trace/at`), the page's own work (from there to the
  // page showing the instant: parsing, reducer, the reactive redraw) and the browser's layout
  // and paint up to the next frame.
  const parts = { request: [], page: [], paint: [] };
  for (let i = 0; i < N; i++) {
    const frac = Math.random();
    const m = await page.evaluate((frac) => new Promise((ok) => {
      const track = document.querySelector('[data-testid=track]');
      const app = document.querySelector('[data-testid=app]');
      const box = track.getBoundingClientRect();
      const before = app.getAttribute('data-seq');
      performance.clearResourceTimings();
      const start = performance.now();
      const mo = new MutationObserver(() => {
        if (app.getAttribute('data-seq') !== before) {
          mo.disconnect();
          const shown = performance.now();
          requestAnimationFrame(() => {
            const done = performance.now();
            const r = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/trace/at')).pop();
            const answered = r ? r.responseEnd : start;
            ok({ total: done - start, request: answered - start, page: shown - answered, paint: done - shown });
          });
        }
      });
      mo.observe(app, { attributes: true });
      const at = { clientX: box.x + box.width * frac, clientY: box.y + box.height / 2, bubbles: true, pointerId: 1 };
      track.dispatchEvent(new PointerEvent('pointerdown', at));
      track.dispatchEvent(new PointerEvent('pointerup', at));
    }), frac);
    times.push(m.total);
    for (const k of Object.keys(parts)) parts[k].push(m[k]);
  }
  // The server's share alone: the same kind of request from here, no page involved.
  const server = [];
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const at = Math.floor(Math.random() * HOUR_MS);
    const start = performance.now();
    const r = await fetch(`${backend.url}/api/trace/at?at_ms=${at}`);
    bytes += (await r.text()).length;
    server.push(performance.now() - start);
  }
  server.sort((a, b) => a - b);
  const sq = (p) => server[Math.min(server.length - 1, Math.floor(p * server.length))];
  console.log(`GET /api/trace/at alone (from node): n=${N} median ${sq(0.5).toFixed(1)} ms, p95 ${sq(0.95).toFixed(1)} ms, ${Math.round(bytes / N / 1024)} KiB per answer`);
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1);
  console.log(`  of which (medians): request ${med(parts.request)} ms, page work ${med(parts.page)} ms, layout and paint ${med(parts.paint)} ms`);
  console.log(`draw an instant of the hour: n=${N} median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${times[times.length - 1].toFixed(1)} ms`);
} finally {
  await browser.close();
  await backend.stop();
}
