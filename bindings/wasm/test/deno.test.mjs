// The same package under Deno (the `deno` binary from npm, a dev dependency):
// test/deno/smoke.mjs against a real `tenure dev --web` cluster, and
// test/deno/tls.mjs against a `tenure dev --tls --web` one (Deno trusting its
// throw-away CA), with network access to 127.0.0.1 only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { eventually, startCluster } from './cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const deno = process.env.DENO || path.resolve(here, '..', 'node_modules', '.bin', 'deno');
let cluster;

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster?.stop();
});

/** Runs `deno run` with 127.0.0.1 only; resolves with its stdout. */
async function runDeno(args) {
  const { stdout } = await promisify(execFile)(
    deno,
    ['run', '--no-prompt', '--allow-read', '--allow-net=127.0.0.1', ...args],
    { timeout: 60_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } },
  ).catch((e) => {
    throw new Error(`deno failed (${e.code}):\n${e.stdout}\n${e.stderr}`);
  });
  return stdout;
}

it('runs under Deno: lock, contention, Renew for > 3 TTLs, withLock, fences, a watch', async () => {
  const stdout = await runDeno([path.join(here, 'deno', 'smoke.mjs'), cluster.endpoints]);
  assert.match(stdout, /deno smoke test passed/);
  assert.equal((stdout.match(/^ok - /gm) ?? []).length, 8, stdout);
});

it('runs under Deno over TLS (HTTP/2, the cluster CA trusted with --cert)', async () => {
  const tls = await startCluster({ nodes: 1, args: ['--tls'] });
  try {
    const ca = (await eventually('the CA path', () => /TENURE_CA=(\S+)/.exec(tls.log())))[1];
    const stdout = await runDeno(['--cert', ca, path.join(here, 'deno', 'tls.mjs'), tls.endpoints]);
    assert.match(stdout, /deno tls passed with token \d+/);
  } finally {
    await tls.stop();
  }
});
