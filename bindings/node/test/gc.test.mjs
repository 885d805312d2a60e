// A lock or client dropped by the garbage collector without release() or
// close() is released / closed by the core in the background.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { Client } from 'tenure';
import { eventually, startCluster, uniqueName } from './cluster.mjs';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'gc-script.mjs');
let cluster;
let admin;

before(async () => {
  cluster = await startCluster();
  admin = Client.connectLazy(cluster.endpoints);
});

after(async () => {
  await admin?.close();
  await cluster?.stop();
});

describe('garbage collection', () => {
  it('releases a forgotten lock and closes a forgotten client', async () => {
    const name = uniqueName('gc');
    const child = spawn(process.execPath, ['--expose-gc', script, cluster.endpoints, name], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const session = Number((await eventually('the script to lock', () => /^session (\d+)$/m.exec(out)))[1]);
      // Both were held; after the collection the core gives them back.
      await eventually('the forgotten lock to be released', async () => (await admin.describe(name)) === null, {
        timeoutMs: 15_000,
      });
      await eventually('the forgotten session to be closed', async () => {
        const sessions = await admin.listSessions();
        return !sessions.some((s) => s.sessionId === session);
      }, { timeoutMs: 15_000 });
      assert.equal(await admin.describe(`${name}/of-client`), null);
    } finally {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, out);
    }
  });
});
