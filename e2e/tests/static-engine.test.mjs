// The static site (scripts/build-static.sh) served by a plain static server, Python's
// http.server, with no logscope anywhere: the page finds no server, runs the cluster itself in
// the engine's Web Worker, says so, and keeps what the nodes synced in the browser's storage
// across a reload; the engine stages lessons too (a whole scenario, and a teacher's file with a
// mistake). Served from a subdirectory, so that every path in the site has to be relative.
// Everything goes through the page (clicks, keys) and reads what it draws.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, rmSync, writeFileSync } from 'node:fs';
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

/** A fresh browser context (its own storage) on the site, once the page runs the cluster;
 * `prepare(context)` runs before the page opens; `errors` collects what the page throws. */
async function openRunning(contextOptions, prepare = async () => {}) {
  const context = await browser.newContext(contextOptions);
  await prepare(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await until(() => running(page), { what: 'the page to run the cluster' });
  return { context, page, errors };
}

test('with no server the page runs the cluster itself, and a reload recovers what was synced', async () => {
  const asked = [];
  const { context, page, errors } = await openRunning({ viewport: { width: 1280, height: 720 } },
    async (c) => c.on('request', (r) => asked.push(new URL(r.url()).pathname)));
  // The site says it has no server (scripts/build-static.sh): the page does not ask for one.
  assert.deepEqual(asked.filter((p) => p.includes('/api/')), [], 'no API request to the static host');
  assert.equal(await $(page, 'conn').getAttribute('data-engine'), 'browser');
  // The engine answers the timeline's and the lessons' routes (below) as a server would.
  await until(() => $(page, 'timeline').count(), { what: 'the timeline' });
  assert.equal(await $(page, 'lessons-open').count(), 1, 'the engine stages lessons');
  // The cluster runs in the engine's own Web Worker (engine/), loaded relative to the page.
  // Playwright learns of a worker by an event that can come after the page shows the cluster:
  // wait for it rather than read the list once.
  const isEngine = (u) => /\/some\/where\/engine-worker-[0-9a-f]{16}\.js$/.test(u);
  const worker = await until(() => page.workers().map((w) => w.url()).find(isEngine), {
    what: "the engine's worker among the page's workers",
  });
  // One wasm module for page and engine (scripts/build-static.sh): the worker instantiates the
  // page's own, so the site has no other.
  const modules = readdirSync(SITE).filter((f) => f.endsWith('.wasm'));
  assert.equal(modules.length, 1, `one wasm module in the site (${JSON.stringify(modules)})`);
  assert.match(modules[0], /^logscope-frontend-[0-9a-f]{16}_bg\.wasm$/);
  const script = await (await fetch(worker)).text();
  assert.ok(script.includes(`'./${modules[0]}'`), `the worker loads the page's module:\n${script}`);
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

test('with no server a log longer than the snapshot window is read back from the engine when scrolled to', async () => {
  const { context, page, errors } = await openRunning({ viewport: { width: 1280, height: 720 } });
  await $(page, 'speed').fill('3');
  await until(() => leader(page), { what: 'a leader', timeoutMs: 30000 });
  // More entries than a snapshot carries (its window is the newest 200 of each log).
  for (let i = 0; i < 210; i++) {
    await $(page, 'append-input').fill('add 1');
    await $(page, 'append-submit').click();
  }
  await until(async () => Number((await $(page, 'global-commit').textContent()).match(/\d+/)[0]) > 210,
    { what: 'the appends to commit', timeoutMs: 60000 });
  // A reload starts from the engine's snapshot: the oldest entries are not in it.
  await page.reload();
  await until(() => running(page), { what: 'the page to run again' });
  // Real time again (a reload starts at the default speed): the recovered cluster elects a
  // leader, whose first commit brings the commit index back.
  await $(page, 'speed').fill('3');
  // The browser's "disk" lags the engine by up to a quarter of a second (engine/src/worker.rs,
  // SAVE_INTERVAL_MS), so the last few appends may not have been saved: more than the window
  // is what matters here.
  await until(async () => Number((await $(page, 'global-commit').textContent()).match(/\d+/)[0]) > 200,
    { what: 'the recovered log, longer than the window', timeoutMs: 30000 });
  assert.equal(await $(page, 'entry-1-1').count(), 0, 'the first entry is outside the window');
  // Scrolled to the start, the page asks the engine (not the static host) for them.
  await page.locator('.logs-scroll').evaluate((el) => { el.scrollLeft = 0; });
  await until(() => $(page, 'entry-1-1').count(), { what: 'the first entry, fetched from the engine', timeoutMs: 20000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test('with no server a whole scenario runs in the browser: predict, reveal, next to its end', async () => {
  const { context, page, errors } = await openRunning({ viewport: { width: 1600, height: 1000 } });
  // From here on nothing may ask an HTTP API: the engine's worker answers the lesson routes.
  const asked = [];
  page.on('request', (r) => { if (r.url().includes('/api/')) asked.push(r.url()); });

  await $(page, 'lessons-open').click();
  await until(() => $(page, 'lesson-first-election').count(), { what: 'the built-in lessons' });
  await $(page, 'lesson-first-election').click();
  await until(() => $(page, 'lesson-panel').count(), { what: 'the lesson panel' });
  assert.equal(await $(page, 'lesson-picker').count(), 0, 'the picker closes');
  assert.match(await $(page, 'lesson-question').innerText(), /Which server will become the first leader\?/);
  assert.equal(await $(page, 'app').getAttribute('data-paused'), 'true', 'a lesson opens paused');
  assert.equal(await $(page, 'lesson-next').count(), 0, 'no Next before the reveal');

  // Predict S1 (right), reveal: the step runs in the worker and the page draws its outcome.
  await $(page, 'lesson-choice-0').click();
  await $(page, 'lesson-reveal').click();
  await until(() => $(page, 'lesson-why').count(), { what: 'the why after the reveal' });
  assert.equal(await $(page, 'lesson-verdict').innerText(), 'Right: S1.');
  assert.match(await $(page, 'lesson-why').innerText(), /S1's timer fires first/);
  await until(() => page.locator('[data-testid=node-1][data-role=leader]').count(), { what: 'S1 drawn as leader' });
  await shot(page, 'static-05-lesson-revealed');

  // On to the end: Next at each caption, a prediction and Reveal at each question.
  const headings = [];
  for (let moves = 0; ; moves++) {
    assert.ok(moves < 40, 'the lesson ends');
    const before = await $(page, 'lesson-panel').innerText();
    if (await $(page, 'lesson-reveal').count()) {
      await $(page, 'lesson-choice-0').click();
      await $(page, 'lesson-reveal').click();
    } else if (await $(page, 'lesson-next').count() && await $(page, 'lesson-next').isEnabled()) {
      await $(page, 'lesson-next').click();
    } else {
      break;
    }
    await until(async () => (await $(page, 'lesson-panel').innerText()) !== before, { what: 'the next stop' });
    headings.push(await $(page, 'lesson-heading').innerText());
    assert.equal(await $(page, 'app').getAttribute('data-paused'), 'true', 'every stop is paused');
  }
  const progress = await page.locator('[data-testid=lesson-panel] h2 .hint').innerText();
  const [, step, steps] = progress.match(/Step (\d+) of (\d+)/);
  assert.equal(step, steps, `at the last step (${progress})`);
  // The last stop says so, rather than offer a Next that cannot be pressed.
  assert.equal(await $(page, 'lesson-next').count(), 0, 'no Next at the end');
  assert.match(await $(page, 'lesson-end').innerText(), /^The end of this lesson\./);
  assert.ok(headings.includes("The leader's first entry"), JSON.stringify(headings));
  // The cluster at the end is the lesson's: its second step committed "add 5".
  await until(() => committed(page, 'add 5'), { what: '"add 5" committed' });
  await shot(page, 'static-06-lesson-end');

  // Back goes back; Close leaves the cluster where the lesson left it.
  await $(page, 'lesson-back').click();
  await until(async () => (await page.locator('[data-testid=lesson-panel] h2 .hint').innerText()) !== progress
    || (await $(page, 'lesson-reveal').count()) > 0, { what: 'back one stop' });
  await $(page, 'lesson-close').click();
  await until(async () => (await $(page, 'lesson-panel').count()) === 0, { what: 'the panel to close' });
  assert.deepEqual(asked, [], 'no HTTP API was asked');
  assert.deepEqual(errors, []);
  await context.close();
});

test("with no server a teacher's file with a mistake is refused with its line number", async () => {
  const { context, page, errors } = await openRunning({ viewport: { width: 1280, height: 800 } });
  const bad = join(root, 'mine.lesson');
  writeFileSync(bad, 'title Mine\nnodes 3\n\nstep One\nsay Look.\ncrsh S1\n');
  await $(page, 'lessons-open').click();
  await $(page, 'lesson-file').setInputFiles(bad);
  await until(() => $(page, 'lesson-error').count(), { what: 'the error' });
  assert.match(
    await $(page, 'lesson-error').innerText(),
    /^line 6: unknown command 'crsh' \(did you mean 'crash'\?\); expected one of step, say/,
  );
  await shot(page, 'static-07-lesson-error');

  const good = join(root, 'good.lesson');
  writeFileSync(good, 'title Mine\nnodes 3\nseed 4\n\nstep One\nsay Watch the election.\nrun until leader elected\n');
  await $(page, 'lesson-file').setInputFiles(good);
  await until(() => $(page, 'lesson-panel').count(), { what: 'the uploaded lesson' });
  assert.equal(await $(page, 'lesson-caption').innerText(), 'Watch the election.');
  await until(() => leader(page), { what: 'the lesson\'s leader drawn' });
  assert.deepEqual(errors, []);
  await context.close();
});

test("a browser whose storage is full says so, and the cluster runs on", async () => {
  // Every save refused, as past the quota.
  const { context, page, errors } = await openRunning({ viewport: { width: 1280, height: 720 } },
    (context) => context.addInitScript(() => {
      Storage.prototype.setItem = () => { throw new DOMException('quota', 'QuotaExceededError'); };
    }));
  const warning = page.locator('[data-testid=narration] li', { hasText: "storage refused the cluster's state" });
  await until(() => warning.count(), { what: 'the storage warning in the narration' });
  await $(page, 'speed').fill('3');
  await until(() => leader(page), { what: 'a leader all the same', timeoutMs: 30000 });
  assert.equal(await warning.count(), 1, 'said once, not at every save');
  assert.deepEqual(errors, []);
  await context.close();
});

test('an engine whose worker does not load is said across the page, not left silent', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.route(/engine-worker-[0-9a-f]{16}\.js$/, (route) => route.abort('connectionfailed'));
  const page = await context.newPage();
  await page.goto(url);
  await until(() => $(page, 'crashed').count(), { what: 'the page to say its engine stopped' });
  assert.match(await $(page, 'crashed').innerText(),
    /^The cluster running in this browser stopped \(.+\)\. Reload the page to carry on/);
  await shot(page, 'static-engine-stopped');
  await context.close();
});

test('a saved cluster that is cut short is not recovered in silence: the page says so', async () => {
  // What a full disk or a killed browser can leave: the saved cluster's first half.
  const { context, page, errors } = await openRunning({ viewport: { width: 1280, height: 720 } },
    (context) => context.addInitScript(() => {
      if (!sessionStorage.getItem('cut')) {
        sessionStorage.setItem('cut', '1');
        localStorage.setItem('logscope.engine', '{"version":1,"config":{"nodes":3,"se');
      }
    }));
  const warning = page.locator('[data-testid=narration] li', { hasText: 'could not be recovered' });
  await until(() => warning.count(), { what: 'the warning in the narration' });
  assert.match(await warning.innerText(), /a new cluster was started/);
  await $(page, 'speed').fill('3');
  await until(() => leader(page), { what: 'the new cluster runs', timeoutMs: 30000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test('with no server the timeline rewinds, undoes and downloads the run', async () => {
  const { context, page, errors } = await openRunning({ viewport: { width: 1280, height: 720 }, acceptDownloads: true });
  // Nothing may ask an HTTP API from here on: the engine's worker answers the history routes.
  const asked = [];
  page.on('request', (r) => { if (r.url().includes('/api/')) asked.push(r.url()); });
  await $(page, 'speed').fill('3');
  const first = await until(() => leader(page), { what: 'a leader', timeoutMs: 30000 });
  await page.keyboard.press('k');
  await until(async () => (await $(page, `node-${first}`).getAttribute('data-role')) === 'down',
    { what: 'the crash' });

  // A click on the track shows that instant of the run, then back to live.
  const track = $(page, 'track');
  await until(async () => Number(await track.getAttribute('data-end-ms')) > 1000, { what: 'a second on the track' });
  const box = await track.boundingBox();
  await page.mouse.click(box.x + box.width * 0.3, box.y + box.height / 2);
  await $(page, 'past-banner').waitFor();
  assert.match(await $(page, 'past-time').innerText(), /^Viewing t=/);
  await shot(page, 'static-07-timeline-past');
  await $(page, 'back-to-live').click();
  await until(async () => (await $(page, 'past-banner').count()) === 0, { what: 'live again' });

  // u takes the crash back; the run left is a branch.
  await page.keyboard.press('u');
  await until(async () => (await $(page, `node-${first}`).getAttribute('data-role')) !== 'down',
    { what: 'u to take the crash back' });
  await until(async () => /Branches \(1\)/.test(await $(page, 'branches-toggle').innerText()),
    { what: 'the undone run among the branches' });

  // Download trace: the engine's trace, saved under the server's file name.
  const [download] = await Promise.all([page.waitForEvent('download'), $(page, 'download-trace').click()]);
  assert.match(download.suggestedFilename(), /^logscope-seed\d+-\d+ms\.json$/);
  assert.deepEqual(asked, [], 'no HTTP API was asked');
  assert.deepEqual(errors, []);
  await context.close();
});

test('with no server a share link made on the page opens its run, paused', async () => {
  const { context, page, errors } = await openRunning({ viewport: { width: 1280, height: 720 } });
  await $(page, 'speed').fill('3');
  await until(() => leader(page), { what: 'a leader', timeoutMs: 30000 });
  await $(page, 'append-input').fill('add 5');
  await $(page, 'append-submit').click();
  await until(() => committed(page, 'add 5'), { what: '"add 5" to commit', timeoutMs: 20000 });
  await $(page, 'copy-link').click();
  const link = await until(async () => ((await $(page, 'share-link').count()) ? $(page, 'share-link').inputValue() : null),
    { what: 'the link' });
  assert.ok(link.startsWith(`${url}#trace=1.`), link);
  await context.close();

  // A browser that never saw that run (its own storage) opens the link: the page's engine
  // loads the run the link carries and pauses it.
  const other = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const shared = await other.newPage();
  shared.on('pageerror', (e) => errors.push(e.message));
  await shared.goto(link);
  await until(() => running(shared), { what: 'the linked page to run the cluster' });
  await until(() => committed(shared, 'add 5'), { what: "the link's run", timeoutMs: 20000 });
  await until(async () => (await $(shared, 'app').getAttribute('data-paused')) === 'true', { what: 'the run paused' });
  // The fragment is read once: a reload does not load it over what happened since.
  assert.ok(!shared.url().includes('#trace='));
  await shot(shared, 'static-08-share-link');
  assert.deepEqual(errors, []);
  await other.close();
});
