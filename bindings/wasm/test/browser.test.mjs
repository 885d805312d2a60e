// The web demo (examples/web) in a real headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core), served by examples/web/
// serve.mjs on 127.0.0.1 against a real `tenure dev --web` cluster: the page
// shows the cluster, takes a lock (the token on the page and in the lock
// table), releases it, loses it to a blacklist from the CLI (the page reports
// the loss; screenshot in test-results/), re-checks its session on
// visibilitychange, freeze and resume, knows its lock is gone at once after a
// pause longer than its TTL, runs the client in a module Worker, watches and
// observes an election from the page (server streaming over the browser's
// fetch), and (negative control) cannot reach a node that does not allow its
// origin.
//
// Environment: CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { serve } from '../../../examples/web/serve.mjs';
import { cli, eventually, startCluster, startServer, uniqueName } from './cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.resolve(here, '..', 'test-results');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

let cluster;
let secure;
let site;
let context;
let page;
const consoleLines = [];
/** The bearer token of the secure cluster's one principal (rights on `web-tls/` only). */
const webToken = crypto.randomBytes(32).toString('hex');

/**
 * `tenure dev --tls --web --auth-file`: throw-away certificates and an access
 * file. Chromium is told to trust the node's key (by its SPKI hash) rather
 * than to ignore certificate errors.
 */
async function startSecure() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenure-web-auth-'));
  const access = path.join(dir, 'access.toml');
  const hash = crypto.createHash('sha256').update(webToken).digest('hex');
  fs.writeFileSync(
    access,
    `[[principal]]\nname = "web"\ntoken_sha256 = "${hash}"\nrules = [{ prefix = "web-tls/", allow = ["lock"] }]\n`,
  );
  const c = await startCluster({ nodes: 1, args: ['--tls', '--auth-file', access] });
  const ca = (await eventually('the CA path', () => /TENURE_CA=(\S+)/.exec(c.log())))[1];
  const cert = new crypto.X509Certificate(fs.readFileSync(path.join(path.dirname(ca), 'node.crt')));
  const spki = crypto.createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { ...c, spki };
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  cluster = await startCluster();
  secure = await startSecure();
  site = await serve({ port: 0, endpoints: cluster.endpoints });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenure-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--ignore-certificate-errors-spki-list=${secure.spki}`,
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => consoleLines.push(`${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (err) => consoleLines.push(`pageerror: ${err.message}`));
  page.on('worker', (worker) => worker.on('console', (msg) => consoleLines.push(`worker ${msg.type()}: ${msg.text()}`)));
  await page.goto(site.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
});

after(async () => {
  if (consoleLines.length) fs.writeFileSync(path.join(artifacts, 'browser-console.log'), `${consoleLines.join('\n')}\n`);
  await context?.close();
  await site?.close();
  await cluster?.stop();
  await secure?.stop();
});

/** The text of `selector`, once `check(text)` holds (the page refreshes every second). */
async function textWhen(selector, check, what, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let text;
  for (;;) {
    text = (await page.textContent(selector)) ?? '';
    if (check(text)) return text;
    if (Date.now() > deadline) {
      await page.screenshot({ path: path.join(artifacts, 'browser-failure.png'), fullPage: true });
      throw new Error(`${what}: ${selector} is ${JSON.stringify(text)}\n${consoleLines.join('\n')}`);
    }
    await page.waitForTimeout(100);
  }
}

