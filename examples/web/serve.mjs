#!/usr/bin/env node
// A tiny static server for the web demo (no dependencies): serves this folder
// at / and the wasm package (bindings/wasm: index.js and pkg/) at
// /tenure-wasm/, plus /config.json with the cluster's endpoints.
//
//   node examples/web/serve.mjs [--port 8080] [--host 127.0.0.1] [--endpoints H:P,...]
//
// --port 0 picks a free port. The page's origin (http://127.0.0.1:PORT) must
// be allowed by the nodes: `tenure dev --web` allows every local origin.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const roots = [
  ['/tenure-wasm/', path.resolve(here, '..', '..', 'bindings', 'wasm')],
  ['/', here],
];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Starts the server; resolves with { url, close() }. */
export function serve({ port = 8080, host = '127.0.0.1', endpoints } = {}) {
  const config = JSON.stringify({
    endpoints: endpoints || process.env.TENURE_ENDPOINTS || '127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102',
  });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(config);
      return;
    }
    const [prefix, root] = roots.find(([p]) => url.pathname.startsWith(p));
    let rel = decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html';
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(root, rel);
    // Nothing outside the two folders, and not the wasm crate's sources or modules.
    if (!file.startsWith(root + path.sep) || /[/\\](node_modules|src|target)[/\\]/.test(file.slice(root.length))) {
      res.writeHead(404).end('not found');
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      resolve({ url: `http://${host}:${bound}/`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const pkg = path.resolve(here, '..', '..', 'bindings', 'wasm', 'pkg', 'tenure_wasm_bg.wasm');
  if (!fs.existsSync(pkg)) {
    console.error('serve.mjs: bindings/wasm/pkg is not built: run bash bindings/wasm/build.sh first');
    process.exit(1);
  }
  const { url } = await serve({
    port: Number(arg('port', '8080')),
    host: arg('host', '127.0.0.1'),
    endpoints: arg('endpoints', undefined),
  });
  console.log(`web demo: ${url}`);
}
