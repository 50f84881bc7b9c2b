// A presenter and viewers in two (or three) browser contexts against a server that requires the
// presenter's token (issue 11): a viewer's page has no controls and its keys and raw WebSocket
// commands are refused with a clear message; it follows the presenter's selection and layout,
// leaves follow mode and rejoins it with one click; the presenter's page shows the viewer URL and
// its QR code; and a page from another origin cannot open the WebSocket at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startBackend, launch, until, freePort, shot, openPage } from '../lib.mjs';

const TOKEN = 'e2e-presenter-token-7';
let backend;
let browser;
let errors = [];

/** A command with the presenter's token (test setup only). */
async function control(command) {
  const r = await fetch(`${backend.url}/api/commands`, {
    method: 'POST',
    body: JSON.stringify(command),
    headers: { 'content-type': 'application/json', 'x-logscope-token': TOKEN },
  });
  return r.json();
}

before(async () => {
  // --token on loopback: the token is required, as when bound to the classroom network.
  backend = await startBackend(['--token', TOKEN, '--speed', '1', '--seed', '11']);
  browser = await launch(['--host-resolver-rules=MAP evil.test 127.0.0.1']);
  await control({ type: 'network', loss_probability: 0, latency_ms_min: 5, latency_ms_max: 15 });
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

const open = (url, viewport = { width: 1600, height: 1000 }) => openPage(browser, url, errors, viewport);

const presenterUrl = () => `${backend.url}/?token=${TOKEN}`;
const $ = (p, id) => p.locator(`[data-testid="${id}"]`);
const panelTitle = (p) => $(p, 'node-panel').getAttribute('aria-label');

test('a viewer sees no controls, and its keys and raw WebSocket commands are refused', async () => {
  errors = [];
  const viewer = await open(backend.url);
  await $(viewer, 'viewer-bar').waitFor();
  assert.match(await $(viewer, 'viewer-bar').innerText(), /watching the presenter's cluster \(read-only\)/);
  assert.equal(await $(viewer, 'stale-presenter-link').count(), 0, 'a student link is not a stale presenter link');
  for (const id of ['pause', 'step', 'speed', 'reset-open', 'append-input', 'append-submit', 'heal', 'isolate-1',
    'undo', 'lessons-open', 'break-raft']) {
    assert.equal(await $(viewer, id).isVisible(), false, `${id} is hidden from a viewer`);
  }
  assert.equal(await viewer.locator('.timeline-tools .import').isVisible(), false, 'no import for a viewer');
  assert.equal(await $(viewer, 'download-trace').isVisible(), true, 'a viewer may download the run');
  // A server's panel opens (looking is allowed) but has no actions.
  await $(viewer, 'node-2').locator('.body').click();
  await $(viewer, 'node-panel').waitFor();
  assert.equal(await $(viewer, 'node-crash').isVisible(), false, 'no crash button for a viewer');
  await viewer.keyboard.press('Escape');

  // "k" would crash the leader: the page says why it does not.
  await viewer.keyboard.press('k');
  await $(viewer, 'key-error').waitFor();
  assert.match(await $(viewer, 'key-error').innerText(), /read-only/);
  await viewer.keyboard.press('Space');
  await $(viewer, 'error-playback').waitFor();
  assert.match(await $(viewer, 'error-playback').innerText(), /read-only/);
  // "u" (and Ctrl+Z) would undo: the same sentence, and nothing asked of the server.
  const branchesBefore = (await (await fetch(`${backend.url}/api/trace/branches`)).json()).result.length;
  await $(viewer, 'key-error').click(); // clicked away, so that the next one is u's
  await until(async () => (await $(viewer, 'key-error').count()) === 0, { what: "k's refusal to go" });
  await viewer.keyboard.press('u');
  await $(viewer, 'key-error').waitFor();
  assert.match(await $(viewer, 'key-error').innerText(), /read-only/);
  assert.equal(await $(viewer, 'error-history').count(), 0, 'no developer message under the timeline');
  const branchesAfter = (await (await fetch(`${backend.url}/api/trace/branches`)).json()).result.length;
  assert.equal(branchesAfter, branchesBefore, 'no undo reached the server');
  // Said for a few seconds, then gone (the toast covered the story until clicked).
  await until(async () => (await $(viewer, 'key-error').count()) === 0
    && (await $(viewer, 'error-playback').count()) === 0, { what: 'the refusals to go by themselves', timeoutMs: 15000 });
  // The help must not pause the presenter's run.
  await viewer.keyboard.press('?');
  await $(viewer, 'help').waitFor();
  // It lists what a viewer can do: no key that changes the cluster, no "pauses the run".
  const help = await $(viewer, 'help').innerText();
  assert.doesNotMatch(help, /crash the leader|pause \/ resume|pauses the run/);
  assert.match(help, /presenter view/);
  await $(viewer, 'help-viewer').waitFor();
  const health = await (await fetch(`${backend.url}/api/health`)).json();
  assert.equal(health.paused, false, "a viewer's help leaves the run going");
  assert.equal(health.nodes_up, 5, 'nothing was crashed');

  // A hand-written WebSocket command from the viewer's page: refused with a sentence.
  const raw = await viewer.evaluate(() => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    let role;
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'hello') {
        role = m.role;
        ws.send(JSON.stringify({ request_id: 9, type: 'reset' }));
      } else if (m.type === 'reply' && m.request_id === 9) {
        resolve({ role, ok: m.ok, error: m.error });
        ws.close();
      }
    };
  }));
  assert.equal(raw.role, 'viewer');
  assert.equal(raw.ok, false);
  assert.match(raw.error, /read-only \(a viewer\)/);
  await viewer.context().close();
  assert.deepEqual(errors, []);
});

