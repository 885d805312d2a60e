// Runs every example of examples/node once against a real cluster. The
// examples import `tenure` from the node_modules around them, and worker.ts
// must be compiled (tsc) first. TENURE_NODE_EXAMPLES names another copy of the
// examples: the install test (tools/dist/test-node-packages.sh, run by test.sh)
// runs a copy inside its temporary project, with the packed package installed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot, startCluster } from './cluster.mjs';

const examples = process.env.TENURE_NODE_EXAMPLES || path.join(repoRoot, 'examples', 'node');
let cluster;

before(async () => {
  for (const needed of ['quickstart.mjs', 'dist/worker.js']) {
    assert.ok(
      fs.existsSync(path.join(examples, needed)),
      `${needed} missing in ${examples}: install tenure there (npm install) and compile worker.ts (tsc -p tsconfig.json)`,
    );
  }
  cluster = await startCluster();
});

after(async () => {
  await cluster?.stop();
});

function run(file, limitMs = 60_000) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], {
      cwd: examples,
      env: { ...process.env, TENURE_ENDPOINTS: cluster.endpoints, WORKER_JOBS: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

describe('examples/node', () => {
  it('quickstart.mjs', async () => {
    const r = await run('quickstart.mjs');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^holding examples\/quickstart with fencing token \d+$/m);
    assert.match(r.out, /^send with every write: tenure-fence: examples\/quickstart=\d+$/m);
    assert.match(r.out, /^a second client cannot take it: LOCK_HELD$/m);
    assert.match(r.out, /^quickstart done$/m);
  });

  it('worker.mjs', async () => {
    const r = await run('worker.mjs');
    assert.equal(r.code, 0, r.out);
    const done = r.out.match(/^job \d done under examples\/worker=\d+$/gm) ?? [];
    assert.equal(done.length, 3, r.out);
    assert.match(r.out, /^worker done$/m);
  });

  it('worker.ts (await using, compiled by tsc)', async () => {
    const r = await run('dist/worker.js');
    assert.equal(r.code, 0, r.out);
    const done = r.out.match(/^job \d done under examples\/worker-ts=\d+ \(token \d+\)$/gm) ?? [];
    assert.equal(done.length, 3, r.out);
    assert.match(r.out, /^locks still held: 0$/m, 'await using released every lock');
    assert.match(r.out, /^worker-ts done$/m);
  });

  it('fenced.mjs', async () => {
    const r = await run('fenced.mjs');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^A writes again with token \d+: 409 stale fencing token/m);
    assert.match(r.out, /^A learns it lost the lock: force_released$/m);
    assert.match(r.out, /^stored: "from B"/m);
  });
});
