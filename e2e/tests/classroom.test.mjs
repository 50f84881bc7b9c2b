// The bugs found by trying the page as a lecturer (issue 11), each checked through the page:
// the log pane and a tapped server on a phone, a stale leader in the centre, the pause badge and
// cut marks clear of the centre text, a drawn die, a new cluster's clean slate, the controls
// staying beside an inspected server, an exact quorum counter, the help pausing the run, and the
// offline screen a student sees. The HTTP API only sets up a known cluster (reset, heal, speed).
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, api, shot } from '../lib.mjs';

const SPEED = 1;
let backend;
let browser;
let page;
let errors;

before(async () => {
  backend = process.env.LOGSCOPE_URL
    ? { url: process.env.LOGSCOPE_URL, stop: async () => {} }
    // `--allow-host`: the student's page below is opened by a name, which the Host check
    // refuses unless the teacher allowed it.
    : await startBackend(['--speed', String(SPEED), '--seed', '11', '--allow-host', 'classroom.test']);
  // A name that is not this machine's, for the page a student opens (see the offline test).
  browser = await launch(['--host-resolver-rules=MAP classroom.test 127.0.0.1']);
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

async function openPage(options = { viewport: { width: 1600, height: 1000 } }, url = backend.url) {
  const context = await browser.newContext(options);
  const p = await context.newPage();
  p.on('pageerror', (e) => errors.push(e.message));
  p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await p.goto(url);
  return p;
}

beforeEach(async () => {
  await api(backend.url, { type: 'reset', nodes: 5, seed: 11, log_model: 'command' });
  await api(backend.url, { type: 'heal' });
  await api(backend.url, { type: 'network', loss_probability: 0, latency_ms_min: 5, latency_ms_max: 15 });
  await api(backend.url, { type: 'speed', speed: SPEED });
  await api(backend.url, { type: 'resume' });
  errors = [];
  page = await openPage();
  await until(() => page.locator('[data-testid=conn].open').count(), { what: 'the page to connect' });
});

afterEach(async () => {
  await page?.context().close();
  assert.deepEqual(errors, [], 'the page logged no errors');
});

const $ = (id, p = page) => p.locator(`[data-testid="${id}"]`);

async function leader(p = page, { above = 0 } = {}) {
  return until(async () => {
    const leaders = p.locator('[data-testid^=node-][data-role=leader]:not([data-stale=true])');
    if ((await leaders.count()) !== 1) return null;
    const id = Number((await leaders.getAttribute('data-testid')).slice(5));
    const term = Number(await leaders.getAttribute('data-term'));
    return term > above ? { id, term } : null;
  }, { what: `one leader${above ? ` above term ${above}` : ''}`, timeoutMs: 15000 });
}

const paused = async (p = page) => (await $('app', p).getAttribute('data-paused')) === 'true';

function overlap(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Commit `n` entries (set-up: through the HTTP API, retried while an election is under way). */
async function commitEntries(n) {
  for (let i = 0; i < n; i++) {
    await until(async () => (await api(backend.url, { type: 'append', command: 'add 1' })).ok, { what: 'an append to be taken' });
  }
}

test('bug 1 and 4: on a phone the log pane shows the newest entries and a tapped server opens on screen', async () => {
  await leader();
  await commitEntries(12);
  const phone = await openPage({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  await until(() => phone.locator('[data-testid=conn].open').count(), { what: 'the phone page to connect' });
  const last = await until(async () => {
    const n = Number((await $('global-commit', phone).textContent()).split(' ')[0]);
    return n >= 13 ? n : null;
  }, { what: 'the entries to commit' });
  await $('logs', phone).scrollIntoViewIfNeeded();
  const pane = await phone.locator('.logs-scroll').boundingBox();
  const newest = await until(() => $(`entry-c-${last}`, phone).boundingBox(), { what: `entry ${last} drawn` });
  assert.ok(newest.x >= pane.x - 1 && newest.x + newest.width <= pane.x + pane.width + 1,
    `the newest entry (x ${newest.x}..${newest.x + newest.width}) is inside the pane (x ${pane.x}..${pane.x + pane.width})`);
  await shot(phone, 'c01-phone-logs');
  // The start of the log is out of sight: a button says where it is, and goes there.
  await $('logs-first', phone).tap();
  await until(async () => {
    const first = await $('entry-c-1', phone).boundingBox().catch(() => null);
    return first && first.x >= pane.x - 1 && first.x + first.width <= pane.x + pane.width + 1;
  }, { what: 'entry 1 in the pane' });
  await until(async () => (await $('logs-first', phone).count()) === 0, { what: 'the button to go at the start' });

  await phone.evaluate(() => window.scrollTo(0, 0));
  await $('node-2', phone).locator('.body').tap();
  await $('node-panel', phone).waitFor();
  const panel = await $('node-panel', phone).boundingBox();
  assert.ok(panel.y >= 0 && panel.y < 844 * 0.75, `the server's panel starts on screen (y ${panel.y})`);
  await shot(phone, 'c02-phone-panel');
  await phone.context().close();
});

test('bug 4 on a tablet: a clicked server\'s panel, stacked under the ring, is brought into view', async () => {
  const tablet = await openPage({ viewport: { width: 1024, height: 768 }, hasTouch: true });
  await until(() => tablet.locator('[data-testid=conn].open').count(), { what: 'the tablet page to connect' });
  await $('node-3', tablet).locator('.body').tap();
  await $('node-panel', tablet).waitFor();
  await until(async () => {
    const panel = await $('node-panel', tablet).boundingBox();
    return panel.y >= 0 && panel.y < 768 * 0.75;
  }, { what: 'the panel to be on screen' });
  await tablet.context().close();
});

test('bug 2: a leader cut off in the minority is shown as believing it leads an old term', async () => {
  const old = await leader();
  await $('split-minority').click();
  const said = await until(async () => {
    if (!(await $('centre-stale').count())) return null;
    const text = (await $('centre-stale').textContent()).replace(/;\s*/, '; ');
    const m = text.match(/^S(\d) believes it leads term (\d+); the cluster is at term (\d+) \((S(\d) leads|no leader yet)\)$/);
    return m && m[4] !== 'no leader yet' ? m : null;
  }, { what: 'the centre to tell the stale leader apart' });
  assert.equal(Number(said[1]), old.id);
  assert.equal(Number(said[2]), old.term);
  assert.ok(Number(said[3]) > old.term, 'the cluster is at a newer term');
  assert.notEqual(Number(said[5]), old.id);
  assert.equal(await $('centre-leader').textContent(), `S${said[5]} leads`);
  assert.equal(await $(`node-${old.id}`).getAttribute('data-stale'), 'true');
  assert.match(await $(`row-${old.id}`).textContent(), /old leader/);
  assert.doesNotMatch(await $(`row-${old.id}`).textContent(), /^S\d\s*leader/i);
  await shot(page, 'c03-stale-leader');
});

test('bug 5: the pause badge and the cut marks keep off the centre text, in-memory entries stay readable, the seed button draws its die', async () => {
  await leader();
  await $('isolate-1').click();
  await until(async () => (await page.locator('.cut-mark').count()) === 4, { what: 'four cut marks around S1' });
  await page.keyboard.press('Space');
  await until(() => paused(), { what: 'paused' });
  const title = await $('centre-leader').boundingBox();
  const sub = await page.locator('.centre-sub').boundingBox();
  const badge = await $('pause-badge').boundingBox();
  assert.ok(!overlap(badge, title) && !overlap(badge, sub), 'the pause badge is clear of the centre text');
  for (const mark of await page.locator('.cut-mark').all()) {
    const box = await mark.boundingBox();
    assert.ok(!overlap(box, title) && !overlap(box, sub), `a cut mark at ${JSON.stringify(box)} is on the centre text`);
  }
  await shot(page, 'c04-paused-isolated');
  // An entry in memory only (appended while paused: not yet synced) keeps its text on solid
  // colour: the stripes are only its base, where a synced entry has a dark one.
  await $('heal').click();
  await $('append-input').fill('add 2');
  await $('append-submit').click();
  const unsynced = page.locator('.log-row .cell.unsynced').first();
  await unsynced.waitFor({ timeout: 15000 });
  const stripes = await unsynced.evaluate((el) => getComputedStyle(el).backgroundSize);
  const band = Number((stripes.split(' ')[1] || '').replace('px', ''));
  assert.ok(band > 0 && band <= 10, `the stripes cover a base band only (background-size ${stripes})`);
  await $('reset-open').click();
  const die = $('random-seed');
  assert.equal(await die.locator('svg').count(), 1, 'the die is drawn by the page');
  assert.equal((await die.textContent()).trim(), '', 'no emoji that needs a font');
  const seed = await $('reset-seed').inputValue();
  await die.click();
  await until(async () => (await $('reset-seed').inputValue()) !== seed, { what: 'a new random seed' });
});

test('bug 6: a new cluster clears the old run\'s story and reply lines', async () => {
  await leader();
  await $('append-input').fill('add 3');
  // On a loaded machine an election can be under way at the click ("no leader"): click again.
  for (let attempt = 1; !(await page.locator('.client .reply.ok').count()); attempt++) {
    assert.ok(attempt <= 3, 'the append was taken');
    await $('append-submit').click();
    await until(() => page.locator('.client .reply').count(), { what: 'a reply line' });
  }
  await until(() => page.locator('[data-testid=narration] li', { hasText: 'A client sent "add 3"' }).count(), { what: 'the append narrated' });
  await $('reset-open').click();
  await $('reset-submit').click();
  await until(async () => (await $('reset-dialog').count()) === 0, { what: 'the dialog to close' });
  await until(() => page.locator('[data-testid=narration] li', { hasText: 'A new cluster' }).count(), { what: 'the new cluster said' });
  assert.equal(await page.locator('[data-testid=narration] li', { hasText: 'add 3' }).count(), 0, 'the old story is gone');
  assert.equal(await page.locator('.client .reply').count(), 0, 'the old reply is gone');
});

test('bug 7: selecting a server keeps the client and network panels', async () => {
  await leader();
  await $('node-2').locator('.body').click();
  await $('node-panel').waitFor();
  assert.ok(await page.locator('section.client').isVisible(), 'client requests still there');
  assert.ok(await page.locator('section.network').isVisible(), 'network still there');
  await $('isolate-3').click();
  await until(async () => (await $('link-2-3').getAttribute('data-blocked')) === 'both', { what: 'S3 isolated with S2 selected' });
});

test('bug 8: the quorum counter counts the disks that hold the entry, and says so', async () => {
  const l = await leader();
  await page.keyboard.press('Space');
  await until(() => paused(), { what: 'paused' });
  await $('append-input').fill('add 9');
  await $('append-submit').click();
  const marker = page.locator('[data-testid^=quorum-]').last();
  await marker.waitFor({ timeout: 15000 });
  const index = Number((await marker.getAttribute('data-testid')).split('-')[1]);
  // Step through the replication; at every step the counter equals the rows showing it on disk.
  for (let step = 0; step < 40 && (await $(`quorum-${index}`).count()); step++) {
    const seq = await $('app').getAttribute('data-seq');
    const shown = Number(await $(`quorum-${index}`).getAttribute('data-disks'));
    let onDisk = 0;
    for (let id = 1; id <= 5; id++) {
      const cell = $(`entry-${id}-${index}`);
      if ((await cell.count()) && / synced/.test(await cell.getAttribute('class'))) onDisk++;
    }
    if (await $(`quorum-${index}`).count()) {
      assert.equal(shown, onDisk, `step ${step}: counter ${shown}, rows on disk ${onDisk}`);
      const title = await $(`quorum-${index}`).getAttribute('title');
      assert.match(title, onDisk ? new RegExp(`on the disks of ${onDisk} of 5 servers \\(`) : /on no server's disk yet/);
      assert.doesNotMatch(title, /servers' disks/);
    }
    await $('step').click();
    try {
      await until(async () => (await $('app').getAttribute('data-seq')) !== seq, { what: 'a step' });
    } catch (e) {
      // Seen in CI once: a Step that processed a silent queue item (a heartbeat waiting behind
      // the leader's fsync) showed nothing; `Sim::step_to_event` now steps past those. Should a
      // Step show nothing again, say what the page and the server showed.
      await shot(page, 'bug8-step-showed-nothing');
      const conn = await $('conn').getAttribute('class');
      const health = await fetch(`${backend.url}/api/health`).then((r) => r.json()).catch((x) => String(x));
      throw new Error(`${e.message}; step ${step}, page seq ${seq}, conn "${conn}", `
        + `page text "${(await $('app').innerText()).slice(0, 400)}", health ${JSON.stringify(health)}`);
    }
  }
  assert.ok(l.id >= 1);
});

test('bug 9: the help pauses the run and resumes it on close, but leaves a paused run paused', async () => {
  await leader();
  assert.equal(await paused(), false);
  await page.keyboard.press('?');
  await $('help').waitFor();
  await until(() => paused(), { what: 'the help to pause the run' });
  await page.keyboard.press('Escape');
  await until(async () => !(await paused()), { what: 'closing the help to resume' });
  await page.keyboard.press('Space');
  await until(() => paused(), { what: 'paused by hand' });
  await $('help-open').click();
  await $('help').waitFor();
  // The help is taller than the screen: its Close stays whole in sight (it was cut at the
  // bottom at 1920x1080).
  const close = await $('help-close').boundingBox();
  const height = page.viewportSize().height;
  assert.ok(close.y >= 0 && close.y + close.height <= height, `Close at ${close.y}+${close.height} of ${height}`);
  await $('help-close').click();
  await until(async () => (await $('help').count()) === 0, { what: 'the help to close' });
  assert.equal(await paused(), true, 'a run paused by hand stays paused');
});

test('bug 10: a student whose page cannot reach the server is told it is the presenter\'s', async () => {
  const port = new URL(backend.url).port;
  const student = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const p = await student.newPage();
  await p.routeWebSocket(/\/ws$/, (ws) => ws.close());
  await p.goto(`http://classroom.test:${port}/`);
  await $('offline', p).waitFor({ timeout: 15000 });
  const text = await $('offline', p).textContent();
  assert.match(text, /presenter's server cannot be reached/);
  assert.doesNotMatch(text, /run\.sh/, 'nothing to run on a student\'s device');
  await shot(p, 'c05-offline-viewer');
  await student.close();
});
