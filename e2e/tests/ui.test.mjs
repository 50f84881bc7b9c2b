// End-to-end tests of the page against the real backend serving the release build: every check
// goes through the UI (clicks, typing, keys) and reads what the page draws. The HTTP API is used
// only to set up a known cluster between tests (reset with a seed, heal, speed).
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, launch, until, api, cluster, shot } from '../lib.mjs';

// Real time (1 virtual ms per wall ms): elections take a few hundred ms, so the tests are quick.
const SPEED = 1;
let backend;
let browser;
let page;
let errors;

before(async () => {
  backend = process.env.LOGSCOPE_URL
    ? { url: process.env.LOGSCOPE_URL, stop: async () => {} }
    : await startBackend(['--speed', String(SPEED), '--seed', '11']);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await backend?.stop();
});

beforeEach(async () => {
  // A known cluster for every test: 5 servers, a fixed seed, a clean network, real-time speed.
  await api(backend.url, { type: 'reset', nodes: 5, seed: 11, log_model: 'command', default_settings: true });
  await api(backend.url, { type: 'heal' });
  await api(backend.url, { type: 'network', loss_probability: 0, duplicate_probability: 0, latency_ms_min: 5, latency_ms_max: 15 });
  await api(backend.url, { type: 'speed', speed: SPEED });
  await api(backend.url, { type: 'resume' });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(backend.url);
  await until(() => page.locator('[data-testid=conn].open').count(), { what: 'the page to connect' });
});

afterEach(async () => {
  await page?.close();
  assert.deepEqual(errors, [], 'the page logged no errors');
});

const $ = (id) => page.locator(`[data-testid="${id}"]`);

/** Id and term of the one server drawn as leader (waits until there is exactly one). */
async function leader({ above = 0 } = {}) {
  return until(async () => {
    const leaders = page.locator('[data-testid^=node-][data-role=leader]');
    if ((await leaders.count()) !== 1) return null;
    const id = Number((await leaders.getAttribute('data-testid')).slice(5));
    const term = Number(await leaders.getAttribute('data-term'));
    return term > above ? { id, term } : null;
  }, { what: `one leader${above ? ` above term ${above}` : ''}`, timeoutMs: 15000 });
}

async function rowNumber(id, attr) {
  return Number(await $(`row-${id}`).getAttribute(attr));
}

/** Append through the form and return the entry's index (read from the committed row). */
async function appendFromUi(text, drawnAs = text) {
  const cell = page.locator('[data-testid=log-committed] .cell', { hasText: drawnAs }).last();
  // On a loaded machine an election can be under way at the moment of the click; the server then
  // answers "no leader right now" inline, and a person would simply click again.
  for (let attempt = 1; ; attempt++) {
    await $('append-input').fill(text);
    await $('append-submit').click();
    const outcome = await until(async () => {
      if (await cell.count()) return 'drawn';
      if (await $('error-append').count()) return (await $('error-append').textContent()) || 'error';
      return null;
    }, { what: `"${text}" to commit`, timeoutMs: 15000 });
    if (outcome === 'drawn') break;
    if (attempt >= 3 || !/leader/.test(outcome)) throw new Error(`append "${text}" failed: ${outcome}`);
    await leader();
  }
  return Number((await cell.getAttribute('data-testid')).split('-').pop());
}

async function everyRowHas(index, ids = [1, 2, 3, 4, 5]) {
  for (const id of ids) {
    const cell = $(`entry-${id}-${index}`);
    await until(async () => (await cell.count()) && (await cell.getAttribute('class')).includes(' committed'),
      { what: `entry ${index} committed on S${id}`, timeoutMs: 15000 });
  }
}

