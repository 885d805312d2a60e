// Test fixture: a real tenure cluster (`tenure dev --nodes 3`) in a subprocess
// on free ports. Binary: $TENURE_BIN or <repo>/target/debug/tenure.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The repository root: TENURE_REPO_ROOT, or the checkout this file is in. The
 * install test (tools/dist/test-node-packages.sh) runs a copy of these tests
 * in a temporary project and points it back at the repository.
 */
export const repoRoot = process.env.TENURE_REPO_ROOT || path.resolve(here, '..', '..', '..');

/** The tenure binary the tests run. */
export const tenureBin = process.env.TENURE_BIN || path.join(repoRoot, 'target', 'debug', 'tenure');

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function ephemeralPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A first port P such that P..P+n-1 are all free on 127.0.0.1 right now. */
export async function freePortRange(n) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = await ephemeralPort();
    if (first + n > 65535) continue;
    let ok = true;
    for (let p = first; p < first + n && ok; p++) ok = await portFree(p);
    if (ok) return first;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}

/**
 * Starts `tenure dev --nodes <nodes>` and resolves once it printed its endpoints.
 * Returns { endpoints, endpointList, port, stop(), log() }.
 */
export async function startCluster({ nodes = 3, attempts = 3 } = {}) {
  if (!fs.existsSync(tenureBin)) {
    throw new Error(`tenure binary not found at ${tenureBin}: run cargo build --workspace, or set TENURE_BIN`);
  }
  let lastError;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = await freePortRange(nodes);
    try {
      return await launch(port, nodes);
    } catch (e) {
      lastError = e; // most likely a port race with another process: try other ports
    }
  }
  throw lastError;
}

function launch(port, nodes) {
  const child = spawn(tenureBin, ['dev', '--nodes', String(nodes), '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let output = '';
  const keep = (chunk) => {
    output += chunk;
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stderr.setEncoding('utf8').on('data', keep);
  child.stdout.setEncoding('utf8');
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      stop().then(() => reject(new Error(`tenure dev did not come up within 30 s:\n${output}`)));
    }, 30_000);
    child.stdout.on('data', (chunk) => {
      keep(chunk);
      stdout += chunk;
      const m = /^endpoints: (\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({
          endpoints: m[1],
          endpointList: m[1].split(','),
          port,
          stop,
          log: () => output,
        });
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`tenure dev exited early (code ${code}, signal ${signal}):\n${output}`));
    });
  });
}

/**
 * A test file's cluster and clients: `start` (a test hook) starts a cluster
 * with `startCluster()` and connects one client per name of `labels`
 * (`{ a: 'label-a' }` gives `fixture.a`, connected with that label); `stop`
 * closes them and stops the cluster. For `before(fixture.start)` and
 * `after(fixture.stop)`; the Node and wasm bindings pass their own
 * `startCluster` and `Client`.
 */
export function clientsFixture(startCluster, Client, labels) {
  const fixture = {
    cluster: null,
    async start() {
      fixture.cluster = await startCluster();
      for (const [key, label] of Object.entries(labels)) {
        fixture[key] = await Client.connect(fixture.cluster.endpoints, { label });
      }
    },
    async stop() {
      for (const key of Object.keys(labels)) await fixture[key]?.close().catch(() => {});
      await fixture.cluster?.stop();
    },
  };
  return fixture;
}

/**
 * Polls `check` (sync or async) until it returns a truthy value, or throws
 * after `timeoutMs` with `what` in the message. For waiting on effects the
 * cluster applies asynchronously; never used to assert speed.
 */
export async function eventually(what, check, { timeoutMs = 10_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Rejects if `promise` does not settle within `ms` (a guard against hangs, not a speed test). */
export function within(ms, promise, what = 'operation') {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** A lock name unique to this test run. */
let counter = 0;
export function uniqueName(prefix) {
  counter += 1;
  return `${prefix}/${process.pid}-${Date.now()}-${counter}`;
}
