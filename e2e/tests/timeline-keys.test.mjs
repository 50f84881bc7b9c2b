// The timeline's keys and the controls while the past is shown (issue 8): keys and buttons that
// act on the run are refused while a past instant is on screen (saying how to act from there),
// `r` resumes from that instant; Ctrl+Z and `u` undo; `,` steps back while paused, `[` and `]`
// step through events.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, api, cluster, shot } from '../lib.mjs';
import { openPage, by, leader, scrubTo } from '../timeline-lib.mjs';

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
  page = await openPage(browser, backend.url, errors);
});

afterEach(async () => {
  await page?.close();
  assert.deepEqual(errors, [], 'the page logged no errors');
});

/** The inputs the live run has had (every action and pause/speed change is one). */
async function inputs() {
  return (await (await fetch(`${backend.url}/api/trace`)).json()).inputs.length;
}

test('Back to live takes the past\'s refusal away at once', async () => {
  await leader(page);
  await until(async () => Number(await $('track').getAttribute('data-end-ms')) > 1500, { what: 'a second and a half of run' });
  await scrubTo(page, 1000);
  await page.keyboard.press('k');
  await until(async () => /looking at the past/.test(await $('key-error').textContent()), { what: 'the refusal of k' });
  await $('back-to-live').click();
  // Well before the 6 s a refusal otherwise stays up.
  await until(async () => (await $('key-error').count()) === 0, { what: 'the refusal to go with the past', timeoutMs: 2000 });
});

test('while the past is shown, keys and buttons that act on the run are refused; r resumes from there', async () => {
  const l = await leader(page);
  await until(async () => Number(await $('track').getAttribute('data-end-ms')) > 1500, { what: 'a second and a half of run' });
  await scrubTo(page, 1000);
  const before = await inputs();

  // k (crash the leader), c (append), space (pause): each says why, none reaches the run.
  for (const key of ['k', 'c']) {
    await page.keyboard.press(key);
    await until(async () => /looking at the past .*Resume from here \(r\)/.test(await $('key-error').textContent()),
      { what: `the refusal of ${key}` });
    await $('key-error').click();
  }
  await page.keyboard.press(' ');
  await until(async () => /looking at the past/.test(await $('error-playback').textContent()), { what: 'the refusal of space' });
  // A button of the dimmed controls, pressed from the keyboard (dimming does not stop Enter).
  await $('append-submit').evaluate((b) => b.click());
  await until(async () => /looking at the past/.test(await $('error-append').textContent()), { what: 'the refusal of Append' });
  await shot(page, 'timeline-keys-01-refused');
  const c = await cluster(backend.url);
  assert.equal(await inputs(), before, 'no input reached the live run');
  assert.ok(c.nodes.every((n) => n.up), 'no server was crashed');
  assert.equal(c.paused, false, 'the live run was not paused');
  assert.ok(await $('past-banner').count(), 'still showing the past');

  // r: resume from the instant shown, then the keys act again.
  const shown = Number((await $('past-time').textContent()).match(/t=([\d.]+) s/)[1]) * 1000;
  await page.keyboard.press('r');
  const reply = await until(async () => {
    const t = (await page.locator('.timeline .reply.ok').textContent().catch(() => '')) || '';
    return /forked/.test(t) ? t : null;
  }, { what: 'the fork reply' });
  const at = Number(reply.match(/now at (\d+) ms/)[1]);
  assert.ok(Math.abs(at - shown) <= 100, `forked at the instant shown (${at} ms, shown ${shown} ms)`);
  assert.equal(await $('past-banner').count(), 0);
  const now = await leader(page);
  await page.keyboard.press('k');
  await until(async () => (await $(`node-${now.id}`).getAttribute('data-role')) === 'down', { what: 'k to crash the leader' });
  assert.ok(l.id > 0);
});

test('Ctrl+Z undoes a crash', async () => {
  const l = await leader(page);
  const victim = (l.id % 5) + 1;
  await api(backend.url, { type: 'crash', node: victim });
  await until(async () => (await $(`node-${victim}`).getAttribute('data-role')) === 'down', { what: 'the crash to show' });
  await page.keyboard.press('Control+z');
  await until(async () => (await $(`node-${victim}`).getAttribute('data-role')) !== 'down', { what: 'Ctrl+Z to bring it back' });
  assert.match(await page.locator('.timeline .reply.ok').textContent(), /undid/);
  assert.equal((await cluster(backend.url)).nodes.find((n) => n.id === victim).up, true);
});

test('u undoes the last action, again and again', async () => {
  await leader(page);
  await api(backend.url, { type: 'crash', node: 1 });
  await api(backend.url, { type: 'crash', node: 2 });
  await until(async () => (await $('node-2').getAttribute('data-role')) === 'down', { what: 'both crashes to show' });
  await page.keyboard.press('u');
  await until(async () => (await $('node-2').getAttribute('data-role')) !== 'down', { what: 'u to take back the second crash' });
  assert.equal(await $('node-1').getAttribute('data-role'), 'down', 'the first crash stays');
  await page.keyboard.press('u');
  await until(async () => (await $('node-1').getAttribute('data-role')) !== 'down', { what: 'u to take back the first crash' });

  // Pressed twice at once, u undoes twice: the second press waits for the first undo.
  await api(backend.url, { type: 'crash', node: 3 });
  await api(backend.url, { type: 'crash', node: 4 });
  await until(async () => (await $('node-4').getAttribute('data-role')) === 'down', { what: 'two more crashes to show' });
  await page.keyboard.press('u');
  await page.keyboard.press('u');
  await until(async () => (await $('node-3').getAttribute('data-role')) !== 'down'
    && (await $('node-4').getAttribute('data-role')) !== 'down', { what: 'u u to take back both crashes' });
});

test(', steps back one event while paused; ] steps forward, then back to live', async () => {
  await leader(page);
  await api(backend.url, { type: 'pause' });
  await until(async () => (await $('pause').textContent()).includes('Resume'), { what: 'the page to show the pause' });
  const live = Number(await $('app').getAttribute('data-seq'));
  await page.keyboard.press(',');
  await $('past-banner').waitFor();
  const back = Number(await $('app').getAttribute('data-seq'));
  assert.ok(back < live, `, went back (${back} < ${live})`);
  await page.keyboard.press(',');
  await until(async () => Number(await $('app').getAttribute('data-seq')) < back, { what: 'a second , to go further back' });
  const further = Number(await $('app').getAttribute('data-seq'));
  await page.keyboard.press(']');
  await until(async () => Number(await $('app').getAttribute('data-seq')) > further, { what: '] to step forward' });
  // ] until the end: back to live.
  await until(async () => {
    if ((await $('past-banner').count()) === 0) return true;
    await page.keyboard.press(']');
    return false;
  }, { what: '] past the end to return to live' });
  assert.equal(Number(await $('app').getAttribute('data-seq')), live);
});

test('[ steps back from the live run and Escape returns', async () => {
  await leader(page);
  await page.keyboard.press('[');
  await $('past-banner').waitFor();
  const seq = Number(await $('app').getAttribute('data-seq'));
  await page.keyboard.press('[');
  await until(async () => Number(await $('app').getAttribute('data-seq')) < seq, { what: 'a second [' });
  await page.keyboard.press('Escape');
  await until(async () => (await $('past-banner').count()) === 0, { what: 'Escape to return to live' });
});
