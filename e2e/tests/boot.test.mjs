// Before the app mounts: index.html's placeholder says the page is loading while the module
// downloads, gives way to the app once it mounts, and says why when the page cannot start (a file
// that does not arrive), instead of a blank or forever-loading page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, shot } from '../lib.mjs';

let backend;
let browser;

before(async () => {
  backend = await startBackend(['--speed', '1', '--seed', '11']);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

test('the placeholder shows while the module downloads, then gives way to the app', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Hold the module back until the placeholder has been seen: a slow network, made certain.
  let release;
  const held = new Promise((ok) => { release = ok; });
  let asked = false;
  await page.route(/_bg\.wasm$/, async (route) => {
    asked = true;
    await held;
    await route.continue();
  });
  await page.goto(backend.url);
  await until(() => asked, { what: 'the page to ask for its module' });
  const boot = page.locator('#boot');
  assert.equal(await boot.isVisible(), true, 'the placeholder is drawn while the module is on its way');
  assert.match(await boot.innerText(), /logscope[\s\S]*Loading/);
  await shot(page, 'boot-loading');
  release();
  await until(() => page.locator('[data-testid=conn].open').count(), { what: 'the page to connect' });
  assert.equal(await page.locator('#boot').count(), 0, 'the placeholder is gone once the app is up');
  assert.equal(await page.locator('[data-testid=crashed]').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a module that does not arrive is said in the placeholder, not left loading', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.route(/_bg\.wasm$/, (route) => route.abort('connectionfailed'));
  await page.goto(backend.url);
  const boot = page.locator('#boot.failed');
  await until(() => boot.count(), { what: 'the placeholder to say the page could not start' });
  const text = await boot.innerText();
  assert.match(text, /logscope could not start: .+ Reload the page to try again\./);
  await shot(page, 'boot-failed');
  await page.close();
});
