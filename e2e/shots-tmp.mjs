import { startBackend, launch, until, api } from './lib.mjs';
const backend = await startBackend(['--speed', '1', '--seed', '11']);
const browser = await launch();
const sizes = [[1920, 1080], [1280, 720], [1024, 768], [390, 844]];
try {
  for (const [w, h] of sizes) {
    const page = await browser.newPage({ viewport: { width: w, height: h } });
    await page.goto(`${backend.url}/?fetch_timeout_ms=1000`);
    await until(() => page.locator('[data-testid=conn].open').count(), { what: 'connect' });
    await page.waitForTimeout(1500);
    await page.route(/\/api\/trace\/at\?/, async (route) => { await new Promise((r) => setTimeout(r, 5000)); await route.abort().catch(() => {}); });
    const track = page.locator('[data-testid="track"]');
    await track.scrollIntoViewIfNeeded();
    const box = await track.boundingBox();
    await page.mouse.click(box.x + box.width * 0.3, box.y + box.height / 2);
    await until(() => page.locator('[data-testid="error-history"]').count(), { what: 'gave up' });
    await page.locator('[data-testid="error-history"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `/work/tmp/shots/timeout-${w}x${h}.png` });
    console.log(w, h, await page.locator('[data-testid="error-history"]').textContent());
    await page.close();
  }
} finally {
  await browser.close();
  await backend.stop();
}
