// The page in WebKit, Safari's engine (WebKitGTK's MiniBrowser under a private Xvfb, driven by
// Debian's WebKitWebDriver over plain W3C WebDriver HTTP; every other file runs in Chromium or
// Firefox): a smoke test of what Safari users would hit first. The static site runs the cluster
// in its own module Web Worker, commits, and keeps it in the browser's storage across a reload;
// the server's page connects, commits, and shows a crashed leader replaced and restarted; at
// 390x844 nothing runs past the right edge of a side panel; and the page never shows its
// "stopped" banner nor its boot failure, and records no error once loaded.
// WebKit's driver has no console log and no BiDi, so errors cannot be caught before the page's
// own scripts run: what it would show is read from the page, and a recorder (console.error,
// uncaught errors, rejections) is installed once it has loaded.
// Needs /usr/bin/WebKitWebDriver, MiniBrowser and Xvfb: scripts/setup.sh --browser installs them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, ARTIFACTS, freePort, startBackend, until, sidePanelsPastTheEdge } from '../lib.mjs';

const DRIVER = process.env.WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
const MINIBROWSER = process.env.MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const XVFB = '/usr/bin/Xvfb';
const SITE = resolve(process.env.STATIC_DIR || join(ROOT, 'dist-static'));
const TOKEN = 'e2e-webkit-token-5';
const children = []; // Xvfb, the driver, the static server: stopped in `after`
let backend, root, site, driver; // driver: the WebKitWebDriver's base URL
let served = ''; // the static server's log, one line per request

/** Start `cmd` and remember it for `after`; `out` gets what it prints. */
function start(cmd, args, options = {}, out = () => {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  child.stdout?.on('data', out);
  child.stderr?.on('data', out);
  child.exited = new Promise((ok) => child.on('exit', ok));
  children.push(child);
  return child;
}

before(async () => {
  for (const [file, what] of [[DRIVER, 'WebKitWebDriver'], [MINIBROWSER, 'MiniBrowser'], [XVFB, 'Xvfb']]) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: the WebKit tests need ${what} (Debian's webkit2gtk-driver, xvfb); ` +
        'install them with scripts/setup.sh --browser (or apt-get install webkit2gtk-driver xvfb xauth)');
    }
  }
  if (!existsSync(join(SITE, 'index.html'))) {
    throw new Error(`${SITE}/index.html is missing: build it with scripts/build-static.sh`);
  }
  // The static site as the subdirectory `some/where/` of what Python's http.server serves, as
  // in firefox.test.mjs; the root's listing is a same-origin page to hold the 390x844 frame.
  root = mkdtempSync(join(tmpdir(), 'logscope-webkit-'));
  mkdirSync(join(root, 'some'));
  symlinkSync(SITE, join(root, 'some', 'where'), 'dir');
  const port = await freePort();
  start('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], { cwd: root }, (d) => { served += d; });
  site = `http://127.0.0.1:${port}/some/where/`;
  // A private X server (a WebKitGTK window needs one; there is no headless mode): -displayfd
  // makes it pick a free display and say which on fd 3.
  let display = '';
  let said = ''; // what Xvfb and the driver print, for an error
  const xvfb = start(XVFB, ['-displayfd', '3', '-screen', '0', '1920x1080x24', '-nolisten', 'tcp'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] }, (d) => { said += d; });
  xvfb.stdio[3].on('data', (d) => { display += d; });
  const driverPort = await freePort();
  driver = `http://127.0.0.1:${driverPort}`;
  await Promise.all([
    startBackend(['--token', TOKEN, '--speed', '1', '--seed', '11']).then((b) => { backend = b; }),
    until(async () => (await fetch(site)).ok, { what: 'the static server to answer' }),
    until(() => display.includes('\n'), { what: 'Xvfb to name its display', timeoutMs: 10000 }),
  ]).catch((e) => { throw new Error(`${e.message}\n${said}`); });
  start(DRIVER, [`--port=${driverPort}`], { env: { ...process.env, DISPLAY: `:${display.trim()}` } }, (d) => { said += d; });
  await until(async () => (await wd('GET', '/status')).ready, { what: 'WebKitWebDriver to be ready', timeoutMs: 10000 })
    .catch((e) => { throw new Error(`${e.message}\n${said}`); });
});

