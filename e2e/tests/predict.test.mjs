// The classroom's predictions and scrubbing (issue 11), a presenter (with the token, 1280x720)
// and a viewer (without, a phone at 390x844) in two browser contexts: the viewer answers the
// lesson's question and changes its mind, the presenter's page shows "1 of 1 answered" live and
// the reveal puts the tally next to the right answer on both; and when the presenter scrubs the
// timeline back, a following viewer shows the same instant, then goes live with the presenter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, shot, openPage } from '../lib.mjs';

const TOKEN = 'e2e-presenter-token-9';
let backend;
let browser;
let errors = [];

before(async () => {
  // --token on loopback: the token is required, as when bound to the classroom network.
  backend = await startBackend(['--token', TOKEN, '--speed', '1', '--seed', '11']);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

const open = (url, viewport) => openPage(browser, url, errors, viewport);

const PRESENTER = { width: 1280, height: 720 };
const PHONE = { width: 390, height: 844 };
const presenterUrl = () => `${backend.url}/?token=${TOKEN}`;
const $ = (p, id) => p.locator(`[data-testid="${id}"]`);
const text = async (p, id) => (await $(p, id).innerText()).trim();

test('a following viewer shows the instant the presenter scrubs to, and goes live with it', async (t) => {
  errors = [];
  const presenter = await open(presenterUrl(), PRESENTER);
  const viewer = await open(backend.url, PHONE);
  // Closed even when the test fails: a page left open would count as a viewer in the next.
  t.after(() => Promise.all([presenter, viewer].map((p) => p.context().close())));
  await $(viewer, 'viewer-bar').waitFor();
  // A few seconds of run on the track, so that 40 % of it is well in the past.
  const track = $(presenter, 'track');
  await until(async () => Number(await track.getAttribute('data-end-ms')) > 2000,
    { what: 'two virtual seconds on the track' });
  const box = await track.boundingBox();
  await presenter.mouse.click(box.x + box.width * 0.4, box.y + box.height / 2);
  await $(presenter, 'past-banner').waitFor();
  const instant = await text(presenter, 'past-time');
  assert.match(instant, /^Viewing /);

  await $(viewer, 'past-banner').waitFor();
  await until(async () => (await text(viewer, 'past-time')) === instant,
    { what: `the viewer at the presenter's instant (${instant})` });
  assert.equal(await $(viewer, 'resume-here').isVisible(), false, 'a viewer cannot resume the run');
  await shot(viewer, 'predict-viewer-scrubbed');

  // Back by events ([, several events may share one instant): the viewer follows too.
  await until(async () => {
    await presenter.keyboard.press('[');
    return (await text(presenter, 'past-time')) !== instant;
  }, { what: 'an earlier instant', intervalMs: 300 });
  const earlier = await text(presenter, 'past-time');
  await until(async () => (await text(viewer, 'past-time')) === earlier,
    { what: `the viewer one event back too (${earlier})` });

  // Back to live: the viewer too.
  await $(presenter, 'back-to-live').click();
  await until(async () => (await $(viewer, 'past-banner').count()) === 0, { what: 'the viewer back to live' });

  // A viewer exploring on its own is left where it is; rejoining goes to the presenter's instant.
  await $(viewer, 'follow-stop').click();
  await presenter.mouse.click(box.x + box.width * 0.3, box.y + box.height / 2);
  await $(presenter, 'past-banner').waitFor();
  const again = await text(presenter, 'past-time');
  assert.equal(await $(viewer, 'past-banner').count(), 0, 'not following: still live');
  await $(viewer, 'follow-start').click();
  await until(async () => (await $(viewer, 'past-banner').count()) > 0
    && (await text(viewer, 'past-time')) === again, { what: 'the rejoining viewer at the instant' });
  await $(presenter, 'back-to-live').click();
  await until(async () => (await $(viewer, 'past-banner').count()) === 0, { what: 'live again' });
  assert.deepEqual(errors, []);
});

test('a viewer answers the question, the presenter sees the tally live and the reveal shows it', async (t) => {
  errors = [];
  const presenter = await open(presenterUrl(), PRESENTER);
  const viewer = await open(backend.url, PHONE);
  t.after(() => Promise.all([presenter, viewer].map((p) => p.context().close())));
  await $(presenter, 'lessons-open').click();
  await $(presenter, 'lesson-first-election').click();
  await $(presenter, 'lesson-question').waitFor();

  // The viewer's page asks the question in its own card (no Back / Reveal of the presenter's).
  await $(viewer, 'viewer-question').waitFor();
  assert.match(await $(viewer, 'viewer-question').innerText(), /Which server will become the first leader\?/);
  assert.equal(await $(viewer, 'lesson-reveal').count(), 0);
  // The step's text as the projector shows it, so a student at the back reads along.
  assert.match(await $(viewer, 'viewer-lesson').innerText(), /First election\s+Step 1 of 2/);
  assert.equal(await text(viewer, 'viewer-lesson-heading'), await text(presenter, 'lesson-heading'));
  await until(async () => (await text(presenter, 'tally-summary')) === '0 of 1 answered',
    { what: 'the presenter to count one viewer' });

  await $(viewer, 'answer-1').click();
  await until(async () => /Your answer: S2/.test(await text(viewer, 'answer-status')), { what: 'the pick' });
  await until(async () => (await text(presenter, 'tally-summary')) === '1 of 1 answered',
    { what: '"1 of 1 answered" on the presenter' });
  assert.match(await text(presenter, 'tally-1'), /S2\s*1/);

  // Changeable until the reveal: still one answer, now for S1.
  await $(viewer, 'answer-0').click();
  await until(async () => /S1\s*1/.test(await text(presenter, 'tally-0'))
    && /S2\s*0/.test(await text(presenter, 'tally-1')), { what: 'the changed answer in the tally' });
  assert.equal(await text(presenter, 'tally-summary'), '1 of 1 answered');
  await shot(presenter, 'predict-presenter-tally');
  await shot(viewer, 'predict-viewer-answered');

  // The reveal: the right answer and the tally on both pages; answers are closed.
  await $(presenter, 'lesson-reveal').click();
  await $(viewer, 'answer-right').first().waitFor();
  await until(async () => (await text(viewer, 'answer-status')) === 'Right: S1.', { what: 'the verdict' });
  assert.equal(await text(viewer, 'viewer-tally'), '1 of 1 answered');
  assert.equal(await $(viewer, 'answer-1').isDisabled(), true, 'answers are closed');
  await until(() => presenter.locator('[data-testid="tally-0"].right').count(), { what: 'the right row marked' });
  await shot(presenter, 'predict-presenter-revealed');
  await shot(viewer, 'predict-viewer-revealed');

  // The next step asks nothing: the card goes away.
  await $(presenter, 'lesson-next').click();
  await until(async () => (await $(viewer, 'viewer-question').count()) === 0, { what: 'the card to go' });
  await until(async () => /Step 2 of 2/.test(await $(viewer, 'viewer-lesson').innerText()), { what: 'the step on the viewer' });
  // The last stop: the student's card says the lesson is over, as the projector does.
  await $(viewer, 'viewer-lesson-end').waitFor();
  await $(presenter, 'lesson-close').click();
  await until(async () => (await $(viewer, 'viewer-lesson').count()) === 0, { what: 'the lesson to close on the viewer' });
  assert.deepEqual(errors, []);
});

test("a student's page in the presenter's layout shows the question and still reaches the cluster", async (t) => {
  errors = [];
  const presenter = await open(presenterUrl(), PRESENTER);
  const LAPTOP = { width: 1024, height: 768 };
  const viewer = await open(backend.url, LAPTOP);
  t.after(() => Promise.all([presenter, viewer].map((p) => p.context().close())));
  await presenter.keyboard.press('p');
  await until(() => viewer.locator('.app.presenter').count(), { what: "the viewer to follow the presenter's layout" });
  await $(presenter, 'lessons-open').click();
  await $(presenter, 'lesson-first-election').click();
  await $(viewer, 'viewer-question').waitFor();
  // The question and the step above the cluster: the page scrolls down to it (it was fixed to
  // the window, the ring and the logs below its edge, out of reach).
  const ring = viewer.locator('[data-testid=ring]');
  await ring.scrollIntoViewIfNeeded();
  const box = await ring.boundingBox();
  assert.ok(box.y >= 0 && box.y + box.height <= LAPTOP.height + 1,
    `the ring can be brought on the screen (${Math.round(box.y)}..${Math.round(box.y + box.height)})`);
  assert.ok(box.height >= 0.4 * LAPTOP.height, `the ring keeps the projector's size (${Math.round(box.height)} px)`);
  const row = await viewer.locator('[data-testid=log-committed]').boundingBox();
  assert.ok(row && row.y + row.height <= LAPTOP.height + 1, 'with the committed row beside it');
  await shot(viewer, 'predict-viewer-presenter-layout');
  await presenter.keyboard.press('p');
  await $(presenter, 'lesson-close').click();
  await until(async () => (await $(viewer, 'viewer-lesson').count()) === 0, { what: 'the lesson to close on the viewer' });
  assert.deepEqual(errors, []);
});