describe('the web demo in Chromium', () => {
  it('shows the live cluster: leader, term, members', async () => {
    await textWhen('#leader', (t) => /^node \d+ \(127\.0\.0\.1:\d+\)$/.test(t), 'a leader');
    assert.match(await page.textContent('#term'), /^\d+$/);
    assert.equal((await page.textContent('#members')).split(',').length, 3);
    assert.equal(await page.textContent('#conn'), 'connected');
  });

  it('takes a lock: the fencing token shows, the lock table lists the page as holder; release frees it', async () => {
    const name = uniqueName('web/printer');
    await page.fill('#lock-name', name);
    await page.click('#take');
    const token = await textWhen('#token', (t) => /^\d+$/.test(t), 'a fencing token');
    const sessionId = await page.evaluate(() => window.tenureDemo.lock.sessionId);
    const row = `#locks tr[data-lock="${name}"] td.holders`;
    await page.waitForSelector(row, { timeout: 10_000 });
    const holders = await textWhen(row, (t) => t.includes(`· ${token} ·`), 'the holder row');
    assert.ok(holders.startsWith(`#${sessionId} · ${token} ·`), holders);
    await textWhen(`#sessions tr[data-session="${sessionId}"]`, (t) => t.includes('web demo') && t.includes(name), 'the session row');
    assert.match(await page.textContent('#fence'), new RegExp(`^tenure-fence: ${name.replace(/[/.]/g, '\\$&')}=${token}$`));
    assert.equal(await page.textContent('#state'), 'healthy');
    // The CLI (a native client) sees the same holder and token.
    const described = JSON.parse(await cli(cluster.endpoints, ['describe', name, '--json']));
    assert.ok(JSON.stringify(described).includes(token), JSON.stringify(described));

    await page.click('#release');
    await textWhen('#token', (t) => t === `${token} (not held)`, 'the released token');
    await page.waitForSelector(`#locks tr[data-lock="${name}"]`, { state: 'detached', timeout: 10_000 });
    assert.equal(await page.isDisabled('#release'), true);
  });

  it('a page that is hidden, frozen or resumed re-checks its session (hostPaused: jeopardy, renewed)', async () => {
    const name = uniqueName('web/visible');
    await page.fill('#lock-name', name);
    await page.click('#take');
    await textWhen('#token', (t) => /^\d+$/.test(t), 'a fencing token');
    for (const type of ['visibilitychange', 'freeze', 'resume']) {
      await page.evaluate((t) => {
        window.tenureDemo.states.length = 0;
        document.dispatchEvent(new Event(t));
      }, type);
      await page.waitForFunction(
        () => window.tenureDemo.states.includes('jeopardy') && window.tenureDemo.states.at(-1) === 'healthy',
        null,
        { timeout: 10_000 },
      );
    }
    assert.equal(await page.evaluate(() => window.tenureDemo.lock.isHeld()), true);
    await page.click('#release');
    await textWhen('#token', (t) => t.endsWith('(not held)'), 'released');
  });

  it('loses the lock to a blacklist from the CLI, and says so', async () => {
    const name = uniqueName('web/zombie');
    await page.fill('#lock-name', name);
    await page.click('#take');
    const token = await textWhen('#token', (t) => /^\d+$/.test(t), 'a fencing token');
    const sessionId = await page.evaluate(() => window.tenureDemo.lock.sessionId);
    await textWhen(`#locks tr[data-lock="${name}"] td.holders`, (t) => t.includes(`· ${token} ·`), 'the holder row');
    await cli(cluster.endpoints, ['blacklist', String(sessionId), '--reason', 'browser test']);
    const lost = await textWhen('#lost', (t) => t.startsWith('lost:'), 'the loss on the page');
    assert.equal(lost, 'lost: session_blacklisted');
    assert.equal(await page.textContent('#state'), 'expired');
    assert.equal(await page.evaluate(() => window.tenureDemo.lock.isHeld()), false);
    await page.screenshot({ path: path.join(artifacts, 'web-demo-blacklisted.png'), fullPage: true });
    // The lock passes on once the blacklisted session's deadline passes; the
    // page's next take opens a fresh session and gets a higher token.
    await page.click('#take');
    const next = await textWhen('#token', (t) => /^\d+$/.test(t) && t !== token, 'a new token', 20_000);
    assert.ok(BigInt(next) > BigInt(token));
    assert.notEqual(await page.evaluate(() => window.tenureDemo.lock.sessionId), sessionId);
    await page.click('#release');
  });

  it('a page keeps a 2 s session by Renew for 7 s; paused past its TTL (a blocked event loop) it knows at once the lock is gone', async () => {
    const paused = await context.newPage();
    try {
      await paused.goto(`${site.url}?ttl=2000`);
      await paused.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
      const name = uniqueName('web/paused');
      await paused.fill('#lock-name', name);
      await paused.click('#take');
      await paused.waitForFunction(() => /^\d+$/.test(document.getElementById('token').textContent), null, { timeout: 10_000 });
      await paused.waitForTimeout(7_000);
      const kept = await paused.evaluate(() => ({ held: window.tenureDemo.lock.isHeld(), states: window.tenureDemo.states }));
      assert.equal(kept.held, true, `held after 7 s (> 3 TTLs): ${JSON.stringify(kept)}`);
      assert.ok(!kept.states.includes('expired') && kept.states.at(-1) === 'healthy', JSON.stringify(kept));
      // No timer runs and no renewal is sent for 3.5 s (> the 2 s TTL); the
      // server expires the session meanwhile. (Chromium's own freezing,
      // Page.setWebLifecycleState, does nothing to a headless page: it is never hidden.)
      const heldAfterPause = await paused.evaluate(() => {
        const end = performance.now() + 3_500;
        while (performance.now() < end);
        // The first thing the page can ask after the pause: the clock is read, not a timer.
        return window.tenureDemo.lock.isHeld();
      });
      assert.equal(heldAfterPause, false, 'a paused page must not believe it still holds the lock');
      await paused.waitForFunction(() => document.getElementById('lost').textContent === 'lost: session_expired', null, {
        timeout: 5_000,
      });
      assert.equal(await paused.evaluate(() => window.tenureDemo.states.at(-1)), 'expired');
    } finally {
      await paused.close();
    }
  });

  it('runs the client in a module Worker', async () => {
    await page.click('#worker-take');
    await page.waitForSelector('#worker-result[data-outcome="ok"], #worker-result[data-outcome="error"]', {
      timeout: 20_000,
    });
    const text = await page.textContent('#worker-result');
    assert.equal(await page.getAttribute('#worker-result', 'data-outcome'), 'ok', text);
    assert.match(text, /^worker held .+\/worker with token \d+; released$/);
  });

  it('watches and observes from the page: a server-streaming call over the browser\'s fetch', async () => {
    const prefix = `${uniqueName('web/watch')}/`;
    const probe = await page.evaluate(async ({ endpoints, prefix }) => {
      const { Client } = await import('/tenure-wasm/index.js');
      const client = await Client.connect(endpoints, { label: 'web watch' });
      try {
        const watcher = client.watch(prefix);
        const reset = await watcher.next();
        const observer = client.election(`${prefix}leader`).observe();
        const nobody = await observer.next();
        const leading = await client.election(`${prefix}leader`).tryCampaign('page');
        const granted = await watcher.next();
        const leader = await observer.next();
        await leading.release();
        const gone = await observer.next();
        const changes = [];
        for await (const batch of watcher) {
          changes.push(...batch.events.map((e) => e.change));
          break;
        }
        observer.close();
        const closed = await watcher.next().then(() => 'open', (e) => e.code);
        return {
          reset: reset.reset,
          nobody,
          granted: granted.events.map((e) => [e.change, e.token === leading.fencingToken]),
          leader: leader.value,
          gone,
          changes,
          closed,
        };
      } finally {
        await client.close();
      }
    }, { endpoints: cluster.endpoints, prefix });
    assert.deepEqual(probe, {
      reset: true,
      nobody: null,
      granted: [['granted', true]],
      leader: 'page',
      gone: null,
      changes: ['released'],
      closed: 'CANCELLED',
    });
  });

  it('over TLS (HTTP/2, the browser\'s TLS) with a bearer token: refused without it, scoped by the access file', async () => {
    const probe = await page.evaluate(async ({ endpoints, token }) => {
      const { Client } = await import('/tenure-wasm/index.js');
      const outcome = async (f) => {
        try {
          return { ok: await f() };
        } catch (e) {
          return { code: e.code, message: e.message };
        }
      };
      const anonymous = await outcome(() => Client.connect(endpoints, { tls: true, callTimeoutMs: 3_000 }).then(() => 'connected'));
      const client = await Client.connect(endpoints, { tls: true, token, label: 'web tls' });
      const granted = await outcome(async () => {
        const lock = await client.tryLock('web-tls/printer');
        const token = lock.fencingToken;
        await lock.release();
        return typeof token;
      });
      const outside = await outcome(() => client.tryLock('elsewhere/printer').then(() => 'granted'));
      await client.close();
      return { anonymous, granted, outside };
    }, { endpoints: secure.endpoints, token: webToken });
    assert.equal(probe.anonymous.code, 'PERMISSION_DENIED', JSON.stringify(probe));
    assert.equal(probe.granted.ok, 'bigint', JSON.stringify(probe));
    assert.equal(probe.outside.code, 'PERMISSION_DENIED', JSON.stringify(probe));
  });

  it('negative control: a node that does not allow the page origin is unreachable from the page', async () => {
    const other = await startServer({ origins: ['http://example.test'] });
    try {
      const probe = await page.evaluate(async (endpoints) => {
        const { Client } = await import('/tenure-wasm/index.js');
        try {
          await Client.connect(endpoints, { callTimeoutMs: 2_000 });
          return { ok: true };
        } catch (e) {
          return { ok: false, name: e.name, code: e.code, message: e.message };
        }
      }, other.endpoints);
      assert.equal(probe.ok, false, 'the connect must fail');
      assert.equal(probe.code, 'UNAVAILABLE', JSON.stringify(probe));
      assert.match(probe.message, /--web-origin/);
      // The same server does answer a page it allows... none here: the CLI sees it up.
      assert.match(await cli(other.endpoints, ['status', '--json']), /"role": "leader"/);
    } finally {
      await other.stop();
    }
  });
});