after(async () => {
  await backend?.stop();
  // Last started, first stopped: the driver, then Xvfb (a browser left over dies with its X
  // server), then the static server.
  for (const child of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([child.exited, new Promise((ok) => setTimeout(ok, 5000))]);
      child.kill('SIGKILL');
    }
  }
  if (root) rmSync(root, { recursive: true, force: true });
});

/** One W3C WebDriver command: its `value`, or an error that names it. */
async function wd(method, path, body) {
  const r = await fetch(driver + path, {
    method, body: body && JSON.stringify(body), headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(60000), // a new session starts a browser: 1-3 s, more when cold
  });
  const { value } = await r.json();
  if (!r.ok) throw new Error(`WebDriver ${method} ${path} ${JSON.stringify(body) ?? ''}: ${value.error}: ${value.message}`);
  return value;
}

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'; // the W3C key of an element reference

/** A browser window of its own (a fresh MiniBrowser, its own storage) showing `url` with a
 * viewport of `width` x `height`; it closes when the test `t` ends, passed or failed. */
async function open(t, url, { width, height }) {
  const { sessionId } = await wd('POST', '/session', { capabilities: { alwaysMatch: {
    browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
  } } });
  const cmd = (method, path, body) => wd(method, `/session/${sessionId}${path}`, body);
  t.after(() => cmd('DELETE', '').catch(() => {}));
  const s = {
    cmd,
    /** Run `fn` in the page (or the current frame) with `args`; its result. */
    js: (fn, ...args) => cmd('POST', '/execute/sync', { script: `return (${fn}).apply(null, arguments)`, args }),
    find: async (css) => (await cmd('POST', '/element', { using: 'css selector', value: css }))[ELEMENT],
    click: async (css) => cmd('POST', `/element/${await s.find(css)}/click`, {}),
    async shot(name) {
      const png = await cmd('GET', '/screenshot');
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(join(ARTIFACTS, `${name}.png`), Buffer.from(png, 'base64'));
    },
  };
  // The window's rectangle includes MiniBrowser's toolbar: grow it by what the page lacks.
  await cmd('POST', '/window/rect', { width, height });
  await until(async () => {
    const [w, h] = await s.js(() => [innerWidth, innerHeight]);
    if (w === width && h === height) return true;
    const rect = await cmd('GET', '/window/rect');
    await cmd('POST', '/window/rect', { width: rect.width + width - w, height: rect.height + height - h });
    return false;
  }, { what: `a ${width}x${height} viewport`, timeoutMs: 10000 });
  await cmd('POST', '/url', { url });
  return s;
}

const sel = (id) => `[data-testid="${id}"]`;
const text = (s, id) => s.js((css) => document.querySelector(css)?.textContent ?? '', sel(id));
const running = async (s) => /running in your browser/i.test(await text(s, 'conn'));
const connected = (s) => s.js(() => !!document.querySelector('[data-testid=conn].open'));
const leaders = (s) => s.js(() => [...document.querySelectorAll('[data-testid^=node-][data-role=leader]')].map((e) => e.dataset.testid));
const committed = (s, t) => s.js((t) => [...document.querySelectorAll('[data-testid=log-committed] .cell')]
  .filter((c) => c.textContent.includes(t)).length, t);

/** From now on, keep what the page reports as an error in `window.__errors` (WebDriver gives no
 * console: see the top). */
const record = (s) => s.js(() => {
  if (window.__errors) return;
  const errors = window.__errors = [];
  const error = console.error;
  console.error = (...a) => { errors.push(`console.error: ${a.join(' ')}`); error.apply(console, a); };
  addEventListener('error', (e) => errors.push(`error: ${e.message}`));
  addEventListener('unhandledrejection', (e) => errors.push(`unhandledrejection: ${e.reason?.message ?? e.reason}`));
});