test('a presenter link the server does not take says so, rather than leave the presenter read-only in silence', async () => {
  errors = [];
  const stale = await open(`${backend.url}/?token=an-older-token-1`);
  await $(stale, 'viewer-bar').waitFor();
  assert.match(await $(stale, 'stale-presenter-link').innerText(), /presenter link it printed/);
  await stale.context().close();
  assert.deepEqual(errors, []);
});

test('the presenter shows the viewer URL and its QR code; viewers follow, leave and rejoin', async () => {
  errors = [];
  const presenter = await open(presenterUrl());
  await $(presenter, 'share-bar').waitFor();
  assert.equal(await $(presenter, 'viewer-bar').count(), 0, 'the presenter is not read-only');
  assert.equal(await $(presenter, 'viewer-url').innerText(), `${backend.url}/`);
  // Served on 127.0.0.1 only (the default --bind): the strip says students cannot open it.
  assert.match(await $(presenter, 'viewer-url-warning').innerText(), /only this computer.*--bind 0\.0\.0\.0/);
  await $(presenter, 'qr-open').click();
  await $(presenter, 'qr').waitFor();
  const d = await $(presenter, 'qr').locator('path').getAttribute('d');
  assert.ok(d.length > 1000, 'the QR code has its modules');
  await shot(presenter, 'follow-qr');
  await presenter.mouse.click(5, 5); // close it
  await until(async () => (await $(presenter, 'qr').count()) === 0, { what: 'the QR code to close' });

  const viewer = await open(backend.url);
  const witness = await open(backend.url); // a second viewer that keeps following
  assert.match(await $(viewer, 'follow-state').innerText(), /Following the presenter/);

  // The presenter opens S3: both viewers open it too.
  await $(presenter, 'node-3').locator('.body').click();
  for (const v of [viewer, witness]) {
    await until(async () => (await $(v, 'node-panel').count()) && (await panelTitle(v)) === 'Server S3',
      { what: "a viewer to follow the presenter's selection" });
  }
  // The projector layout follows too.
  await presenter.keyboard.press('p');
  await until(() => viewer.locator('.app.presenter').count(), { what: 'the layout to follow' });
  await presenter.keyboard.press('p');
  await until(async () => (await viewer.locator('.app.presenter').count()) === 0, { what: 'the layout back' });

  // One viewer stops following: the presenter's next selection moves the witness only.
  await $(viewer, 'follow-stop').click();
  assert.match(await $(viewer, 'follow-state').innerText(), /on your own/);
  await $(presenter, 'node-1').locator('.body').click();
  await until(async () => (await panelTitle(witness)) === 'Server S1', { what: 'the witness to follow' });
  assert.equal(await panelTitle(viewer), 'Server S3', 'a viewer on its own keeps its selection');
  await shot(viewer, 'follow-viewer-own');

  // One click to follow again: straight to what the presenter shows now.
  await $(viewer, 'follow-start').click();
  await until(async () => (await panelTitle(viewer)) === 'Server S1', { what: 'the viewer to rejoin' });
  assert.match(await $(viewer, 'follow-state').innerText(), /Following the presenter/);

  // A viewer that arrives later gets the presenter's current view at once.
  const late = await open(backend.url);
  await until(async () => (await $(late, 'node-panel').count()) && (await panelTitle(late)) === 'Server S1',
    { what: 'a late viewer to get the current view' });
  for (const p of [presenter, viewer, witness, late]) await p.context().close();
  assert.deepEqual(errors, []);
});

test('a page from another origin cannot open the WebSocket', async () => {
  // An "attacker" page on another origin (evil.test, mapped to this machine) tries the server.
  const port = await freePort();
  const target = `ws://127.0.0.1:${backend.port}/ws`;
  const server = http.createServer((_, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>elsewhere</title>');
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`http://evil.test:${port}/`);
  const outcome = await page.evaluate((url) => new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.onopen = () => resolve('open');
    ws.onclose = (ev) => resolve(`closed ${ev.code}`);
  }), target);
  assert.equal(outcome, 'closed 1006', 'the handshake is refused (403), so the socket never opens');
  // And a cross-origin command over HTTP is refused even with a simple (no-preflight) POST.
  const status = await page.evaluate(async (url) => {
    try {
      const r = await fetch(url, { method: 'POST', mode: 'no-cors', body: '{"type":"pause"}', headers: { 'content-type': 'text/plain' } });
      return r.type;
    } catch (e) {
      return `error ${e}`;
    }
  }, `${backend.url}/api/commands`);
  assert.equal(status, 'opaque');
  const health = await (await fetch(`${backend.url}/api/health`)).json();
  assert.equal(health.paused, false, 'the cross-origin POST did not pause the run');
  await context.close();
  server.close();
});
