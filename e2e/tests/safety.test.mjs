// The "break Raft" lab in the browser: switch a rule off in the page, stage the scenario through
// the API (a trace that sets up the election, then crash/restart/timeout), and watch the safety
// panel go red, name the invariant and the servers, and rewind to before the input that led there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, launch, until, api, cluster, shot, ROOT } from '../lib.mjs';

let backend;
let browser;

before(async () => {
  backend = process.env.LOGSCOPE_URL
    ? { url: process.env.LOGSCOPE_URL, stop: async () => {} }
    : await startBackend(['--speed', '1', '--seed', '11']);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

test('switching on a broken rule and running its scenario turns the safety panel red', async () => {
  // S1 leads term 1 with S3's vote; S1 and S2 cannot talk; S1's AppendEntries never reach S3.
  const setup = readFileSync(join(ROOT, 'e2e', 'fixtures', 'vote-twice-setup.json'), 'utf8');
  const loaded = await fetch(`${backend.url}/api/trace`, { method: 'POST', body: setup, headers: { 'content-type': 'application/json' } });
  assert.equal(loaded.status, 200, await loaded.text());

  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(backend.url);
  const $ = (id) => page.locator(`[data-testid="${id}"]`);
  await until(() => page.locator('[data-testid=conn].open').count(), { what: 'the page to connect' });
  assert.equal(await $('safety').getAttribute('data-state'), 'green');

  // The switch, with its warning, in the page.
  await $('break-forget_vote_on_restart').check();
  await until(async () => (await cluster(backend.url)).safety?.broken_rules?.forget_vote_on_restart,
    { what: 'the rule switched off on the server' });
  assert.match(await $('break-raft').innerText(), /broken on purpose/);

  // The scenario: S3 restarts (forgetting its term-1 vote for S1), then S2 asks for it.
  await api(backend.url, { type: 'crash', node: 3 });
  await api(backend.url, { type: 'restart', node: 3 });
  await api(backend.url, { type: 'timeout', node: 2 });

  await until(async () => (await $('safety').getAttribute('data-state')) === 'red', { what: 'the panel to turn red' });
  assert.match(await $('safety-headline').innerText(), /Election safety broken.*S1, S2/);
  assert.equal(await $('safety-election-safety').getAttribute('class'), 'safety-row bad');
  assert.equal(await page.locator('[data-testid=app]').getAttribute('data-paused'), 'true', 'the run paused');
  await shot(page, 'safety-red');

  // Rewind to before the input that led there: green again.
  await $('safety-rewind').click();
  await until(async () => (await $('safety').getAttribute('data-state')) === 'green', { what: 'the panel back to green' });
  assert.deepEqual(errors, []);
  await page.close();
});