test('the page loads and shows five servers and a leader', async () => {
  await until(async () => (await page.locator('[data-testid^=node-][data-role]').count()) === 5, { what: 'five servers' });
  const { id, term } = await leader();
  assert.ok(id >= 1 && id <= 5);
  assert.ok(term >= 1);
  assert.match(await $('centre-leader').textContent(), new RegExp(`S${id} leads`));
  // Every server has a log row, and the no-op of the leader's term reaches the committed log.
  for (let i = 1; i <= 5; i++) assert.equal(await $(`row-${i}`).count(), 1);
  await until(async () => Number(await $('global-commit').textContent().then((t) => t.split(' ')[0])) >= 1,
    { what: 'the leader no-op to commit' });
  await shot(page, '01-loaded');
  // With a server, the in-browser engine (its own module, in a worker) is never loaded.
  assert.deepEqual(page.workers().map((w) => w.url()), []);
  const engineFiles = await page.evaluate(() => performance.getEntriesByType('resource')
    .map((e) => e.name).filter((n) => /engine/.test(n)));
  assert.deepEqual(engineFiles, []);
});

test('an entry appended from the UI reaches every row and commits', async () => {
  await leader();
  const index = await appendFromUi('add 7');
  await everyRowHas(index);
  assert.equal((await $(`entry-3-${index}`).textContent()).includes('add 7'), true);
  // The narration says so, and points at the entry.
  await until(() => page.locator('[data-testid=narration] li', { hasText: `Entry ${index} (add 7) is committed` }).count(),
    { what: 'the commit narration' });
  await shot(page, '02-appended');

  // Sent to a follower, a request is forwarded to the leader (the command log model).
  const { id } = await leader();
  const follower = (id % 5) + 1;
  await $('append-target').selectOption(`S${follower}`);
  const forwarded = await appendFromUi('add 8');
  await everyRowHas(forwarded);
  assert.equal(await page.locator('[data-testid=narration] li', { hasText: `S${follower} forwarded "add 8" to the leader` }).count(), 1);
});

test('crashing the leader from the UI elects another with a higher term; a restart catches up', async () => {
  const old = await leader();
  await page.locator(`[data-testid=node-${old.id}] .body`).click();
  await $('node-panel').waitFor();
  await $('node-crash').click();
  await until(async () => (await $(`node-${old.id}`).getAttribute('data-role')) === 'down', { what: 'the crash to show' });
  const next = await leader({ above: old.term });
  assert.notEqual(next.id, old.id);
  assert.ok(next.term > old.term);
  await shot(page, '03-leader-crashed');
  await page.keyboard.press('Escape'); // back to the client panel

  // While it is down the others go on.
  const index = await appendFromUi('mul 3');
  await everyRowHas(index, [1, 2, 3, 4, 5].filter((i) => i !== old.id));
  assert.ok((await rowNumber(old.id, 'data-last-index')) < index);

  // Restart from its panel (the same button now says Restart): it catches up from the leader.
  await page.locator(`[data-testid=node-${old.id}] .body`).click();
  await until(async () => (await $('node-crash').textContent()).includes('Restart'), { what: 'the restart button' });
  await $('node-crash').click();
  await everyRowHas(index, [old.id]);
  await until(async () => (await rowNumber(old.id, 'data-last-applied')) >= index, { what: 'the restarted server to apply' });
  await shot(page, '04-restarted-caught-up');
});

test('an isolated server misses entries and catches up after healing', async () => {
  const l = await leader();
  const f = (l.id % 5) + 1;
  await $(`isolate-${f}`).click();
  await until(async () => (await $(`link-${Math.min(l.id, f)}-${Math.max(l.id, f)}`).getAttribute('data-blocked')) === 'both',
    { what: 'the cut link to show' });
  const first = await appendFromUi('add 2');
  const second = await appendFromUi('add 3');
  await everyRowHas(second, [1, 2, 3, 4, 5].filter((i) => i !== f));
  assert.ok((await rowNumber(f, 'data-last-index')) < first, 'the isolated server has not received the entries');
  // A clicked entry's caption reads its index across the servers: the isolated one has none.
  await $(`entry-${l.id}-${second}`).click();
  const caption = $('column-caption');
  await until(async () => (await caption.count()) && (await caption.innerText()).includes(`no entry: S${f}`),
    { what: `the caption to say S${f} has no entry ${second}` });
  assert.match(await caption.innerText(), new RegExp(`^Index ${second}: `));
  assert.match(await caption.innerText(), /t\d+ add 3: S/);
  await shot(page, '05-isolated');

  await $('heal').click();
  await until(async () => (await page.locator('[data-testid^=link-]:not([data-blocked=none])').count()) === 0, { what: 'links restored' });
  await everyRowHas(second, [f]);
  // The caption follows the run: after the catch-up every server holds the entry.
  await until(async () => !(await caption.innerText()).includes('no entry'), { what: 'the caption to follow the catch-up' });
  await shot(page, '06-healed');
  await caption.getByRole('button', { name: 'Close the caption' }).click();
  await until(async () => (await caption.count()) === 0, { what: 'the caption to close' });
});

