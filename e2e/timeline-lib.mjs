// Helpers shared by the timeline's browser tests (tests/timeline-*.test.mjs): open a page, find
// the leader drawn on the ring, click the track at a virtual instant, wait for a marker.
import { until, openPage } from './lib.mjs';

export { openPage };

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
