// A student's phone and a tablet, by touch (a review of 2026-12-02 that tried the student's
// flows with Chromium's touch emulation): a finger on the timeline scrolls the page and scrubs
// only sideways (a swipe there showed the past); tapping the append box and typing replaces the
// suggestion ("add 5add 7" was sent); a tapped server's sheet leaves the ring in sight; and no
// width from a phone held sideways to a tablet scrolls the page sideways.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, api } from '../lib.mjs';

let backend;
let browser;
let errors;
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

before(async () => {
  backend = await startBackend(['--speed', '1', '--seed', '7']);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

afterEach(() => assert.deepEqual(errors, [], 'the page logged no errors'));

/** A page in a new context with `options`, once its servers are drawn. */
async function open(t, options, url = backend.url) {
  errors = [];
  const context = await browser.newContext(options);
  t.after(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await until(async () => (await page.locator('[data-testid^=node-]').count()) > 0, { what: 'the servers drawn' });
  return page;
}

const by = (page, id) => page.locator(`[data-testid="${id}"]`);

/** A finger put down at (x, y), moved by (dx, dy) in steps, and lifted: through Chromium's own
 *  touch input, so that the browser decides whether it scrolls the page. */
async function swipe(page, x, y, dx, dy) {
  const cdp = await page.context().newCDPSession(page);
  const at = (k) => [{ x: x + dx * k, y: y + dy * k }];
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(0) });
  for (let k = 1; k <= 10; k++) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(k / 10) });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

test('a finger on the timeline: a swipe up scrolls the page, a drag sideways scrubs', async (t) => {
  await api(backend.url, { type: 'resume' });
  const page = await open(t, phone);
  await until(async () => Number(await by(page, 'track').getAttribute('data-end-ms')) > 1500, { what: 'a run to scrub' });
  await api(backend.url, { type: 'pause' });
  const box = await by(page, 'track').boundingBox();
  const [x, y] = [box.x + box.width * 0.6, box.y + box.height / 2];
  // A scrub asks the server for the instant (`GET /api/trace/at`) from the finger's move
  // itself: counted, so that a wrong scrub is seen without waiting for what it would draw.
  const asked = [];
  page.on('request', (r) => { if (r.url().includes('/api/trace/at')) asked.push(r.url()); });
  await swipe(page, x, y, 0, -300);
  await until(() => page.evaluate(() => window.scrollY > 100), { what: 'the swipe to scroll the page' });
  // The swipe's fling goes on for a moment: wait until the page stands still two frames.
  await until(() => page.evaluate(() => new Promise((done) => {
    const y0 = window.scrollY;
    requestAnimationFrame(() => requestAnimationFrame(() => done(window.scrollY === y0)));
  })), { what: 'the fling to end' });
  assert.deepEqual(asked, [], 'a swipe up asked for no instant of the past');
  assert.equal(await by(page, 'past-banner').count(), 0, 'a swipe up did not show the past');
  await page.evaluate(() => window.scrollTo(0, 0));
  await until(() => page.evaluate(() => window.scrollY === 0), { what: 'the page back at its top' });
  await swipe(page, x, y, -100, 4);
  await by(page, 'past-banner').waitFor({ timeout: 10000 });
  assert.ok(asked.length > 0, 'the sideways drag asked for an instant: the count above can see one');
  await by(page, 'back-to-live').click();
  await until(async () => (await by(page, 'past-banner').count()) === 0, { what: 'back to live' });
  await api(backend.url, { type: 'resume' });
});

test('tapping the append box and typing replaces the suggestion', async (t) => {
  const page = await open(t, phone);
  const input = by(page, 'append-input');
  assert.equal(await input.inputValue(), 'add 5', 'the box suggests a request');
  await input.tap();
  await page.keyboard.type('add 7');
  assert.equal(await input.inputValue(), 'add 7');
});

test('a tapped server opens a sheet that leaves the ring in sight', async (t) => {
  const page = await open(t, phone);
  // The ring low on the screen (its top 500 px down), where the sheet would open over it.
  await page.evaluate(() => window.scrollBy(0, document.querySelector('[data-testid=ring]').getBoundingClientRect().top - 500));
  const low = await by(page, 'node-2').boundingBox();
  assert.ok(low.y > 844 * 0.55, `S2 starts low on the screen (at ${low.y} px)`);
  await by(page, 'node-2').tap();
  const sheet = by(page, 'node-panel');
  await sheet.waitFor();
  const server = by(page, 'node-2');
  await until(async () => {
    const [s, n] = [await sheet.boundingBox(), await server.boundingBox()];
    return n.y >= 0 && n.y + n.height <= s.y;
  }, { what: 'the tapped server drawn above its sheet' });
  const height = (await sheet.boundingBox()).height;
  assert.ok(height <= 844 * 0.45 + 1, `the sheet is ${height} px tall, at most 45% of the screen`);
});

for (const [width, height] of [[768, 1024], [740, 390], [844, 390]]) {
  test(`at ${width}x${height} nothing scrolls sideways, and the presenter view's last log row can be reached`, async (t) => {
    const page = await open(t, { viewport: { width, height }, hasTouch: true });
    const wide = () => page.evaluate(() => document.scrollingElement.scrollWidth);
    assert.equal(await wide(), width, 'the page is as wide as the screen');
    await page.keyboard.press('p');
    await page.locator('.app.presenter').waitFor();
    assert.equal(await wide(), width, 'the presenter view too');
    // Its last row (the committed entries) within the page's height: scrollable to.
    const last = await page.evaluate(() => {
      const rows = [...document.querySelectorAll('.logs .row-label')];
      return rows.at(-1).getBoundingClientRect().bottom + window.scrollY;
    });
    const total = await page.evaluate(() => document.scrollingElement.scrollHeight);
    assert.ok(last <= total + 1, `the last log row ends at ${last} px, within the page's ${total}`);
  });
}
