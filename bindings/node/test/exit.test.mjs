// The binding never keeps the process alive by itself: a script that connects,
// locks, releases and closes exits on its own, and so does one whose watch and
// observer are closed while a next() is pending.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { startCluster } from './cluster.mjs';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'exit-script.mjs');
let cluster;

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster?.stop();
});

/** Runs the script; resolves with its exit status, or kills it after `limitMs`. */
function run(scenario, limitMs = 15_000) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, cluster.endpoints, scenario], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, hung, out });
    });
  });
}

describe('process exit', () => {
  for (const [scenario, line] of [
    ['release-close', 'lost: released'],
    ['close-only', 'lost: client_closed'],
    ['with-lock', 'lost: released'],
    ['no-close', 'lost: none'],
    ['watch-close', 'next: CANCELLED CANCELLED'],
  ]) {
    it(`exits on its own after: ${scenario}`, async () => {
      const r = await run(scenario);
      assert.equal(r.hung, false, `the process did not exit on its own:\n${r.out}`);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`^${line}$`, 'm'));
      assert.match(r.out, /^done$/m);
    });
  }
});
