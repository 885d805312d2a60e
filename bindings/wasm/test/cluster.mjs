// Test fixture: real tenure clusters in subprocesses on free ports, serving
// gRPC-web (or not, for the negative controls). The port search, `eventually`,
// `within`, the unique names and the clients fixture are the Node binding's
// (bindings/node/test/cluster.mjs); this file adds the flags and a single
// `tenure server` node.
// Binary: $TENURE_BIN or <repo>/target/debug/tenure.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { clientsFixture, eventually, freePortRange, repoRoot, tenureBin, uniqueName, within } from '../../node/test/cluster.mjs';

export { clientsFixture, eventually, repoRoot, tenureBin, uniqueName, within };

/**
 * Starts `tenure dev --nodes <nodes> --web` (without --web when `web` is
 * false; `args` added) and resolves once it printed its endpoints.
 * Returns { endpoints, endpointList, port, stop(), log() }.
 */
export async function startCluster({ nodes = 3, web = true, args = [], attempts = 3 } = {}) {
  return launchWithRetries(attempts, nodes, (port) => [
    'dev', '--nodes', String(nodes), '--port', String(port), ...(web ? ['--web'] : []), ...args,
  ]);
}

/**
 * Starts one `tenure server` node (a one-member cluster) with
 * `--web-origin <origin>` for each of `origins` (none: gRPC-web off).
 */
export async function startServer({ origins = ['local'], attempts = 3 } = {}) {
  return launchWithRetries(attempts, 1, (port) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenure-wasm-'));
    return [
      'server', '--id', '1', '--listen', `127.0.0.1:${port}`, '--peers', `1=127.0.0.1:${port}`,
      '--data-dir', dir, ...origins.flatMap((o) => ['--web-origin', o]),
    ];
  }, { server: true });
}

async function launchWithRetries(attempts, nodes, args, opts = {}) {
  if (!fs.existsSync(tenureBin)) {
    throw new Error(`tenure binary not found at ${tenureBin}: run cargo build --workspace, or set TENURE_BIN`);
  }
  let lastError;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = await freePortRange(nodes);
    try {
      return await launch(port, args(port), opts);
    } catch (e) {
      lastError = e; // most likely a port race with another process: try other ports
    }
  }
  throw lastError;
}

function launch(port, args, { server = false } = {}) {
  const child = spawn(tenureBin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let output = '';
  const keep = (chunk) => {
    output += chunk;
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stderr.setEncoding('utf8').on('data', keep);
  child.stdout.setEncoding('utf8').on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  // A lone server's data directory is ours (startServer made it): removed
  // once the node is down (its preallocated log is 33 MB).
  const dataDir = server && args.includes('--data-dir') ? args[args.indexOf('--data-dir') + 1] : null;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };

  const endpoint = `127.0.0.1:${port}`;
  const ready = server
    ? // A lone server prints nothing to wait for: it is up once the CLI sees a leader.
      eventually(`tenure server on ${endpoint} to lead`, async () => {
        const out = await cli(endpoint, ['status', '--json']).catch(() => '');
        return /"role":\s*"leader"/.test(out) ? endpoint : null;
      }, { timeoutMs: 30_000, intervalMs: 200 })
    : new Promise((resolve) => {
        const onData = () => {
          const m = /^endpoints: (\S+)$/m.exec(output);
          if (m) {
            child.stdout.off('data', onData);
            resolve(m[1]);
          }
        };
        child.stdout.on('data', onData);
      });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop().then(() => reject(new Error(`${args[0]} did not come up within 30 s:\n${output}`)));
    }, 30_000);
    ready.then((endpoints) => {
      clearTimeout(timer);
      resolve({ endpoints, endpointList: endpoints.split(','), port, stop, log: () => output });
    }, reject);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`tenure ${args[0]} exited early (code ${code}, signal ${signal}):\n${output}`));
    });
  });
}

const execFileP = promisify(execFile);

/** Runs the `tenure` CLI against `endpoints` (admin actions); resolves with its stdout. */
export async function cli(endpoints, args) {
  const { stdout } = await execFileP(tenureBin, [...args, '--endpoints', endpoints], {
    env: { ...process.env, RUST_LOG: 'warn' },
    timeout: 20_000,
  });
  return stdout;
}
