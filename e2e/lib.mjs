// Shared helpers for the browser tests and the benchmark: start the real logscope binary on a
// free port with a temporary data directory, open Debian's Chromium through playwright-core, and
// wait for conditions (never fixed sleeps).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ARTIFACTS = join(ROOT, 'artifacts', 'e2e');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const BINARY = process.env.LOGSCOPE_BIN || join(ROOT, 'target', 'release', 'logscope');
/** The page the backend serves (DIST_DIR overrides: a page built elsewhere). */
export const DIST = resolve(process.env.DIST_DIR || join(ROOT, 'dist'));

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Poll `check` until it returns a truthy value or `timeoutMs` passes. */
export async function until(check, { timeoutMs = 20000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Start the backend serving dist/ on a free port. Returns { url, port, stop, log }.
 * Extra CLI arguments (e.g. ['--speed', '0.1']) are passed through.
 */
export async function startBackend(args = []) {
  if (!existsSync(BINARY)) {
    throw new Error(`${BINARY} is missing: build it with cargo build --release -p logscope-backend --bin logscope`);
  }
  if (!existsSync(join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: build the page with scripts/build-page.sh (or trunk build --release)`);
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'logscope-e2e-'));
  const child = spawn(BINARY, [
    '--static-dir', DIST, '--data-dir', dataDir, '--port', String(port), '--fresh',
    ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (exited) throw new Error(`backend exited:\n${log}`);
    const r = await fetch(`${url}/api/cluster`);
    return r.ok;
  }, { timeoutMs: 20000, what: 'the backend to answer' });
  return {
    url,
    port,
    log: () => log,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await until(() => exited, { timeoutMs: 10000, what: 'the backend to stop' }).catch(() => child.kill('SIGKILL'));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Launch headless Chromium (`extraArgs`: more command-line switches, e.g. host resolver rules). */
export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', ...extraArgs],
  });
}

/** Send a command through the HTTP API (for test setup only; the UI is what is under test). */
export async function api(url, command) {
  const r = await fetch(`${url}/api/commands`, { method: 'POST', body: JSON.stringify(command), headers: { 'content-type': 'application/json' } });
  return r.json();
}

/** The cluster snapshot from the HTTP API. */
export async function cluster(url) {
  const r = await fetch(`${url}/api/cluster`);
  return r.json();
}

/** Save a screenshot under artifacts/e2e/. */
export async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** Open the page at `url`; `errors` collects what it logs as errors (refusals aside). */
export async function openPage(browser, url, errors, viewport = { width: 1600, height: 1000 }, options = {}) {
  const p = await browser.newPage({ viewport, ...options });
  p.on('pageerror', (e) => errors.push(e.message));
  // A refused request is a 4xx the page shows; Chromium also logs the status, which is expected.
  p.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(m.text());
  });
  await p.goto(url);
  await until(() => p.locator('[data-testid=conn].open').count(), { what: 'the page to connect' });
  return p;
}

/** Log cells whose text is cut (an ellipsis) or drawn beyond the cell's border: their texts.
 *  `page` is Playwright's or puppeteer's (both evaluate a function in the page). */
export function cutTexts(page) {
  return page.evaluate(() => [...document.querySelectorAll('.logs .cell .cell-text')].filter((el) => {
    if (el.getClientRects().length === 0 || !el.textContent.trim()) return false;
    const text = el.getBoundingClientRect();
    const cell = el.closest('.cell').getBoundingClientRect();
    const cut = getComputedStyle(el).overflow !== 'visible' && el.scrollWidth > el.clientWidth + 1;
    return cut || text.left < cell.left + 1 || text.right > cell.right - 1;
  }).map((el) => el.textContent));
}

/** In the page (pass it to Playwright's or puppeteer's `page.evaluate`, or a WebDriver script):
 *  the elements of the side panels drawn past the right edge of their panel (or of the screen),
 *  as short descriptions; what a scrolling or clipping box holds is drawn within it and left out. */
export function sidePanelsPastTheEdge() {
  const screen = document.documentElement.clientWidth;
  const name = (el) => `${el.tagName.toLowerCase()}${el.classList.length ? `.${[...el.classList].join('.')}` : ''}`
    + `${el.dataset.testid ? `[${el.dataset.testid}]` : ''} "${el.textContent.trim().slice(0, 20)}"`;
  const found = [];
  for (const panel of document.querySelectorAll('aside.side > .panel')) {
    if (panel.getClientRects().length === 0) continue;
    const edge = panel.getBoundingClientRect().right;
    if (edge > screen + 0.5) found.push(`${name(panel)} right ${edge.toFixed(0)} past the screen's ${screen}`);
    for (const el of panel.querySelectorAll('*')) {
      const b = el.getBoundingClientRect();
      if (el.getClientRects().length === 0 || b.width === 0) continue;
      let clipped = false;
      for (let up = el.parentElement; up && up !== panel; up = up.parentElement) {
        if (getComputedStyle(up).overflowX !== 'visible') { clipped = true; break; }
      }
      if (!clipped && b.right > edge + 0.5) {
        found.push(`${name(el)} right ${b.right.toFixed(0)} past ${panel.getAttribute('aria-label')}'s ${edge.toFixed(0)}`);
      }
    }
  }
  return found;
}
