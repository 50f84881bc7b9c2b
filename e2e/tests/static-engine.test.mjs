// The static site (scripts/build-static.sh) served by a plain static server, Python's
// http.server, with no logscope anywhere: the page finds no server, runs the cluster itself in
// the engine's Web Worker, says so, and keeps what the nodes synced in the browser's storage across a reload. Served from
// a subdirectory, so that every path in the site has to be relative. Everything goes through the
// page (clicks, keys) and reads what it draws.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, freePort, launch, until, shot } from '../lib.mjs';

const SITE = resolve(process.env.STATIC_DIR || join(ROOT, 'dist-static'));
let server;
let root;
let url;
let browser;

before(async () => {
  if (!existsSync(join(SITE, 'index.html'))) {
    throw new Error(`${SITE}/index.html is missing: build it with scripts/build-static.sh`);
  }
  // The site as the subdirectory `some/where/` of the served directory.
  root = mkdtempSync(join(tmpdir(), 'logscope-static-'));
  mkdirSync(join(root, 'some'));
  symlinkSync(SITE, join(root, 'some', 'where'), 'dir');
  const port = await freePort();
  server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = `http://127.0.0.1:${port}/some/where/`;
  await until(async () => (await fetch(url)).ok, { what: 'the static server to answer' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  if (root) rmSync(root, { recursive: true, force: true });
});

const $ = (page, id) => page.locator(`[data-testid=${id}]`);

/** The id of the one server drawn as leader, or null. */
async function leader(page) {
  const leaders = page.locator('[data-testid^=node-][data-role=leader]');
  if ((await leaders.count()) !== 1) return null;
  return (await leaders.getAttribute('data-testid')).slice(5);
}

/** How many entries the committed row shows with the text `text`. */
const committed = (page, text) => page.locator('[data-testid=log-committed] .cell', { hasText: text }).count();

const running = async (page) => /running in your browser/i.test(await $(page, 'conn').textContent());

test('with no server the page runs the cluster itself, and a reload recovers what was synced', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await until(() => running(page), { what: 'the page to say it runs the cluster' });
  assert.equal(await $(page, 'conn').getAttribute('data-engine'), 'browser');
  // The tools that need a server (timeline, lessons) are not offered rather than failing.
  assert.equal(await $(page, 'timeline').count(), 0, 'no timeline without a server');
  assert.equal(await $(page, 'lessons-open').count(), 0, 'no lessons button without a server');
  // The cluster runs in the engine's own Web Worker (engine/), loaded relative to the page.
  const workers = page.workers().map((w) => w.url());
  assert.ok(
    workers.some((u) => /\/some\/where\/engine-worker-[0-9a-f]{16}\.js$/.test(u)),
    `the engine's worker is running (workers: ${JSON.stringify(workers)})`,
  );
  // Real time (the slider's top), so elections and commits take a fraction of a second.
  await $(page, 'speed').fill('3');
  await until(async () => (await $(page, 'speed-label').textContent()) === '1×', { what: 'real-time speed' });
  const first = await until(() => leader(page), { what: 'a leader', timeoutMs: 30000 });
  await shot(page, 'static-01-browser-engine');

  // Append through the form and see it committed.
  await $(page, 'append-input').fill('add 7');
  await $(page, 'append-submit').click();
  await until(() => committed(page, 'add 7'), { what: '"add 7" to commit', timeoutMs: 20000 });

  // Crash the leader ("k"): another is elected.
  await page.keyboard.press('k');
  await until(async () => { const l = await leader(page); return l && l !== first; }, { what: 'a new leader', timeoutMs: 30000 });
  await shot(page, 'static-02-new-leader');

  // Reload: the cluster comes back from what its nodes synced, the committed entry included.
  await page.reload();
  await until(() => running(page), { what: 'the page to run again' });
  await $(page, 'speed').fill('3');
  await until(() => committed(page, 'add 7'), { what: 'the committed entry to be recovered', timeoutMs: 30000 });
  await shot(page, 'static-03-recovered');

  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(url);
  await until(() => running(phone), { what: 'the phone page to run' });
  await shot(phone, 'static-04-phone');
  assert.deepEqual(errors, []);
  await context.close();
});

test("a browser whose storage is full says so, and the cluster runs on", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  // Every save refused, as past the quota.
  await context.addInitScript(() => {
    Storage.prototype.setItem = () => { throw new DOMException('quota', 'QuotaExceededError'); };
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await until(() => running(page), { what: 'the page to run the cluster' });
  const warning = page.locator('[data-testid=narration] li', { hasText: "storage refused the cluster's state" });
  await until(() => warning.count(), { what: 'the storage warning in the narration' });
  await $(page, 'speed').fill('3');
  await until(() => leader(page), { what: 'a leader all the same', timeoutMs: 30000 });
  assert.equal(await warning.count(), 1, 'said once, not at every save');
  assert.deepEqual(errors, []);
  await context.close();
});
