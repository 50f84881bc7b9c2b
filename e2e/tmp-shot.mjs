import { startBackend, launch, until } from './lib.mjs';
const b = await startBackend(['--speed', '1', '--seed', '11']);
const br = await launch();
for (const [w, h] of [[1280, 720], [1024, 768], [390, 844], [1920, 1080]]) {
  const page = await br.newPage({ viewport: { width: w, height: h } });
  await page.goto(b.url);
  await until(() => page.locator('[data-testid=conn].open').count(), {});
  if (w > 500) await page.keyboard.press('p');
  await fetch(`${b.url}/api/lessons/leader-crash/open`, { method: 'POST' });
  await fetch(`${b.url}/api/lesson/next`, { method: 'POST' });
  await fetch(`${b.url}/api/lesson/reveal`, { method: 'POST' });
  await until(() => page.locator('[data-testid=lesson-replay]').count(), {});
  await new Promise(r => setTimeout(r, 700));
  await page.locator('[data-testid=lesson-replay]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `/work/tmp/shots/replay-${w}.png` });
  await page.close();
}
await br.close(); await b.stop();
