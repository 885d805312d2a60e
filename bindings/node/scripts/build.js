#!/usr/bin/env node
// Builds the native addon from source with @napi-rs/cli (run by `npm install`).
//
// Needs a Rust toolchain (cargo) and the tenure repository checkout this package
// lives in (the crate is a member of its Cargo workspace).
//
// Environment:
//   TENURE_NODE_PROFILE=release|debug   cargo profile (default: release)
//   TENURE_NODE_SKIP_BUILD=1            do nothing (a prebuilt addon is present)
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function resolveCli() {
  try {
    return require.resolve('@napi-rs/cli/package.json', { paths: [root] });
  } catch {
    return null;
  }
}

function main() {
  if (process.env.TENURE_NODE_SKIP_BUILD === '1') {
    console.log('tenure: TENURE_NODE_SKIP_BUILD=1, not building the native addon');
    return 0;
  }
  if (!fs.existsSync(path.join(root, 'Cargo.toml'))) {
    console.error('tenure: Cargo.toml not found next to package.json; build from the repository checkout');
    return 1;
  }
  const profile = process.env.TENURE_NODE_PROFILE || 'release';
  if (profile !== 'release' && profile !== 'debug') {
    console.error(`tenure: TENURE_NODE_PROFILE must be release or debug, got ${profile}`);
    return 1;
  }
  let cli = resolveCli();
  if (!cli) {
    // Installed as a linked folder (`npm install ./bindings/node`), npm does
    // not install this package's own dependencies: fetch the build tool here.
    console.log('tenure: installing @napi-rs/cli (from package-lock.json) to build the addon');
    const npm = process.env.npm_execpath;
    const [cmd, pre] = npm && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
    const r = spawnSync(
      cmd,
      [...pre, 'install', '--omit=dev', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund'],
      { cwd: root, stdio: 'inherit', shell: cmd === 'npm' && process.platform === 'win32' },
    );
    cli = r.status === 0 ? resolveCli() : null;
    if (!cli) {
      console.error('tenure: @napi-rs/cli is not installed; run npm install in ' + root);
      return 1;
    }
  }
  const pkg = JSON.parse(fs.readFileSync(cli, 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.napi;
  const args = [
    path.join(path.dirname(cli), bin),
    'build',
    '--platform',
    '--js', 'native.js',
    '--dts', 'native.d.ts',
    '--no-dts-header',
  ];
  if (profile === 'release') args.push('--release');
  console.log(`tenure: building the native addon (${profile})`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.error) {
    console.error(`tenure: ${r.error.message}`);
    return 1;
  }
  if (r.status === 0) fixRawDocs(path.join(root, 'native.d.ts'));
  return r.status ?? 1;
}

/**
 * The records are generated from the core's table by a Rust macro, whose doc
 * comments reach napi-derive as raw strings (`r" text"`); napi-derive 3.7
 * keeps the `r"` in the TypeScript docs. Drop it.
 */
function fixRawDocs(file) {
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace(/(\/\*\*| \*) r" /g, '$1 '));
}

process.exitCode = main();
