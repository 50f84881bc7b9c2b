// The page in Firefox (Debian's firefox-esr, headless, driven by puppeteer-core over WebDriver
// BiDi; every other file runs in Chromium): a smoke test of what differs between the engines.
// The static site runs the cluster in its own module Web Worker and keeps it in the browser's
// storage across a reload; the server's presenter view at 1920x1080 shows log cells whole and
// follows the newest entry; at 390x844 nothing runs past the right edge of a side panel (a `1fr`
// grid column does not shrink below a range input's natural width, which Firefox makes wider than
// Chromium: 192 px unstyled); and Firefox reports no page or console error throughout.
// Needs /usr/bin/firefox-esr (FIREFOX=/path overrides): scripts/setup.sh --browser installs it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, freePort, startBackend, until, shot, cutTexts, sidePanelsPastTheEdge } from '../lib.mjs';

const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
const SITE = resolve(process.env.STATIC_DIR || join(ROOT, 'dist-static'));
const TOKEN = 'e2e-firefox-token-3';
let browser;
let backend;
let server;
let served = '';
let root;
let site;

before(async () => {
  if (!existsSync(FIREFOX)) {
    throw new Error(`${FIREFOX} is missing: the Firefox tests need Debian's firefox-esr; ` +
      'install it with scripts/setup.sh --browser (or apt-get install firefox-esr)');
  }
  let puppeteer;
  try {
    puppeteer = (await import('puppeteer-core')).default;
  } catch (e) {
    throw new Error(`puppeteer-core is missing (${e.message}): run scripts/setup.sh --browser (or npm ci in e2e/)`);
  }
  if (!existsSync(join(SITE, 'index.html'))) {
    throw new Error(`${SITE}/index.html is missing: build it with scripts/build-static.sh`);
  }
  // The static site as the subdirectory `some/where/` of what Python's http.server serves, as
  // in static-engine.test.mjs: no logscope behind it.
  root = mkdtempSync(join(tmpdir(), 'logscope-firefox-'));
  mkdirSync(join(root, 'some'));
  symlinkSync(SITE, join(root, 'some', 'where'), 'dir');
  const port = await freePort();
  server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => { served += d; });
  server.stderr.on('data', (d) => { served += d; }); // one line per request
  site = `http://127.0.0.1:${port}/some/where/`;
  // --token on loopback: the presenter's page needs it, as on the classroom network.
  [backend] = await Promise.all([
    startBackend(['--token', TOKEN, '--speed', '1', '--seed', '11']),
    until(async () => (await fetch(site)).ok, { what: 'the static server to answer' }),
  ]);
  // Firefox starts in 4-6 s, up to 13 s cold.
  browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, timeout: 60000 });
});

