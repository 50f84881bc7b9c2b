// The self-contained binary (scripts/build-binary.sh: the `embed` feature builds the page into
// it): started where no `dist/` exists and without `--static-dir`, it serves the page from
// memory, compressed and cached as the directory's files are, and the page runs a cluster. Run
// by scripts/test.sh with LOGSCOPE_EMBEDDED_BIN set to a binary built with `--features embed`
// (e2e/run.sh does not: the other tests serve dist/ with the usual binary).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launch, until, openPage } from '../lib.mjs';

const BINARY = process.env.LOGSCOPE_EMBEDDED_BIN;
let child;
let dir;
let url;
let browser;
let log = '';

before(async () => {
  if (!BINARY || !existsSync(BINARY)) {
    throw new Error('set LOGSCOPE_EMBEDDED_BIN to a logscope built with --features embed '
      + '(scripts/build-binary.sh, or cargo build -p logscope-backend --features embed)');
  }
  // An empty working directory: there is no dist/ to fall back on.
  dir = mkdtempSync(join(tmpdir(), 'logscope-embedded-'));
  const port = await freePort();
  child = spawn(BINARY, ['--data-dir', join(dir, 'data'), '--port', String(port), '--speed', '1'], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/api/health`)).ok, { what: `the server to answer:\n${log}` });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  child?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the binary says it serves its own page, and the page is not the "not built" one', async () => {
  assert.match(log, /serving the page built into this binary/);
  const index = await (await fetch(`${url}/`)).text();
  assert.doesNotMatch(index, /frontend is not built/);
  assert.match(index, /logscope-frontend-[0-9a-f]{16}_bg\.wasm/);
});

test('assets go compressed and cached for a year; the page is revalidated', async () => {
  const index = await fetch(`${url}/`, { headers: { 'accept-encoding': 'br' } });
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.headers.get('content-security-policy'), /'sha256-/);
  const wasm = (await index.text()).match(/logscope-frontend-[0-9a-f]{16}_bg\.wasm/)[0];
  for (const encoding of ['br', 'gzip']) {
    const r = await fetch(`${url}/${wasm}`, { headers: { 'accept-encoding': encoding } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-encoding'), encoding);
    assert.equal(r.headers.get('content-type'), 'application/wasm');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(r.headers.get('vary'), 'accept-encoding');
  }
  assert.equal((await fetch(`${url}/no-such-file.js`)).status, 404);
});

test('the page loads from the binary, connects and draws a leader', async () => {
  const errors = [];
  const page = await openPage(browser, url, errors);
  await until(() => page.locator('[data-testid^=node-][data-role=leader]').count(),
    { what: 'a leader to be drawn' });
  await page.locator('[data-testid=append-input]').fill('add 5');
  await page.locator('[data-testid=append-submit]').click();
  await until(async () => (await page.locator('[data-testid=log-committed] .cell', { hasText: 'add 5' }).count()) > 0,
    { what: 'the entry to be committed and drawn' });
  assert.deepEqual(errors, []);
  await page.close();
});
