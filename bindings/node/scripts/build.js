#!/usr/bin/env node
// Builds the native addon with @napi-rs/cli: the developer's `npm run build`,
// and the per-target step of dist.sh. Not part of any published package (no
// install script runs it: users get prebuilt addons from the platform packages).
//
//   node scripts/build.js [--target TRIPLE] [--profile dev|release] [--zig]
//                         [--no-local] [--check-dts]
//
//   --target TRIPLE   a Rust target, optionally with zig's glibc pin
//                     (x86_64-unknown-linux-gnu.2.17); default: the host
//   --profile P       cargo profile: dev (default, or TENURE_NODE_PROFILE) or
//                     release (stripped, no debug info: what is published)
//   --zig             link with zig through cargo-zigbuild (napi build -x):
//                     cross targets, musl, and glibc-pinned gnu targets.
//                     Needs cargo-zigbuild and zig (or python -m ziglang) on PATH
//   --no-local        do not copy the addon next to package.json (the local
//                     fallback the loader uses in a checkout)
//   --check-dts       fail if the generated native.d.ts differs from the
//                     committed one (instead of rewriting it)
//
// napi build writes into <target>/node-addon/<triple>-<profile>/ (<target> is
// CARGO_TARGET_DIR or the workspace's target/); from there the addon is copied
// to npm/<platform>/tenure.<platform>.node (what that platform
// package publishes) and, unless --no-local, in ./tenure.<platform>.node. The
// type declarations napi-rs generates from src/lib.rs become ./native.d.ts
// (committed; dist and CI run with --check-dts). native.js is hand-written and
// never generated (napi build --no-js).
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function usage(message) {
  console.error(`build.js: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { target: null, profile: process.env.TENURE_NODE_PROFILE || 'dev', zig: false, local: true, checkDts: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? usage(`${arg} needs a value`);
    if (arg === '--target') opts.target = value();
    else if (arg === '--profile') opts.profile = value();
    else if (arg === '--zig') opts.zig = true;
    else if (arg === '--no-local') opts.local = false;
    else if (arg === '--check-dts') opts.checkDts = true;
    else usage(`unknown argument ${arg}`);
  }
  if (opts.profile === 'debug') opts.profile = 'dev';
  if (opts.profile !== 'dev' && opts.profile !== 'release') usage(`--profile must be dev or release, got ${opts.profile}`);
  return opts;
}

function napiCli() {
  let pkgPath;
  try {
    pkgPath = require.resolve('@napi-rs/cli/package.json', { paths: [root] });
  } catch {
    console.error(`build.js: @napi-rs/cli is not installed; run npm ci in ${root}`);
    process.exit(1);
  }
  const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.napi;
  return path.join(path.dirname(pkgPath), bin);
}

/**
 * The records are generated from the core's table by a Rust macro, whose doc
 * comments reach napi-derive as raw strings (`r" text"`, or `r#" text "# ` when
 * the text has a quote); napi-derive keeps the `r"` / `r#"..."#` in the
 * TypeScript docs. Drop them. The generated header also declares
 * `__napiBindingTarget`, which only napi-rs's generated loader exports; this
 * package's hand-written loader (native.js) does not.
 */
function cleanDts(text) {
  return text
    .replace(/(\/\*\*| \*) r" /g, '$1 ')
    .replace(/(\/\*\*| \*) r(#+)" (.*?)"\2( \*\/)?$/gm, '$1 $3$4')
    .replace(/\n\/\*\*\n(?: \*[^\n]*\n)*? \*\/\nexport declare const __napiBindingTarget:[^\n]*\n/, '\n')
    .replace(/^\n+/, '');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, '..', '..', 'target');
  const scratch = path.join(targetDir, 'node-addon', `${opts.target ?? 'host'}-${opts.profile}`);
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });

  const args = [
    napiCli(), 'build',
    '--platform', '--no-js',
    '--output-dir', scratch,
    '--dts', 'native.d.ts', '--no-dts-header',
  ];
  // napi build finds the artifact under target/<triple>/debug or /release:
  // --release, or nothing for the dev profile (`--profile dev` would look in
  // target/<triple>/dev).
  if (opts.profile === 'release') args.push('--release');
  if (opts.target) args.push('--target', opts.target);
  if (opts.zig) args.push('--cross-compile');
  const env = { ...process.env };
  if (opts.profile === 'release') {
    // The workspace's release profile keeps line tables for backtraces; the
    // published addon does not ship them, nor the symbol table (~10x smaller).
    env.CARGO_PROFILE_RELEASE_STRIP = 'symbols';
    env.CARGO_PROFILE_RELEASE_DEBUG = 'false';
  }
  console.log(`build.js: napi build ${opts.target ?? '(host)'} ${opts.profile}${opts.zig ? ' (zig)' : ''}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
  if (r.error) {
    console.error(`build.js: ${r.error.message}`);
    return 1;
  }
  if (r.status !== 0) return r.status ?? 1;

  const built = fs.readdirSync(scratch).filter((f) => /^tenure\..+\.node$/.test(f));
  if (built.length !== 1) {
    console.error(`build.js: expected one tenure.<platform>.node in ${scratch}, found ${built.join(', ') || 'none'}`);
    return 1;
  }
  const file = built[0];
  const platform = file.slice('tenure.'.length, -'.node'.length);
  const pkgDir = path.join(root, 'npm', platform);
  if (!fs.existsSync(path.join(pkgDir, 'package.json'))) {
    console.error(`build.js: no platform package npm/${platform}/ for ${file}`);
    return 1;
  }
  fs.copyFileSync(path.join(scratch, file), path.join(pkgDir, file));
  console.log(`build.js: npm/${platform}/${file}`);
  if (opts.local) {
    fs.copyFileSync(path.join(scratch, file), path.join(root, file));
    console.log(`build.js: ${file} (local fallback of native.js)`);
  }

  const dts = cleanDts(fs.readFileSync(path.join(scratch, 'native.d.ts'), 'utf8'));
  const committed = path.join(root, 'native.d.ts');
  const current = fs.existsSync(committed) ? fs.readFileSync(committed, 'utf8') : null;
  if (dts !== current) {
    if (opts.checkDts) {
      fs.writeFileSync(path.join(scratch, 'native.d.ts'), dts);
      console.error(
        `build.js: native.d.ts is out of date with src/lib.rs (generated: ${path.join(scratch, 'native.d.ts')}); ` +
          'run `npm run build` in bindings/node and commit native.d.ts',
      );
      return 1;
    }
    fs.writeFileSync(committed, dts);
    console.log('build.js: native.d.ts regenerated (commit it)');
  }
  return 0;
}

process.exitCode = main();
