// Branches (issue 8): a fork keeps the run it replaces as a branch; the page lists the branches
// and returns to one in a click, asking first when the current run has actions of its own (it is
// then kept as a branch too). Screenshots of the list at 1280x720 and 390x844.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, api, shot } from '../lib.mjs';
import { openPage, by, leader, inputMarker, scrubTo, committedTexts } from '../timeline-lib.mjs';

let backend;
let browser;
let page;
let errors;
const $ = (id) => by(page, id);

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

beforeEach(async () => {
  await api(backend.url, { type: 'reset', nodes: 5, seed: 11, log_model: 'command' });
  await api(backend.url, { type: 'speed', speed: 1 });
  await api(backend.url, { type: 'resume' });
  errors = [];
});

afterEach(async () => {
  await page?.close();
  assert.deepEqual(errors, [], 'the page logged no errors');
});

/** Append `command` through the API and wait until the page's committed log shows it. */
async function appendCommitted(command) {
  const r = await api(backend.url, { type: 'append', command });
  assert.equal(r.ok, true, JSON.stringify(r));
  await until(async () => (await committedTexts(page)).some((t) => t.includes(command)), { what: `${command} committed` });
}

async function forkedRun() {
  await leader(page);
  await appendCommitted('add 7');
  await appendCommitted('add 8');
  // Fork just before "add 8": the forked run has add 7 only.
  const at = await inputMarker(page, 'add 8');
  await scrubTo(page, Math.max(0, at - 20));
  await $('resume-here').click();
  await until(async () => /forked/.test((await page.locator('.timeline .reply.ok').textContent().catch(() => '')) || ''), { what: 'the fork' });
  await until(async () => !(await committedTexts(page)).some((t) => t.includes('add 8')), { what: 'add 8 gone from the live run' });
}

test('after a fork, the old run is a branch: return to it and its later entries are back', async () => {
  page = await openPage(browser, backend.url, errors);
  await forkedRun();
  // Something of the forked run's own: returning would leave it, so the page asks.
  await appendCommitted('add 3');
  await $('branches-toggle').click();
  const row = page.locator('[data-testid=branch][data-reason=fork]');
  await until(() => row.count(), { what: 'the fork branch in the list' });
  assert.match(await row.first().textContent(), /Resume from here .* inputs? up to t=/);
  await row.first().locator('[data-testid=branch-return]').click();
  await $('branch-confirm').waitFor();
  await shot(page, 'timeline-branches-01-confirm');
  assert.ok((await committedTexts(page)).some((t) => t.includes('add 3')), 'nothing changed before the confirmation');
  await $('branch-confirm-yes').click();
  await until(async () => /brought the branch back/.test((await page.locator('.timeline .reply.ok').textContent().catch(() => '')) || ''), { what: 'the return' });
  await until(async () => (await committedTexts(page)).some((t) => t.includes('add 8')), { what: 'add 8 back' });
  assert.ok(!(await committedTexts(page)).some((t) => t.includes('add 3')), 'add 3 was the other run');
  // The run it left is a branch in its turn.
  await until(() => page.locator('[data-testid=branch][data-reason=restored]').count(), { what: 'the left run listed' });
});

test('a move made elsewhere (another page, the API) updates this page\'s branch count', async () => {
  page = await openPage(browser, backend.url, errors);
  await leader(page);
  await appendCommitted('add 3');
  const count = async () => Number(/\((\d+)\)/.exec(await $('branches-toggle').textContent())[1]);
  const before = await until(async () => {
    const n = await count();
    return Number.isInteger(n) ? { n } : null;
  }, { what: 'the branch count' });
  const r = await fetch(`${backend.url}/api/fork`, { method: 'POST', body: JSON.stringify({ at_ms: 0 }) });
  assert.equal(r.status, 200, await r.text());
  await until(async () => (await count()) === before.n + 1, { what: 'the count to grow by the fork made elsewhere' });
});

test('returning loses nothing right after a fork: no question asked', async () => {
  page = await openPage(browser, backend.url, errors);
  await forkedRun();
  await $('branches-toggle').click();
  const row = page.locator('[data-testid=branch][data-reason=fork]');
  await until(() => row.count(), { what: 'the fork branch in the list' });
  await row.first().locator('[data-testid=branch-return]').click();
  await until(async () => (await committedTexts(page)).some((t) => t.includes('add 8')), { what: 'add 8 back' });
  assert.equal(await $('branch-confirm').count(), 0);
});

test('the branch list at 1280x720 and 390x844', async () => {
  page = await openPage(browser, backend.url, errors, { width: 1280, height: 720 });
  await forkedRun();
  await page.keyboard.press('u');
  await until(async () => /undid/.test((await page.locator('.timeline .reply.ok').textContent().catch(() => '')) || ''), { what: 'the undo' });
  await $('branches-toggle').click();
  await until(async () => (await page.locator('[data-testid=branch]').count()) >= 2, { what: 'two branches' });
  const fits = async () => page.evaluate(() => {
    const list = document.querySelector('[data-testid=branches]').getBoundingClientRect();
    return list.width > 0 && list.right <= window.innerWidth + 0.5 && document.documentElement.scrollWidth <= window.innerWidth;
  });
  assert.ok(await fits(), 'the list fits the width at 1280x720');
  await shot(page, 'timeline-branches-02-1280x720');
  await page.setViewportSize({ width: 390, height: 844 });
  await until(fits, { what: 'the list to fit at 390 wide' });
  await $('branches').scrollIntoViewIfNeeded();
  await shot(page, 'timeline-branches-03-390x844');
});
