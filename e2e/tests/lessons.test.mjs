// Lessons in the browser: open a scenario from the picker (two clicks from the top bar), predict,
// reveal, move on; and a teacher's file with a mistake, refused with its line number. Every check
// goes through the UI; the HTTP API only confirms where the cluster stands.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, launch, until, cluster, shot } from '../lib.mjs';

let backend;
let browser;
let page;
let errors;
let dir;

before(async () => {
  backend = process.env.LOGSCOPE_URL
    ? { url: process.env.LOGSCOPE_URL, stop: async () => {} }
    : await startBackend(['--speed', '1', '--seed', '11']);
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), 'logscope-lessons-'));
});

after(async () => {
  await browser?.close();
  await backend?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(backend.url);
  await until(() => page.locator('[data-testid=conn].open').count(), { what: 'the page to connect' });
});

afterEach(async () => {
  await page?.close();
  assert.deepEqual(errors, [], 'the page logged no errors');
});

const $ = (id) => page.locator(`[data-testid="${id}"]`);

test('a scenario opens from the picker, asks, and the reveal runs it and says why', async () => {
  await $('lessons-open').click();
  await until(() => $('lesson-first-election').count(), { what: 'the built-in lessons' });
  await $('lesson-first-election').click();
  await until(() => $('lesson-panel').count(), { what: 'the lesson panel' });
  assert.equal(await $('lesson-picker').count(), 0, 'the picker closes');
  assert.match(await $('lesson-question').innerText(), /Which server will become the first leader\?/);
  // What to look at to answer comes with the question (it waited for the reveal before).
  assert.match(await $('lesson-caption').innerText(), /Look at the rings/);
  const paused = await cluster(backend.url);
  assert.equal(paused.result?.paused ?? paused.paused, true, 'a lesson opens paused');
  assert.equal(await $('lesson-reveal').count(), 1);
  assert.equal(await $('lesson-next').count(), 0, 'no Next before the reveal');

  // Predict S2 (wrong on purpose), then reveal.
  await $('lesson-choice-1').click();
  assert.equal(await $('lesson-choice-1').getAttribute('aria-pressed'), 'true');
  await shot(page, 'lesson-ask');
  await $('lesson-reveal').click();
  await until(() => $('lesson-why').count(), { what: 'the why after the reveal' });
  assert.equal(await $('lesson-verdict').innerText(), 'Not quite. The answer: S1.');
  assert.match(await $('lesson-why').innerText(), /S1's timer fires first/);
  // The cluster ran to the outcome: S1 is drawn as leader.
  await until(() => page.locator('[data-testid=node-1][data-role=leader]').count(), { what: 'S1 drawn as leader' });
  await shot(page, 'lesson-revealed');

  // The reveal jumped there; "Watch the step" plays the instants in between from the history:
  // S1 is seen as a candidate on the way, then the live run (S1 leading) comes back.
  await $('lesson-replay').click();
  await $('past-banner').waitFor();
  await until(() => page.locator('[data-testid=node-1][data-role=candidate]').count(),
    { what: 'S1 seen as a candidate while the step plays', intervalMs: 20 });
  await shot(page, 'lesson-replay-candidate');
  await until(async () => (await $('past-banner').count()) === 0, { what: 'back to live after the step' });
  await until(() => page.locator('[data-testid=node-1][data-role=leader]').count(), { what: 'S1 leading again' });

  // Next: the following step's caption; Back returns to the reveal.
  await $('lesson-next').click();
  await until(async () => (await $('lesson-heading').innerText()) === "The leader's first entry", { what: 'step 2' });
  assert.match(await $('lesson-caption').innerText(), /no-op/);
  await $('lesson-back').click();
  await until(() => $('lesson-why').count(), { what: 'back at the reveal' });
  await $('lesson-close').click();
  await until(async () => (await $('lesson-panel').count()) === 0, { what: 'the panel to close' });
});

test("a teacher's file with a mistake is refused with its line number", async () => {
  const bad = join(dir, 'mine.lesson');
  writeFileSync(bad, 'title Mine\nnodes 3\n\nstep One\nsay Look.\ncrsh S1\n');
  await $('lessons-open').click();
  await $('lesson-file').setInputFiles(bad);
  await until(() => $('lesson-error').count(), { what: 'the error' });
  const text = await $('lesson-error').innerText();
  assert.match(text, /^line 6: unknown command 'crsh' \(did you mean 'crash'\?\); expected one of step, say/);
  await shot(page, 'lesson-upload-error');
  // The refusal is a 400, which Chromium reports on the console: that one is expected.
  errors = errors.filter((e) => !e.includes('status of 400'));

  const good = join(dir, 'good.lesson');
  writeFileSync(good, 'title Mine\nnodes 3\nseed 4\n\nstep One\nsay Watch the election.\nrun until leader elected\n');
  await $('lesson-file').setInputFiles(good);
  await until(() => $('lesson-panel').count(), { what: 'the uploaded lesson' });
  assert.equal(await $('lesson-caption').innerText(), 'Watch the election.');
  await $('lesson-close').click();
});

test('on a phone, a lesson opened from the picker is brought into view', async () => {
  // A lesson left open by an earlier test: close it, so that this one is newly opened.
  await fetch(`${backend.url}/api/lesson/close`, { method: 'POST' });
  await until(async () => (await $('lesson-panel').count()) === 0, { what: 'no lesson open' });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await $('lessons-open').click();
  await until(() => $('lesson-first-election').count(), { what: 'the built-in lessons' });
  await $('lesson-first-election').click();
  await until(() => $('lesson-panel').count(), { what: 'the lesson panel' });
  // Stacked under the ring, the panel would be out of sight: the page scrolls to it.
  await until(async () => {
    const box = await $('lesson-panel').boundingBox();
    return box && box.y < 844 && box.y + box.height > 0;
  }, { what: 'the lesson panel in view' });
  await shot(page, 'lessons-phone-in-view');
  await $('lesson-close').click().catch(() => {});
});

test('at the projector (1280x720, presenter view) a clicker drives a lesson and its buttons stay in sight', async () => {
  await fetch(`${backend.url}/api/lesson/close`, { method: 'POST' });
  await until(async () => (await $('lesson-panel').count()) === 0, { what: 'no lesson open' });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.keyboard.press('p');
  await until(async () => (await page.locator('.app.presenter').count()) === 1, { what: 'the presenter view' });
  await $('lessons-open').click();
  await until(() => $('lesson-leader-crash').count(), { what: 'the built-in lessons' });
  await $('lesson-leader-crash').click();
  await until(() => $('lesson-panel').count(), { what: 'the lesson panel' });
  const inView = async (id, width = 1280, height = 720) => {
    const b = await $(id).boundingBox();
    return b !== null && b.y >= 0 && b.y + b.height <= height && b.x >= 0 && b.x + b.width <= width;
  };
  // PageDown (what a presentation clicker sends) moves on to the question.
  await until(async () => {
    if (await $('lesson-reveal').count()) return true;
    if (!(await $('lesson-next').isDisabled())) await page.keyboard.press('PageDown');
    return false;
  }, { what: 'the question, by PageDown', timeoutMs: 15000, intervalMs: 500 });
  assert.ok(await inView('lesson-reveal'), 'Reveal is on the screen');
  assert.ok(await inView('lesson-close'), 'Close is on the screen');
  // The next PageDown reveals; the answer and Next are on the screen.
  await page.keyboard.press('PageDown');
  await until(() => $('lesson-why').count(), { what: 'the answer' });
  await until(() => inView('lesson-why'), { what: 'the answer in sight' });
  assert.ok(await inView('lesson-next'), 'Next is on the screen');
  await shot(page, 'lessons-presenter-1280-revealed');
  // On a 1920x1080 projector (the column drawn 1.3 times larger) the lesson has the column:
  // beside the story it had 293 px, and the room's tally showed one bar of three.
  await page.setViewportSize({ width: 1920, height: 1080 });
  await until(async () => page.evaluate(() => {
    const panel = document.querySelector('[data-testid=lesson-panel]');
    const story = document.querySelector('.side > .narration');
    return panel.clientHeight >= 340 && (!story || getComputedStyle(story).display === 'none');
  }), { what: 'the lesson to have the side column at 1920x1080' });
  await until(() => inView('lesson-why', 1920, 1080), { what: 'the answer in sight at 1920x1080' });
  await shot(page, 'lessons-presenter-1920-revealed');
  await page.setViewportSize({ width: 1280, height: 720 });
  // PageUp goes back.
  const step = await page.locator('.lesson-panel, [data-testid=lesson-panel]').innerText();
  await page.keyboard.press('PageUp');
  await until(async () => (await $('lesson-panel').innerText()) !== step, { what: 'PageUp to go back' });
  await page.keyboard.press('p');
});
