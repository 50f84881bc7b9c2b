// Helpers shared by the timeline's browser tests (tests/timeline-*.test.mjs): open a page, find
// the leader drawn on the ring, click the track at a virtual instant, wait for a marker.
import { until } from './lib.mjs';

/** Open the page at `url`; `errors` collects what it logs as errors (refusals aside). */
export async function openPage(browser, url, errors, viewport = { width: 1600, height: 1000 }, options = {}) {
  const p = await browser.newPage({ viewport, ...options });
  p.on('pageerror', (e) => errors.push(e.message));
  // A refused request is a 4xx the page shows; Chromium also logs the status, which is expected.
  p.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(m.text());
  });
  await p.goto(url);
  await until(() => p.locator('[data-testid=conn].open').count(), { what: 'the page to connect' });
  return p;
}

export const by = (p, id) => p.locator(`[data-testid="${id}"]`);

/** The leader drawn on the ring: { id, term } (waits for exactly one above `above`). */
export async function leader(p, { above = 0 } = {}) {
  return until(async () => {
    const leaders = p.locator('[data-testid^=node-][data-role=leader]');
    if ((await leaders.count()) !== 1) return null;
    const id = Number((await leaders.getAttribute('data-testid')).slice(5));
    const term = Number(await leaders.getAttribute('data-term'));
    return term > above ? { id, term } : null;
  }, { what: `one leader above term ${above}`, timeoutMs: 15000 });
}

/** The instant (virtual ms) of the last input marker whose title contains `text`. */
export async function inputMarker(p, text) {
  return until(async () => {
    const marks = p.locator('[data-testid=mark-input]');
    for (let i = (await marks.count()) - 1; i >= 0; i--) {
      if ((await marks.nth(i).getAttribute('title')).includes(text)) {
        return Number(await marks.nth(i).getAttribute('data-at-ms'));
      }
    }
    return null;
  }, { what: `the marker of ${text}`, timeoutMs: 15000 });
}

/** Click the track at virtual time `t` (ms) and wait for the past banner. */
export async function scrubTo(p, t) {
  const track = by(p, 'track');
  const end = Number(await track.getAttribute('data-end-ms'));
  const box = await track.boundingBox();
  await p.mouse.click(box.x + (box.width * Math.min(t, end)) / end, box.y + box.height / 2);
  await by(p, 'past-banner').waitFor();
}

/** The text of the cells of the committed log drawn on the page. */
export async function committedTexts(p) {
  return p.locator('[data-testid=log-committed] .cell').allTextContents();
}