test('pause stops time and step advances one event', async () => {
  await leader();
  await $('pause').click();
  await until(async () => (await $('app').getAttribute('data-paused')) === 'true', { what: 'paused' });
  // The page settles on the exact virtual time the server paused at.
  const pausedAt = `${((await cluster(backend.url)).time_ms / 1000).toFixed(3)} s`;
  await until(async () => (await $('clock').textContent()) === pausedAt, { what: `the clock to show ${pausedAt}` });
  const clock = await $('clock').textContent();
  const seq = Number(await $('app').getAttribute('data-seq'));
  // Time stays still while paused: watch it for a while (the clock would move ~1 s at speed 1).
  const deadline = Date.now() + 1200;
  while (Date.now() < deadline) {
    assert.equal(await $('clock').textContent(), clock, 'the clock is still');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(Number(await $('app').getAttribute('data-seq')), seq, 'no events while paused');
  await shot(page, '07-paused');

  const before = (await cluster(backend.url)).seq;
  await $('step').click();
  const afterSeq = await until(async () => {
    const s = Number(await $('app').getAttribute('data-seq'));
    return s > seq ? s : null;
  }, { what: 'a step to arrive' });
  const server = await cluster(backend.url);
  assert.equal(server.paused, true, 'a step leaves the run paused');
  assert.equal(afterSeq, server.seq, 'the page shows exactly what the server did');
  assert.ok(server.seq > before);
  // One step is one queue item: a few events at most, never a stretch of the run.
  assert.ok(server.seq - before <= 12, `one step produced ${server.seq - before} events`);

  await $('pause').click();
  await until(async () => (await $('app').getAttribute('data-paused')) === 'false', { what: 'resumed' });
  await until(async () => (await $('clock').textContent()) !== clock, { what: 'the clock to move again' });

  // Space pauses exactly once even while the Pause button still has the focus from the click.
  await page.keyboard.press('Space');
  await until(async () => (await $('app').getAttribute('data-paused')) === 'true', { what: 'paused by space' });
  const settled = `${((await cluster(backend.url)).time_ms / 1000).toFixed(3)} s`;
  await until(async () => (await $('clock').textContent()) === settled, { what: 'the clock to settle' });
  assert.equal((await cluster(backend.url)).paused, true, 'one toggle, not two');
});

test('a message can be inspected and dropped', async () => {
  await leader();
  await page.keyboard.press('Space');
  await until(async () => (await $('app').getAttribute('data-paused')) === 'true', { what: 'paused by the space key' });
  // While paused, heartbeats stay in flight where they are.
  const msg = await until(async () => {
    const n = await page.locator('[data-testid=message]').count();
    if (n > 0) return page.locator('[data-testid=message]').first();
    await $('step').click();
    return null;
  }, { what: 'a message in flight' });
  const from = await msg.getAttribute('data-from');
  const to = await msg.getAttribute('data-to');
  await msg.dispatchEvent('click');
  await $('message-panel').waitFor();
  const panel = await $('message-panel').textContent();
  assert.match(panel, new RegExp(`S${from} → S${to}`));
  assert.match(panel, /in flight/);
  await shot(page, '08-message-inspected');
  await $('message-drop').click();
  await until(() => page.locator('[data-testid=narration] li', { hasText: 'was dropped by hand' }).count(), { what: 'the drop narration' });
  await until(async () => (await $('message-panel').textContent()).includes('dropped by hand'), { what: 'the panel to say dropped' });
});

test('clicking a link cuts it and clicking again restores it', async () => {
  await leader();
  const link = $('link-1-2');
  await link.dispatchEvent('click');
  await until(async () => (await link.getAttribute('data-blocked')) === 'both', { what: 'the link to be cut both ways' });
  const net = (await cluster(backend.url)).network;
  assert.deepEqual(net.cut_links.map((l) => l.join('-')).sort(), ['1-2', '2-1']);
  await link.dispatchEvent('click');
  await until(async () => (await link.getAttribute('data-blocked')) === 'none', { what: 'the link to be restored' });
  assert.deepEqual((await cluster(backend.url)).network.cut_links, []);
});

test('the keyboard help opens with ? and closes with Escape', async () => {
  await page.keyboard.press('?');
  await $('help').waitFor();
  const text = await $('help').textContent();
  for (const k of ['pause / resume', 'step', 'client request to the leader', 'crash the leader']) {
    assert.ok(text.includes(k), `help lists "${k}"`);
  }
  await shot(page, '09-help');
  await page.keyboard.press('Escape');
  await until(async () => (await $('help').count()) === 0, { what: 'the help to close' });
});

test('keyboard: c appends to the leader, k crashes it, - and + change the speed', async () => {
  const l = await leader();
  const before = Number((await $('global-commit').textContent()).split(' ')[0]);
  await $('append-input').fill('set 42');
  await page.locator('body').click({ position: { x: 5, y: 990 } });
  await page.keyboard.press('c');
  await until(() => page.locator('[data-testid=log-committed] .cell', { hasText: 'set 42' }).count(), { what: 'the c key to append' });
  assert.ok(Number((await $('global-commit').textContent()).split(' ')[0]) > before);
  await page.keyboard.press('k');
  await until(async () => (await $(`node-${l.id}`).getAttribute('data-role')) === 'down', { what: 'the k key to crash the leader' });
  // - and + move the speed one notch.
  await page.keyboard.press('-');
  await until(async () => (await $('speed-label').textContent()) === '1/2×', { what: 'the - key to slow down' });
  await page.keyboard.press('+');
  await until(async () => (await $('speed-label').textContent()) === '1×', { what: 'the + key to speed up' });
});

test('the speed, loss and duplication sliders set the server\'s run', async () => {
  // Each slider's value goes to the server as the browser reads it (valueAsNumber).
  await $('loss').fill('0.2');
  await until(async () => (await cluster(backend.url)).network.loss_probability === 0.2, { what: 'loss 20 % on the server' });
  await $('duplication').fill('0.05');
  await until(async () => (await cluster(backend.url)).network.duplicate_probability === 0.05, { what: 'duplication 5 % on the server' });
  // The speed slider is logarithmic: 0 is 1/1000×, 3 is 1×; 2 is 1/10× once snapped.
  await $('speed').fill('2');
  await until(async () => (await cluster(backend.url)).speed === 0.1, { what: 'speed 1/10× on the server' });
  await until(async () => (await $('speed-label').textContent()) === '1/10×', { what: 'the label to say 1/10×' });
});

test('bad commands show an inline error, locally and from the server', async () => {
  await leader();
  await $('append-input').fill('div 2');
  await until(async () => (await $('parse-error').count()) === 1, { what: 'the parse error' });
  assert.match(await $('parse-error').textContent(), /unknown operation "div"/);
  await $('append-submit').click();
  assert.match(await $('error-append').textContent(), /unknown operation/);

  // The server's own refusal: a request to a crashed server.
  await api(backend.url, { type: 'crash', node: 2 });
  await until(async () => (await $('node-2').getAttribute('data-role')) === 'down', { what: 'S2 down' });
  await $('append-input').fill('add 1');
  await $('append-target').selectOption('S2');
  await $('append-submit').click();
  await until(async () => (await $('error-append').count()) === 1, { what: 'the server error' });
  assert.match(await $('error-append').textContent(), /S2 is down/);
  await shot(page, '10-errors');
});

test('the page says how to start the server when it is unreachable, and reconnects by itself', async () => {
  // A page pointed at a port where nothing listens shows the panel; we only need the static page,
  // so route the WebSocket of this page to a dead port.
  await page.close();
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.routeWebSocket(/\/ws$/, (ws) => ws.close());
  await page.goto(backend.url);
  await $('offline').waitFor({ timeout: 15000 });
  assert.match(await $('offline').textContent(), /scripts\/run\.sh/);
  await shot(page, '11-offline');
  // Let the socket through again: the page finds the server without a reload.
  await page.unrouteAll();
  await page.routeWebSocket(/\/ws$/, (ws) => ws.connectToServer());
  await until(() => page.locator('[data-testid=conn].open').count(), { what: 'the page to reconnect by itself', timeoutMs: 15000 });
  assert.equal(await $('offline').count(), 0);
});

test('the reset dialog starts a new cluster: 3 servers logging state changes', async () => {
  await leader();
  await $('reset-open').click();
  await $('reset-dialog').waitFor();
  await $('reset-nodes').fill('12');
  await $('reset-submit').click();
  assert.match(await $('error-reset').textContent(), /1 to 9 servers/);
  await $('reset-nodes').fill('3');
  await $('reset-seed').fill('77');
  await page.locator('[data-testid=reset-dialog] input[value=state]').check();
  await $('reset-submit').click();
  await until(async () => (await $('reset-dialog').count()) === 0, { what: 'the dialog to close' });
  await until(async () => (await page.locator('[data-testid^=node-][data-role]').count()) === 3, { what: 'three servers' });
  assert.match(await $('meta').textContent(), /3 servers · seed 77 · log state changes/);
  await leader();
  // In the state model the leader logs the value it computed, "value = 5", the same everywhere.
  const index = await appendFromUi('add 5', '= 5');
  await everyRowHas(index, [1, 2, 3]);
  // The tooltip names the request the leader ran, which the cell has no room for.
  assert.match(await $(`entry-2-${index}`).getAttribute('title'), /value = 5, from add 5/);
  await until(async () => (await rowNumber(3, 'data-value')) === 5, { what: 'S3 to apply the value' });
  await shot(page, '12-state-model');
});

test('New cluster after the lab keeps its rule; after a lesson it offers the defaults, ticked', async () => {
  // The break-Raft lab stages a scenario: a rule switched off, then a new cluster. The dialog
  // names what the new cluster keeps and keeps it unless told.
  await api(backend.url, { type: 'break_rules', rules: { forget_vote_on_restart: true } });
  await api(backend.url, { type: 'network', latency_ms_min: 5, latency_ms_max: 5 });
  await until(() => page.locator('[data-testid=break-raft].danger').count(), { what: 'the page to show the rule off' });
  await until(async () => (await $('latency-max').inputValue()) === '5', { what: 'the page to show the latency' });
  await $('reset-open').click();
  const offer = $('reset-defaults');
  await offer.waitFor();
  assert.match(await offer.textContent(), /forget vote on restart; latency 5–5 ms/);
  assert.equal(await offer.locator('input').isChecked(), false, 'after the lab: kept unless told');
  await $('reset-submit').click();
  await until(async () => (await $('reset-dialog').count()) === 0, { what: 'the dialog to close' });
  await until(async () => (await cluster(backend.url)).safety?.broken_rules?.forget_vote_on_restart === true
    && (await cluster(backend.url)).time_ms < 5000, { what: 'the new cluster, with the rule still off' });

  // A lesson leaves its own settings (60 ms fsyncs here, which no field of the dialog shows).
  await fetch(`${backend.url}/api/lessons/crash-vs-power-loss/open`, { method: 'POST' });
  await until(() => $('lesson-panel').count(), { what: 'the lesson on the page' });
  await $('lesson-close').click();
  await until(async () => (await $('lesson-panel').count()) === 0, { what: 'the lesson closed' });
  await $('reset-open').click();
  await offer.waitFor();
  assert.match(await offer.textContent(), /fsync 60 ms/);
  assert.equal(await offer.locator('input').isChecked(), true, 'after a lesson: the defaults, ticked');
  // Ticked, the timer fields show the defaults; unticked, the cluster's own.
  assert.equal(await $('reset-et-min').inputValue(), '150');
  await shot(page, '12b-new-cluster-defaults');
  await $('reset-submit').click();
  await until(async () => (await $('reset-dialog').count()) === 0, { what: 'the dialog to close' });
  const fresh = await until(async () => {
    const c = await cluster(backend.url);
    return c.timing.fsync_ms === 2 ? c : null;
  }, { what: 'the default fsync back' });
  assert.equal(fresh.safety?.broken_rules?.forget_vote_on_restart ?? false, false, 'every rule back on');
  assert.deepEqual([fresh.network.latency_ms_min, fresh.network.latency_ms_max], [5, 15]);
  assert.equal(fresh.nodes.length, 3, "the size stays (the lesson's three servers)");
  // With every setting at its default there is nothing to offer.
  await until(async () => (await page.locator('[data-testid=break-raft].danger').count()) === 0, { what: 'the page to show every rule on' });
  await $('reset-open').click();
  await $('reset-dialog').waitFor();
  assert.equal(await offer.count(), 0);
  await page.keyboard.press('Escape');
});

test('the legend lists every term the logs show, not only the current one', async () => {
  const first = await leader();
  await appendFromUi('add 1');
  await api(backend.url, { type: 'crash', node: first.id });
  const second = await leader({ above: first.term });
  await api(backend.url, { type: 'restart', node: first.id });
  // Every server at the new term with the new leader's no-op: term 1 is left only in the
  // older entries' colour.
  await until(async () => {
    const c = await cluster(backend.url);
    const top = Math.max(...c.nodes.map((n) => n.log_len));
    return c.nodes.every((n) => n.current_term === second.term && n.log_len === top);
  }, { what: 'every server caught up in the new term' });
  const chips = page.locator('[data-testid=legend] .chip-term');
  await until(async () => {
    const texts = await chips.allTextContents();
    return texts.some((t) => t.startsWith(`term ${first.term} `)) && texts.some((t) => t.startsWith(`term ${second.term} `));
  }, { what: `the legend to list term ${first.term} and term ${second.term}` });
});

test('the presenter view has its own append box (the client panel folds away there)', async () => {
  await leader();
  assert.equal(await $('quick-append').count(), 0, 'not in the normal layout');
  await page.keyboard.press('p');
  await until(async () => (await page.locator('.app.presenter').count()) === 1, { what: 'the presenter view' });
  assert.equal(await $('quick-append').isVisible(), true);
  await $('quick-append-input').fill('add 3');
  await $('quick-append-submit').click();
  await until(() => page.locator('[data-testid=log-committed] .cell', { hasText: 'add 3' }).count(),
    { what: '"add 3" committed', timeoutMs: 15000 });
  // A refusal is said beside it (the panel that says it elsewhere is folded away).
  await $('quick-append-input').fill('div 2');
  await $('quick-append-submit').click();
  await until(() => page.locator('[data-testid=quick-append] .reply.error').count(), { what: 'the refusal' });
  await shot(page, '14-presenter-quick-append');
  await page.keyboard.press('Escape');
  await $('quick-append-input').fill('');
  await page.locator('body').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('p');
  await until(async () => (await page.locator('.app.presenter').count()) === 0, { what: 'the normal view' });
});

test('clicking a sentence of the narration highlights what it is about', async () => {
  const l = await leader();
  const index = await appendFromUi('add 4');
  const sentence = page.locator('[data-testid=narration] li', { hasText: `Entry ${index} (add 4) is committed` });
  await sentence.locator('button').click();
  await until(() => page.locator('.column-highlight').count(), { what: 'the entry column to light up' });
  await shot(page, '13-narration-highlight');
  // A sentence about a server lights up that server.
  await page.locator('[data-testid=narration] li', { hasText: `A client sent "add 4" to S${l.id}` }).first().locator('button').click();
  await until(() => page.locator(`[data-testid=node-${l.id}].highlight`).count(), { what: 'the leader to light up' });
  await page.keyboard.press('Escape');
  await until(async () => (await page.locator('[data-testid^=node-].highlight').count()) === 0, { what: 'Escape to clear' });
});

test('works by touch and by keyboard alone', async () => {
  await leader();
  // Touch: a phone-sized page, tap a server, tap Crash.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const p = await phone.newPage();
  await p.goto(backend.url);
  await until(() => p.locator('[data-testid=conn].open').count(), { what: 'the phone page to connect' });
  await p.locator('[data-testid=node-3] .body').tap();
  await p.locator('[data-testid=node-panel]').waitFor();
  await p.locator('[data-testid=node-crash]').tap();
  await until(async () => (await p.locator('[data-testid=node-3]').getAttribute('data-role')) === 'down', { what: 'S3 down after taps' });
  await shot(p, '14-phone');
  await phone.close();
  // Keyboard: focus a server, Enter opens its panel, the buttons are reachable with Tab.
  await page.locator('[data-testid=node-3]').focus();
  await page.keyboard.press('Enter');
  await $('node-panel').waitFor();
  assert.match(await $('node-panel').textContent(), /S3 · down/);
  await $('node-crash').focus();
  await page.keyboard.press('Enter');
  await until(async () => (await $('node-3').getAttribute('data-role')) !== 'down', { what: 'S3 restarted from the keyboard' });
});

test('a leader cut off in the minority cannot commit; healing throws its entry away', async () => {
  const old = await leader();
  await $('split-minority').click();
  // The majority side elects a leader of a newer term; the old one still believes it leads.
  const next = await until(async () => {
    const leaders = page.locator('[data-testid^=node-][data-role=leader]');
    for (let i = 0; i < (await leaders.count()); i++) {
      const id = Number((await leaders.nth(i).getAttribute('data-testid')).slice(5));
      const term = Number(await leaders.nth(i).getAttribute('data-term'));
      if (id !== old.id && term > old.term) return { id, term };
    }
    return null;
  }, { what: 'a new leader on the majority side' });
  assert.equal(await $(`node-${old.id}`).getAttribute('data-role'), 'leader', 'the old leader has not heard');
  // A request to the old leader is appended there but never commits.
  await $('append-input').fill('add 100');
  await $('append-target').selectOption(`S${old.id}`);
  await $('append-submit').click();
  const stale = page.locator(`[data-testid=log-${old.id}] .cell`, { hasText: 'add 100' });
  await stale.waitFor({ timeout: 15000 });
  assert.match(await stale.getAttribute('class'), / uncommitted/);
  await $('append-target').selectOption('leader');
  const index = await appendFromUi('add 1');
  // The minority side is the old leader and the lowest-numbered other server; the rest commit.
  const partner = [1, 2, 3, 4, 5].find((i) => i !== old.id);
  await everyRowHas(index, [1, 2, 3, 4, 5].filter((i) => i !== old.id && i !== partner));
  assert.ok((await rowNumber(old.id, 'data-commit-index')) < index, 'the minority commits nothing new');
  await shot(page, '15-split-brain');

  await $('heal').click();
  await until(async () => (await stale.count()) === 0, { what: 'the old leader to drop its uncommitted entry' });
  await everyRowHas(index);
  await until(() => page.locator('[data-testid=narration] li', { hasText: 'conflicting' }).count(), { what: 'the truncation narration' });
  assert.equal(await page.locator('[data-testid=log-committed] .cell', { hasText: 'add 100' }).count(), 0);
});