/** What went wrong that the page shows or recorded: the "stopped" banner (a panic, a dead engine
 * worker), index.html's failed boot placeholder, and what `record` kept. */
const problems = (s) => s.js(() => [
  ...[...document.querySelectorAll('#stopped, #boot.failed')].map((el) => `shown: ${el.textContent}`),
  ...(window.__errors ?? ['the error recorder is not installed']),
]);

/** The speed slider to its top, real time, as a drag would leave it. */
async function realTime(s) {
  await s.js(() => {
    const el = document.querySelector('[data-testid=speed]');
    el.value = '3';
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await until(async () => (await text(s, 'speed-label')) === '1×', { what: 'real-time speed' });
}

/** Append `t` through the page's form: WebKit types it into the field, then clicks Append. */
async function append(s, t) {
  const input = await s.find(sel('append-input'));
  await s.cmd('POST', `/element/${input}/clear`, {});
  await s.cmd('POST', `/element/${input}/value`, { text: t });
  await s.click(sel('append-submit'));
}

test('WebKit: with no server the engine runs in a worker, commits, and a reload recovers it from storage', async (t) => {
  const s = await open(t, site, { width: 1280, height: 720 });
  await until(() => running(s), { what: 'the page to run the cluster itself', timeoutMs: 30000 });
  await record(s);
  assert.equal(await s.js(() => document.querySelector('[data-testid=conn]').dataset.engine), 'browser');
  // No list of workers over WebDriver: the static host saw the engine's worker script fetched,
  // relative to the page (only `new Worker` loads it).
  assert.match(served, /"GET \/some\/where\/engine-worker-[0-9a-f]{16}\.js /, `the engine's worker was not loaded:\n${served}`);
  await realTime(s);
  await until(async () => (await leaders(s)).length === 1, { what: 'a leader', timeoutMs: 30000 });
  await append(s, 'add 7');
  await until(() => committed(s, 'add 7'), { what: '"add 7" to commit', timeoutMs: 20000 });
  await s.shot('webkit-01-static-committed');
  // The page saves at most every 250 ms (engine/src/worker.rs): wait until a majority of the
  // saved servers hold the entry, as a recovered leader then must.
  await until(() => s.js(() => {
    const saved = JSON.parse(localStorage.getItem('logscope.engine') || 'null');
    const has = (node) => node.log.some((e) => e.data.command?.op === 'add' && e.data.command.n === 7);
    return saved && saved.nodes.filter(has).length > saved.nodes.length / 2;
  }), { what: 'the browser\'s storage to hold "add 7" on a majority of the servers' });
  assert.deepEqual(await problems(s), []);

  await s.cmd('POST', '/refresh', {});
  await until(() => running(s), { what: 'the page to run again', timeoutMs: 30000 });
  await record(s);
  const recovered = await until(() => s.js(() => [...document.querySelectorAll('[data-testid=narration] li')]
    .map((l) => l.textContent).find((x) => /Recovered from this browser's storage/.test(x))),
  { what: "the story to say the cluster came back from the browser's storage" });
  assert.match(recovered, /every server restarted from what its disk had synced/);
  await realTime(s);
  await until(() => committed(s, 'add 7'), { what: 'the committed "add 7" after the reload', timeoutMs: 30000 });
  await s.shot('webkit-02-static-recovered');
  assert.doesNotMatch(served, /"[A-Z]+ [^ "]*\/api\//, `the static host was asked for an API:\n${served}`);
  assert.deepEqual(await problems(s), []);
});

test('WebKit: the server\'s page connects, commits, and a crashed leader is replaced and restarts', async (t) => {
  const s = await open(t, `${backend.url}/?token=${TOKEN}`, { width: 1280, height: 720 });
  await until(() => connected(s), { what: 'the page to connect' });
  await record(s);
  await until(async () => (await leaders(s)).length === 1, { what: 'a leader', timeoutMs: 30000 });
  await append(s, 'add 7');
  await until(() => committed(s, 'add 7'), { what: '"add 7" to commit', timeoutMs: 20000 });
  await s.shot('webkit-03-server-committed');

  // Crash the leader from its panel (a click on its circle in the ring, an SVG element).
  const [old] = await leaders(s);
  const role = () => s.js((css) => document.querySelector(css).dataset.role, sel(old));
  await s.click(`${sel(old)} .body`);
  await until(async () => /Crash/.test(await text(s, 'node-crash')), { what: `${old}'s panel` });
  await s.click(sel('node-crash'));
  await until(async () => (await role()) === 'down', { what: `${old} shown down` });
  await until(async () => { const l = await leaders(s); return l.length === 1 && l[0] !== old; },
    { what: 'another server elected', timeoutMs: 30000 });
  await s.shot('webkit-04-server-crashed');
  await until(async () => /Restart/.test(await text(s, 'node-crash')), { what: 'the panel to offer Restart' });
  await s.click(sel('node-crash'));
  await until(async () => (await role()) !== 'down', { what: `${old} restarted` });
  // The restarted server catches up: its row shows it applied all the cluster committed.
  const id = old.replace('node-', '');
  await until(async () => {
    const { nodes } = await (await fetch(`${backend.url}/api/cluster`)).json();
    const shown = await s.js((css) => Number(document.querySelector(css)?.dataset.lastApplied), sel(`row-${id}`));
    return shown >= 2 && shown === Math.max(...nodes.map((n) => n.commit_index));
  }, { what: `${old}'s row to show it caught up`, timeoutMs: 20000 });
  await s.shot('webkit-05-server-restarted');
  assert.deepEqual(await problems(s), []);
});

const pastTheEdge = (s) => s.js(sidePanelsPastTheEdge);

for (const where of ['the server\'s presenter page', 'the static site']) {
  test(`WebKit at 390x844, ${where}: nothing runs past the right edge of a side panel`, async (t) => {
    const statics = where === 'the static site';
    // A WebKitGTK window is at least ~447 px wide, so the page is drawn in a 390x844 frame, put in
    // a page of the same origin (the server's page may only be framed by its own origin): the
    // static host's listing, or a JSON answer of the server's.
    const s = await open(t, statics ? site.replace('some/where/', '') : `${backend.url}/api/health`, { width: 480, height: 844 });
    await s.js((src) => {
      const frame = Object.assign(document.createElement('iframe'), { id: 'phone', src });
      frame.style.cssText = 'border:0;width:390px;height:844px;display:block';
      document.body.style.margin = '0';
      document.body.replaceChildren(frame);
    }, statics ? site : `${backend.url}/?token=${TOKEN}`);
    await s.cmd('POST', '/frame', { id: { [ELEMENT]: await s.find('#phone') } });
    await until(() => (statics ? running(s) : connected(s)), { what: 'the page in the frame to start', timeoutMs: 30000 });
    await record(s);
    assert.deepEqual(await s.js(() => [innerWidth, innerHeight]), [390, 844]);
    // The ring's servers drawn too, so that the layout is the running page's.
    await until(() => s.js(() => document.querySelectorAll('section.network label.slider > output').length
      && document.querySelectorAll('[data-testid^=node-][data-role]').length >= 3), { what: 'the sliders and the servers drawn' });
    await s.js(() => window.scrollTo(0, document.querySelector('section.network').getBoundingClientRect().top + window.scrollY));
    assert.deepEqual(await pastTheEdge(s), [], 'side-panel elements past the right edge');
    const width = await s.js(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(width[0] <= width[1] + 1, `the page is ${width[0]} px wide, its frame ${width[1]} px`);
    assert.deepEqual(await problems(s), []);
    // The window, not the frame: WebKitGTK's screenshot of the frame element comes out shifted,
    // a black band across its top.
    await s.cmd('POST', '/frame/parent', {});
    await s.shot(`webkit-06-network-390x844-${statics ? 'static' : 'server'}`);
  });
}
