// Lessons, part two: a "break Raft" scenario opened from the picker reaches its violation and the
// safety panel goes red; a power loss leaves the unsynced tail as ghosts in that server's row;
// the teacher's auto-pause stops the run at an election and says why, auto-slow slows it there for
// a few seconds and gives the speed back; a second page follows the lesson, and its close,
// without a reload. Every check goes through the UI; the HTTP API only resets the cluster and
// confirms where it stands.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, api, cluster, shot } from '../lib.mjs';

let backend;
let browser;
let page;
let errors;

before(async () => {
  backend = process.env.LOGSCOPE_URL
    ? { url: process.env.LOGSCOPE_URL, stop: async () => {} }
    // A slow disk (60 virtual ms per fsync), so an entry stays unsynced while the test steps (a
    // much slower one would keep every election from finishing: votes are synced first).
    : await startBackend(['--speed', '0.5', '--seed', '11', '--fsync-ms', '60']);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

/** A fresh running 3-server cluster (the CLI's timings: the broken-rule lesson runs last, since
 * a reset keeps the timings of the run it replaces). */
async function fresh() {
  await api(backend.url, { type: 'reset', nodes: 3, seed: 11, log_model: 'command' });
  await api(backend.url, { type: 'resume' });
}

async function open(viewport = { width: 1280, height: 720 }) {
  page = await browser.newPage({ viewport });
  errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(backend.url);
  await until(() => page.locator('[data-testid=conn].open').count(), { what: 'the page to connect' });
}

beforeEach(() => { page = null; });

afterEach(async () => {
  await page?.close();
  assert.deepEqual(errors ?? [], [], 'the page logged no errors');
});

const $ = (id) => page.locator(`[data-testid="${id}"]`);

test('a power loss leaves the unsynced entries as ghosts in that row', async () => {
  await fresh();
  await open();
  // A leader first (the run goes on at half speed), then pause and step by hand.
  await until(() => page.locator('[data-testid^=node-][data-role=leader]').count(), { what: 'a leader' });
  await until(async () => (await $('pause').innerText()).includes('Pause'), { what: 'the run going' });
  await $('pause').click();
  await until(async () => (await cluster(backend.url)).paused, { what: 'paused' });
  const leader = Number((await page.locator('[data-testid^=node-][data-role=leader]').first().getAttribute('data-testid')).slice(5));
  const follower = leader === 1 ? 2 : 1;
  const index = (await cluster(backend.url)).nodes.find((n) => n.id === leader).log_len + 1;
  await $('append-input').fill('add 5');
  await $('append-submit').click();
  // Step until the follower holds the entry in memory only (its fsync takes 60 ms).
  const entry = page.locator(`[data-testid="entry-${follower}-${index}"]`);
  await until(async () => {
    if (await entry.count()) return true;
    await $('step').click();
    return false;
  }, { what: `S${follower} to hold entry ${index}`, intervalMs: 100 });
  assert.match(await entry.getAttribute('class'), /unsynced/);
  await page.locator(`[data-testid=node-${follower}] .body`).click();
  await $('node-power-loss').click();
  const ghost = $(`ghost-${follower}-${index}`);
  await until(() => ghost.count(), { what: 'the ghost of the lost entry' });
  assert.equal(await ghost.getAttribute('data-reason'), 'lost in power loss: never synced');
  assert.match(await ghost.getAttribute('title'), /add 5 · lost in power loss: never synced/);
  assert.equal(await entry.count(), 0, 'the entry itself is gone');
  await shot(page, 'ghost-power-loss-1280');
  // On a phone the inspector is a sheet over the page: close it to see the row.
  await page.getByRole('button', { name: 'Close' }).first().click();
  await page.setViewportSize({ width: 390, height: 844 });
  await ghost.scrollIntoViewIfNeeded();
  assert.ok(await ghost.isVisible(), 'the ghost is on screen on a phone');
  await shot(page, 'ghost-power-loss-390');
});

test('auto-pause stops the run at an election and says why', async () => {
  await fresh();
  await open();
  const toggle = $('auto-pause');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false', 'off by default');
  // Switched on once the first leader's no-op committed, so the next key moment is the
  // election that follows the crash below.
  await until(() => page.locator('[data-testid^=node-][data-role=leader]').count(), { what: 'a leader' });
  await until(async () => (await cluster(backend.url)).nodes.some((n) => n.commit_index >= 1), { what: 'a commit' });
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  const leader = page.locator('[data-testid^=node-][data-role=leader]').first();
  await leader.locator('.body').click();
  await $('node-crash').click();
  await until(() => $('auto-pause-why').count(), { what: 'the auto-pause' });
  assert.match(await $('auto-pause-why').innerText(), /^Paused: S\d won the election for term ([2-9]|\d\d+)$/);
  assert.equal((await cluster(backend.url)).paused, true, 'the server paused');
  await shot(page, 'auto-pause-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, 'auto-pause-390');
  // Resuming clears the reason.
  await $('pause').click();
  await until(async () => (await $('auto-pause-why').count()) === 0, { what: 'the reason to go' });
  await toggle.click();
});

test('auto-slow slows the run at an election, says why, then gives the speed back', async () => {
  await fresh();
  await open();
  const slow = $('auto-slow');
  assert.equal(await slow.getAttribute('aria-pressed'), 'false', 'off by default');
  await until(() => page.locator('[data-testid^=node-][data-role=leader]').count(), { what: 'a leader' });
  await until(async () => (await cluster(backend.url)).nodes.some((n) => n.commit_index >= 1), { what: 'a commit' });
  const chosen = (await cluster(backend.url)).speed;
  await slow.click();
  assert.equal(await slow.getAttribute('aria-pressed'), 'true');
  // One setting: auto-pause switches auto-slow off, and back.
  await $('auto-pause').click();
  assert.equal(await slow.getAttribute('aria-pressed'), 'false');
  await slow.click();
  assert.equal(await $('auto-pause').getAttribute('aria-pressed'), 'false');
  const leader = page.locator('[data-testid^=node-][data-role=leader]').first();
  await leader.locator('.body').click();
  await $('node-crash').click();
  await until(() => $('auto-pause-why').count(), { what: 'the slowdown' });
  // The new leader's first commit follows within a second and is a key moment too: the reason
  // may already name it (the slowdown then runs on from there).
  assert.match(await $('auto-pause-why').innerText(),
    /^Slowed: (S\d won the election for term ([2-9]|\d\d+)|the first entry of term ([2-9]|\d\d+) committed: entry \d+)$/);
  const slowed = await until(async () => {
    const s = (await cluster(backend.url)).speed;
    return s < chosen && s;
  }, { what: 'the server to slow down' });
  assert.equal(slowed, Math.max(chosen / 10, 0.001), 'ten times slower');
  assert.equal((await cluster(backend.url)).paused, false, 'slowed, not paused');
  await shot(page, 'auto-slow-1280');
  // A few seconds later the teacher's speed is back and the reason gone.
  await until(async () => (await cluster(backend.url)).speed === chosen, { what: 'the speed to come back', timeoutMs: 15000 });
  await until(async () => (await $('auto-pause-why').count()) === 0, { what: 'the reason to go' });
  await slow.click();
  assert.equal(await slow.getAttribute('aria-pressed'), 'false');
});

test('a broken-rule scenario from the picker turns the safety panel red', async () => {
  await open();
  assert.equal(await $('safety').getAttribute('data-state'), 'green');
  // A second page (the projector, a student) learns of the lesson without a reload.
  const other = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await other.goto(backend.url);
  await until(() => other.locator('[data-testid=conn].open').count(), { what: 'the other page to connect' });
  await $('lessons-open').click();
  await until(() => $('lesson-broken-forget-vote').count(), { what: 'the broken-rule lessons in the picker' });
  await $('lesson-broken-forget-vote').click();
  await until(() => $('lesson-panel').count(), { what: 'the lesson panel' });
  assert.match(await $('lesson-caption').innerText(), /NOT Raft/);
  await until(async () => (await cluster(backend.url)).safety?.broken_rules?.forget_vote_on_restart,
    { what: 'the rule switched off on the server' });
  assert.equal(await $('safety').getAttribute('data-state'), 'green', 'nothing broken yet');

  await until(() => other.locator('[data-testid=lesson-panel]').count(), { what: 'the other page to show the lesson' });
  await $('lesson-next').click();
  await until(async () => (await $('lesson-heading').innerText()) === 'S3 restarts', { what: 'step 2' });
  await until(async () => (await other.locator('[data-testid=lesson-heading]').innerText()) === 'S3 restarts',
    { what: 'the other page to follow to step 2' });
  await $('lesson-next').click();
  await until(() => $('lesson-reveal').count(), { what: 'the question of step 3' });
  await $('lesson-choice-1').click();
  await $('lesson-reveal').click();
  await until(async () => (await $('safety').getAttribute('data-state')) === 'red', { what: 'the panel to turn red' });
  assert.match(await $('safety-headline').innerText(), /election safety/i);
  assert.match(await $('lesson-why').innerText(), /votes again|forgot its vote/);
  await shot(page, 'lesson-broken-red');
  await $('lesson-close').click();
  // Closing moves no cluster (no snapshot), yet the other page drops the lesson at once.
  await until(async () => (await other.locator('[data-testid=lesson-panel]').count()) === 0,
    { what: 'the other page to close the lesson' });
  await other.close();
});
