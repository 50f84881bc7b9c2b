// "Try it yourself" (issue 11): a viewer forks the presenter's cluster into a sandbox run by its
// own browser. Two browser contexts, a presenter (with the token) and a viewer (without): the
// viewer's copy starts at the instant its page shows (the presenter's past instant when
// following a scrub), takes the viewer's commands (a crash) without touching the class's
// cluster, and "Back to the class" makes the page a following viewer again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, shot, cluster, openPage } from '../lib.mjs';

const TOKEN = 'e2e-presenter-token-sandbox';
let backend;
let browser;
let errors = [];

before(async () => {
  backend = await startBackend(['--token', TOKEN, '--speed', '1', '--seed', '5']);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

const open = (url, viewport) => openPage(browser, url, errors, viewport);

const $ = (p, id) => p.locator(`[data-testid="${id}"]`);
const text = async (p, id) => (await $(p, id).innerText()).trim();
const engine = (p) => $(p, 'conn').getAttribute('data-engine');
const leaderOf = async (p) => {
  const l = p.locator('[data-testid^=node-][data-role=leader]');
  return (await l.count()) === 1 ? (await l.getAttribute('data-testid')).replace('node-', '') : null;
};

test('a viewer forks the class into a sandbox, breaks it alone, and comes back', async (t) => {
  errors = [];
  const presenter = await open(`${backend.url}/?token=${TOKEN}`, { width: 1280, height: 720 });
  const viewer = await open(backend.url, { width: 1280, height: 720 });
  t.after(() => Promise.all([presenter, viewer].map((p) => p.context().close())));
  await $(viewer, 'viewer-bar').waitFor();
  await until(() => leaderOf(viewer), { what: 'a leader on the viewer page' });

  // A copy of what the viewer sees now, paused, in the viewer's browser.
  await $(viewer, 'sandbox-start').click();
  await $(viewer, 'sandbox-bar').waitFor();
  assert.equal(await engine(viewer), 'sandbox');
  assert.match(await text(viewer, 'sandbox-notice'), /the class's cluster as it was at t=\d/);
  assert.equal(await $(viewer, 'viewer-bar').count(), 0);
  assert.equal(await viewer.locator('[data-testid=app]').getAttribute('data-paused'), 'true');
  await until(() => leaderOf(viewer), { what: 'the leader in the sandbox' });
  // The story says it once (the connection and the sandbox's first state both said it).
  assert.equal(await viewer.locator('[data-testid=narration] li', { hasText: "the class's cluster as it was" }).count(), 1,
    'the sandbox told once in the story');
  const sandboxLeader = await leaderOf(viewer);

  // The viewer commands its own copy: k crashes its leader. The class's cluster is untouched.
  await viewer.keyboard.press('k');
  await until(async () => (await $(viewer, `node-${sandboxLeader}`).getAttribute('data-role')) === 'down',
    { what: 'the crash in the sandbox' });
  const classNode = (await cluster(backend.url)).nodes.find((n) => String(n.id) === sandboxLeader);
  assert.equal(classNode.up, true, "the class's server is still up");
  await until(async () => (await $(presenter, `node-${sandboxLeader}`).getAttribute('data-role')) !== 'down',
    { what: "the presenter's page unchanged" });
  await shot(viewer, 'sandbox-viewer-crashed');

  // Back to the class: a following viewer again.
  await $(viewer, 'sandbox-leave').click();
  await $(viewer, 'viewer-bar').waitFor();
  await until(async () => (await engine(viewer)) === 'server', { what: 'the server again' });
  assert.equal(await text(viewer, 'follow-state'), 'Following the presenter');
  assert.deepEqual(errors, []);
});

test("a viewer following the presenter's scrub forks at that past instant", async (t) => {
  errors = [];
  const presenter = await open(`${backend.url}/?token=${TOKEN}`, { width: 1280, height: 720 });
  const viewer = await open(backend.url, { width: 390, height: 844 });
  t.after(() => Promise.all([presenter, viewer].map((p) => p.context().close())));
  const track = $(presenter, 'track');
  await until(async () => Number(await track.getAttribute('data-end-ms')) > 2000,
    { what: 'two virtual seconds on the track' });
  const box = await track.boundingBox();
  await presenter.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
  await $(presenter, 'past-banner').waitFor();
  const instant = (await text(presenter, 'past-time')).replace(/^Viewing /, '');
  await until(async () => (await $(viewer, 'past-time').count()) > 0
    && (await text(viewer, 'past-time')).endsWith(instant), { what: 'the viewer at the instant' });

  await $(viewer, 'sandbox-start').click();
  await $(viewer, 'sandbox-bar').waitFor();
  // Forked at the instant shown, however far the class has run since.
  assert.ok((await text(viewer, 'sandbox-notice')).includes(`at ${instant},`), `forked at ${instant}`);
  assert.equal(await $(viewer, 'past-banner').count(), 0, 'the sandbox is its own live run');
  await shot(viewer, 'sandbox-viewer-phone');
  assert.deepEqual(errors, []);
});

test("a share link opened on a viewer's page opens in the viewer's own sandbox", async (t) => {
  errors = [];
  const presenter = await open(`${backend.url}/?token=${TOKEN}`, { width: 1280, height: 720 });
  t.after(() => presenter.context().close());
  await until(() => leaderOf(presenter), { what: 'a leader' });
  const link = await (await fetch(`${backend.url}/api/trace/link`)).json();
  assert.equal(link.ok, true, JSON.stringify(link));
  // A student opens a link a classmate copied: the class's run is the presenter's to change.
  const viewer = await open(`${backend.url}/#trace=${link.result.fragment}&t=0.500`, { width: 1280, height: 720 });
  t.after(() => viewer.context().close());
  await $(viewer, 'sandbox-bar').waitFor();
  assert.equal(await engine(viewer), 'sandbox');
  assert.match(await text(viewer, 'sandbox-notice'), /the run of the link you opened, as it was at t=0\.5 s/);
  assert.equal((await cluster(backend.url)).paused, false, "the class's run goes on");
  assert.equal(await $(viewer, 'key-error').count(), 0, 'no refusal shown');
  await shot(viewer, 'sandbox-from-link');
  assert.deepEqual(errors, []);
});
