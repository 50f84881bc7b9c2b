// Writes docs/screenshot.png (the picture in the README): a 5-server cluster paused mid-flight,
// with committed and uncommitted entries, a crashed server and messages on the wire.
//
//   node e2e/screenshot.mjs      (after scripts/build-page.sh and the backend release build)
import { join } from 'node:path';
import { ROOT, startBackend, launch, until, api, cluster } from './lib.mjs';

const backend = await startBackend(['--speed', '0.05', '--seed', '21']);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(backend.url);
  const leaderOf = async () => (await cluster(backend.url)).nodes.find((n) => n.up && n.role === 'leader');
  const leader = await until(leaderOf, { what: 'a leader', timeoutMs: 60000 });
  for (const c of ['add 5', 'mul 3', 'add rand', 'set 7', 'add 2']) {
    const r = await api(backend.url, { type: 'append', command: c });
    const index = r.result.index;
    await until(async () => (await cluster(backend.url)).nodes.every((n) => n.commit_index >= index), { what: `${c} committed`, timeoutMs: 60000 });
  }
  const follower = (leader.id % 5) + 1;
  await api(backend.url, { type: 'crash', node: follower });
  await api(backend.url, { type: 'append', command: 'mul 2' });
  await api(backend.url, { type: 'append', command: 'add 10' });
  // Pause while the new entries travel: a quorum counter under the leader, messages mid-way.
  await until(async () => (await page.locator('[data-testid=message]').count()) >= 4, { what: 'messages in flight' });
  await new Promise((r) => setTimeout(r, 250));
  await api(backend.url, { type: 'pause' });
  await until(async () => (await page.locator('[data-testid=app]').getAttribute('data-paused')) === 'true', { what: 'paused' });
  await page.locator(`[data-testid=node-${leader.id}] .body`).click();
  await page.screenshot({ path: join(ROOT, 'docs', 'screenshot.png') });
  console.log('wrote docs/screenshot.png');
} finally {
  await browser.close();
  await backend.stop();
}
