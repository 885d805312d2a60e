// The same package under Deno (the `deno` binary from npm, a dev dependency):
// test/deno/smoke.mjs against a real `tenure dev --web` cluster, with network
// access to 127.0.0.1 only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { startCluster } from './cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const deno = process.env.DENO || path.resolve(here, '..', 'node_modules', '.bin', 'deno');
let cluster;

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster?.stop();
});

it('runs under Deno: lock, contention, Renew for > 3 TTLs, withLock, fences', async () => {
  const { stdout } = await promisify(execFile)(
    deno,
    ['run', '--no-prompt', '--allow-read', '--allow-net=127.0.0.1', path.join(here, 'deno', 'smoke.mjs'), cluster.endpoints],
    { timeout: 60_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } },
  ).catch((e) => {
    throw new Error(`deno failed (${e.code}):\n${e.stdout}\n${e.stderr}`);
  });
  assert.match(stdout, /deno smoke test passed/);
  assert.equal((stdout.match(/^ok - /gm) ?? []).length, 7, stdout);
});