after(async () => {
  await browser?.close();
  await backend?.stop();
  server?.kill('SIGTERM');
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A command through the HTTP API, with the presenter's token (test setup only). */
async function command(c) {
  const r = await fetch(`${backend.url}/api/commands`, {
    method: 'POST', body: JSON.stringify(c), headers: { 'content-type': 'application/json', 'x-logscope-token': TOKEN },
  });
  return r.json();
}

/** The index of the newest entry in any server's log, from the HTTP API. */
const newest = async () => (await (await fetch(`${backend.url}/api/cluster`)).json()).nodes
  .reduce((m, n) => Math.max(m, n.log_len), 0);

/** A page in a fresh browser context (its own storage) at `viewport`; `errors` collects the
 * page's uncaught errors and console errors. */
async function open(url, viewport) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
  await page.setViewport({ ...viewport, deviceScaleFactor: 1 });
  await page.goto(url);
  return { page, errors, close: () => context.close() };
}

const sel = (id) => `[data-testid="${id}"]`;
const count = (page, selector) => page.$$eval(selector, (els) => els.length);
const text = (page, id) => page.$eval(sel(id), (el) => el.textContent);
const running = async (page) => /running in your browser/i.test(await text(page, 'conn'));
const leader = (page) => count(page, '[data-testid^=node-][data-role=leader]');

/** How many cells of the committed row read `t`. */
const committed = (page, t) => page.$$eval('[data-testid=log-committed] .cell',
  (cells, t) => cells.filter((c) => c.textContent.includes(t)).length, t);

/** The speed slider to its top, real time, as a drag would leave it. */
async function realTime(page) {
  await page.$eval(sel('speed'), (el) => {
    el.value = '3';
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await until(async () => (await text(page, 'speed-label')) === '1×', { what: 'real-time speed' });
}

/** Append `t` through the page's form. */
async function append(page, t) {
  await page.$eval(sel('append-input'), (el) => el.select());
  await page.type(sel('append-input'), t);
  await page.click(sel('append-submit'));
}

test('Firefox: with no server the engine runs in a worker, commits, and a reload recovers it from storage', async () => {
  const { page, errors, close } = await open(site, { width: 1280, height: 720 });
  await until(() => running(page), { what: 'the page to run the cluster itself', timeoutMs: 30000 });
  assert.equal(await page.$eval(sel('conn'), (el) => el.dataset.engine), 'browser');
  // The cluster runs in the engine's module Web Worker, loaded relative to the page.
  const isEngine = (u) => /\/some\/where\/engine-worker-[0-9a-f]{16}\.js$/.test(u);
  await until(() => page.workers().map((w) => w.url()).find(isEngine), { what: "the engine's worker among the page's workers" });
  await realTime(page);
  await until(async () => (await leader(page)) === 1, { what: 'a leader', timeoutMs: 30000 });
  await append(page, 'add 7');
  await until(() => committed(page, 'add 7'), { what: '"add 7" to commit', timeoutMs: 20000 });
  await shot(page, 'firefox-01-static-committed');
  // The page keeps what the worker hands it at most every 250 ms (engine/src/worker.rs,
  // SAVE_INTERVAL_MS): a reload sooner is a power loss before the disk had it. Wait until a
  // majority of the saved servers hold the entry, as a recovered leader then must.
  await until(() => page.evaluate(() => {
    const saved = JSON.parse(localStorage.getItem('logscope.engine') || 'null');
    const has = (node) => node.log.some((e) => e.data.command?.op === 'add' && e.data.command.n === 7);
    return saved && saved.nodes.filter(has).length > saved.nodes.length / 2;
  }), { what: 'the browser\'s storage to hold "add 7" on a majority of the servers' });

  await page.reload();
  await until(() => running(page), { what: 'the page to run again', timeoutMs: 30000 });
  const recovered = await until(() => page.$$eval('[data-testid=narration] li',
    (lines) => lines.map((l) => l.textContent).find((t) => /Recovered from this browser's storage/.test(t))),
  { what: "the story to say the cluster came back from the browser's storage" });
  assert.match(recovered, /every server restarted from what its disk had synced/);
  await realTime(page);
  await until(() => committed(page, 'add 7'), { what: 'the committed "add 7" after the reload', timeoutMs: 30000 });
  await shot(page, 'firefox-02-static-recovered');
  // No server: the static host was asked for files only.
  assert.doesNotMatch(served, /"[A-Z]+ [^ "]*\/api\//, `the static host was asked for an API:\n${served}`);
  assert.deepEqual(errors, []);
  await close();
});


/** Whether the committed row's entry `n` is drawn wholly inside the log pane. */
const inPane = (page, n) => page.evaluate((n) => {
  const cell = document.querySelector(`[data-testid="entry-c-${n}"]`);
  if (!cell) return false; // not drawn: outside the pane's window
  const p = document.querySelector('.logs-scroll').getBoundingClientRect();
  const b = cell.getBoundingClientRect();
  return b.left >= p.left - 1 && b.right <= p.right + 1;
}, n);

test('Firefox: the presenter view at 1920x1080 shows log cells whole and follows the newest entry', async () => {
  await command({ type: 'reset', nodes: 5, seed: 11, log_model: 'command' });
  await command({ type: 'speed', speed: 1 });
  await command({ type: 'resume' });
  // More entries than the presenter's pane shows at once, of 5 to 8 characters.
  for (const c of ['add 0', 'add 1', 'add 10', 'add 3', 'set 100', 'add 5', 'add 6', 'add 7', 'set 1000', 'add 9', 'mul 2', 'add 11']) {
    await until(async () => (await command({ type: 'append', command: c })).ok, { what: `the append of "${c}"` });
  }
  const { page, errors, close } = await open(`${backend.url}/?token=${TOKEN}`, { width: 1920, height: 1080 });
  await until(() => count(page, '[data-testid=conn].open'), { what: 'the page to connect' });
  await page.keyboard.press('p');
  await until(() => count(page, '.app.presenter'), { what: 'the presenter view' });
  const follows = async (what) => {
    const n = await newest();
    await until(() => inPane(page, n), { what: `entry ${n} ${what}, committed and in the log pane` }).catch(async (e) => {
      const pane = await page.$eval('.logs-scroll', (el) => [el.scrollLeft, el.clientWidth, el.scrollWidth]);
      const drawn = await page.$$eval('[data-testid^=entry-c-]', (els) => els.map((x) => x.dataset.testid));
      throw new Error(`${e.message}; pane scrollLeft/clientWidth/scrollWidth ${pane}; drawn ${drawn.join(' ')}`);
    });
    return n;
  };
  await follows('(the newest when the view opened)');
  for (const c of ['add 12', 'set 100', 'add 14', 'mul 3']) {
    await until(async () => (await command({ type: 'append', command: c })).ok, { what: `the append of "${c}"` });
    await follows(`("${c}", appended in the presenter view)`);
  }
  const [scrollLeft, clientWidth, scrollWidth] = await page.$eval('.logs-scroll', (el) => [el.scrollLeft, el.clientWidth, el.scrollWidth]);
  assert.ok(scrollWidth > clientWidth && scrollLeft > 0,
    `the log is longer than its pane and the pane scrolled to follow (scrollLeft ${scrollLeft}, ${clientWidth} of ${scrollWidth} px)`);
  assert.deepEqual(await cutTexts(page), [], 'log cells whose text is cut');
  await shot(page, 'firefox-03-presenter-1920x1080');
  assert.deepEqual(errors, []);
  await close();
});

const pastTheEdge = (page) => page.evaluate(sidePanelsPastTheEdge);

/** The network panel's sliders whose value (the `output`) is drawn past the panel's right edge,
 * with the slider's grid columns and the range input's width: the reason when it is. */
const slidersPastTheEdge = (page) => page.evaluate(() => {
  const panel = document.querySelector('section.network');
  const edge = panel.getBoundingClientRect().right;
  return [...panel.querySelectorAll('label.slider')].filter((label) => {
    const output = label.querySelector(':scope > output');
    return output.getBoundingClientRect().right > edge + 0.5;
  }).map((label) => `"${label.querySelector('span').textContent}" shows its value "${label.querySelector(':scope > output').textContent}"`
    + ` up to x=${label.querySelector(':scope > output').getBoundingClientRect().right.toFixed(0)}, past the panel's right edge at ${edge.toFixed(0)}:`
    + ` its columns are ${getComputedStyle(label).gridTemplateColumns},`
    + ` the range input ${label.querySelector('input').getBoundingClientRect().width.toFixed(0)} px wide`);
});

for (const where of ['the server\'s presenter page', 'the static site']) {
  test(`Firefox at 390x844, ${where}: nothing runs past the right edge of a side panel`, async () => {
    const url = where === 'the static site' ? site : `${backend.url}/?token=${TOKEN}`;
    const { page, errors, close } = await open(url, { width: 390, height: 844 });
    if (where === 'the static site') {
      await until(() => running(page), { what: 'the page to run the cluster itself', timeoutMs: 30000 });
    } else {
      await until(() => count(page, '[data-testid=conn].open'), { what: 'the page to connect' });
    }
    await until(() => count(page, 'section.network label.slider > output'), { what: 'the network panel\'s sliders' });
    await page.$eval('section.network', (el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY));
    await shot(page, `firefox-04-network-390x844-${where === 'the static site' ? 'static' : 'server'}`);
    // A `1fr` column does not shrink below the range input's natural width (wider in Firefox):
    // the value beside it ran out of the panel on a phone. `minmax(0, 1fr)` lets it shrink.
    assert.deepEqual(await slidersPastTheEdge(page), [], 'network sliders whose value runs past the panel');
    assert.deepEqual(await pastTheEdge(page), [], 'side-panel elements past the right edge');
    const width = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(width[0] <= width[1] + 1, `the page is ${width[0]} px wide, its window ${width[1]} px`);
    assert.deepEqual(errors, []);
    await close();
  });
}
