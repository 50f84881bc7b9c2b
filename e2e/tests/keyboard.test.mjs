// The page without a mouse (an accessibility review of 2026-12-02 with axe-core and the
// keyboard): a dialog takes the focus when it opens, keeps Tab inside, closes with Escape and
// gives the focus back to the button that opened it; the page's letters do nothing behind an
// open dialog (`k` crashed the leader behind the help); a lesson's Reveal leaves the focus on
// the verdict, not on the page's body; the timeline track, a slider, steps with the arrow keys;
// and a screen reader is told who leads and which server is down (a polite live region).
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, api, cluster, openPage } from '../lib.mjs';

let backend;
let browser;
let page;
let errors;
const $ = (id) => page.locator(`[data-testid="${id}"]`);
/** The `data-testid` of the focused element, or of the nearest ancestor that has one. */
const focused = () => page.evaluate(() => document.activeElement?.closest('[data-testid]')?.dataset.testid ?? null);
/** The server that leads, from the HTTP API (undefined while none does). */
const leaderId = async () => (await cluster(backend.url)).nodes.find((n) => n.role === 'leader')?.id;
/** Whether the focused element is inside the element `[data-testid=id]`. */
const focusIn = (id) => page.evaluate((id) => !!document.activeElement?.closest(`[data-testid="${id}"]`), id);

before(async () => {
  backend = await startBackend(['--speed', '1', '--seed', '11']);
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
  page = await openPage(browser, backend.url, errors, { width: 1280, height: 720 });
});

afterEach(async () => {
  await page?.close();
  assert.deepEqual(errors, [], 'the page logged no errors');
});

test('New cluster: the focus goes to its first field, stays inside on Tab, and comes back on Escape', async () => {
  await $('reset-open').focus();
  await page.keyboard.press('Enter');
  await until(async () => (await focused()) === 'reset-nodes', { what: 'the focus on the servers field' });
  // More Tabs than the dialog has stops: the focus never leaves it.
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await focusIn('reset-dialog'), `Tab ${i + 1} stays in the dialog (on ${await focused()})`);
  }
  await page.keyboard.press('Shift+Tab');
  assert.ok(await focusIn('reset-dialog'), 'Shift+Tab stays in the dialog');
  await page.keyboard.press('Escape');
  await until(async () => (await $('reset-dialog').count()) === 0, { what: 'the dialog to close' });
  await until(async () => (await focused()) === 'reset-open', { what: 'the focus back on New cluster…' });
});

test('behind the open help, k does not crash the leader; Escape closes it', async () => {
  const lead = await until(async () => leaderId(), { what: 'a leader' });
  await page.locator('body').press('?');
  await $('help').waitFor();
  await until(() => focusIn('help'), { what: 'the focus in the help' });
  await page.keyboard.press('k');
  await page.keyboard.press('Tab');
  assert.ok(await focusIn('help'), 'Tab stays in the help');
  await page.keyboard.press('Escape');
  await until(async () => (await $('help').count()) === 0, { what: 'the help to close' });
  const c = await cluster(backend.url);
  assert.ok(c.nodes.find((n) => n.id === lead).up, `S${lead} is still up`);
});

test('the lesson picker closes with Escape; after Reveal the focus is on the verdict', async () => {
  await $('lessons-open').focus();
  await page.keyboard.press('Enter');
  await $('lesson-picker').waitFor();
  await until(() => focusIn('lesson-picker'), { what: 'the focus in the picker' });
  await page.keyboard.press('Escape');
  await until(async () => (await $('lesson-picker').count()) === 0, { what: 'Escape to close the picker' });
  await until(async () => (await focused()) === 'lessons-open', { what: 'the focus back on Lessons' });

  await page.keyboard.press('Enter');
  await $('lesson-first-election').waitFor();
  await $('lesson-first-election').focus();
  await page.keyboard.press('Enter');
  await $('lesson-panel').waitFor();
  await $('lesson-choice-1').focus();
  await page.keyboard.press('Enter');
  await $('lesson-reveal').focus();
  await page.keyboard.press('Enter');
  await $('lesson-verdict').waitFor();
  await until(async () => (await focused()) === 'lesson-verdict', { what: 'the focus on the verdict' });
  // From there the keyboard goes on to the lesson's buttons, not from the top of the page.
  await page.keyboard.press('Tab');
  assert.ok(await focusIn('lesson-panel'), `Tab after the verdict stays in the lesson (on ${await focused()})`);
  await $('lesson-close').click();
});

test('the timeline track steps back with the left arrow; Escape on a dialog there leaves the past alone', async () => {
  await until(async () => leaderId(), { what: 'a leader' });
  await api(backend.url, { type: 'pause' });
  await $('track').focus();
  await page.keyboard.press('ArrowLeft');
  await $('past-banner').waitFor();
  assert.match(await $('track').getAttribute('aria-valuetext'), /^t=/);
  // Escape closes a dialog opened over the past, and only the dialog.
  await page.locator('body').press('?');
  await $('help').waitFor();
  await page.keyboard.press('Escape');
  await until(async () => (await $('help').count()) === 0, { what: 'the help to close' });
  assert.equal(await $('past-banner').count(), 1, 'still in the past');
  await $('back-to-live').click();
  await until(async () => (await $('past-banner').count()) === 0, { what: 'back to live' });
});

test('a screen reader is told who leads and who is down', async () => {
  const lead = await until(async () => leaderId(), { what: 'a leader' });
  const live = $('announce');
  assert.equal(await live.getAttribute('aria-live'), 'polite');
  await until(async () => new RegExp(`^S${lead} leads term \\d+\\.$`).test(await live.textContent()),
    { what: `the announcement of S${lead}` });
  await api(backend.url, { type: 'crash', node: lead });
  await until(async () => (await live.textContent()).includes(`S${lead} is down.`),
    { what: `S${lead} down announced` });
});

test('Space presses a control reached by Tab; after a click it pauses, as before', async () => {
  await until(async () => leaderId(), { what: 'a leader' });
  const paused = async () => (await $('app').getAttribute('data-paused')) === 'true';
  // Reached by the keyboard: Space opens the help, the button's own action.
  await $('help-open').focus();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'help-open');
  assert.ok(await page.evaluate(() => document.activeElement.matches(':focus-visible')), 'a keyboard focus ring');
  await page.keyboard.press(' ');
  await $('help').waitFor();
  await page.keyboard.press('Escape');
  await until(async () => (await $('help').count()) === 0, { what: 'the help to close' });
  await until(async () => !(await paused()), { what: 'the help to resume the run' });
  // Clicked with the mouse: Space is the page's pause key, not a second click.
  await page.keyboard.press('.');
  await until(paused, { what: 'paused by "."' });
  const seq = await $('app').getAttribute('data-seq');
  await $('step').click();
  await until(async () => (await $('app').getAttribute('data-seq')) !== seq, { what: 'the click to step' });
  assert.equal(await focused(), 'step');
  await page.keyboard.press(' ');
  await until(async () => !(await paused()), { what: 'Space to resume the run' });
});

test('the arrow keys walk the log table, and the caption says what each index holds', async () => {
  const lead = await until(async () => leaderId(), { what: 'a leader' });
  await api(backend.url, { type: 'append', command: 'add 4' });
  await until(async () => (await cluster(backend.url)).nodes.every((n) => n.commit_index >= 2), { what: 'two committed entries' });
  await api(backend.url, { type: 'pause' });
  const last = Math.max(...(await cluster(backend.url)).nodes.map((n) => n.log_len));
  await page.locator('[data-testid=logs] .logs-scroll').focus();
  await page.keyboard.press('ArrowLeft');
  const caption = $('column-caption');
  assert.equal(await caption.getAttribute('role'), 'status', 'a screen reader hears it');
  await until(async () => (await caption.innerText()).startsWith(`Index ${last}: committed`), { what: `the caption of index ${last}` });
  await page.keyboard.press('ArrowLeft');
  await until(async () => (await caption.innerText()).startsWith(`Index ${last - 1}: `), { what: 'one index back' });
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await $('app').getAttribute('data-paused'), 'true', 'the arrows did not reach the page\'s keys');
  assert.match(await caption.innerText(), new RegExp(`S${lead}`));
  await page.keyboard.press('Escape');
  await until(async () => (await caption.count()) === 0, { what: 'Escape to close the caption' });
});
