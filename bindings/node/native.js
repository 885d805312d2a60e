// Loads the native addon (the napi-rs build of src/lib.rs) for this machine.
//
// `npm install tenure` installs, as an optional dependency, the one platform
// package that matches the machine (npm reads its os, cpu and libc fields):
//
//   tenure-linux-x64-gnu     x86_64, glibc 2.17 or newer
//   tenure-linux-arm64-gnu   aarch64, glibc 2.17 or newer
//   tenure-linux-x64-musl    x86_64, musl (Alpine)
//
// Each holds `tenure.<platform>.node`. In a checkout of the repository
// (`npm run build` in bindings/node) the addon is `./tenure.<platform>.node`
// next to this file instead; that one is tried first, as napi-rs's generated
// loaders do, so a fresh local build wins over an installed package. The
// published package holds no .node file, so installs always use the platform
// package.
//
// Hand-written (napi build --no-js), not generated; its types are native.d.ts.
'use strict';

const { readFileSync } = require('node:fs');
const path = require('node:path');

const { version } = require('./package.json');

// musl or glibc, detected as napi-rs's generated loaders do: /usr/bin/ldd's
// text, then the process report, then `ldd --version`.
const isFileMusl = (f) => f.includes('libc.musl-') || f.includes('ld-musl-');

function isMuslFromFilesystem() {
  try {
    return readFileSync('/usr/bin/ldd', 'utf-8').includes('musl');
  } catch {
    return null;
  }
}

function isMuslFromReport() {
  let report = null;
  if (process.report && typeof process.report.getReport === 'function') {
    process.report.excludeNetwork = true;
    report = process.report.getReport();
  }
  if (!report) return null;
  if (report.header && report.header.glibcVersionRuntime) return false;
  if (Array.isArray(report.sharedObjects) && report.sharedObjects.some(isFileMusl)) return true;
  return false;
}

function isMuslFromChildProcess() {
  try {
    return require('node:child_process').execSync('ldd --version', { encoding: 'utf8' }).includes('musl');
  } catch {
    // Unknown: assume glibc.
    return false;
  }
}

function isMusl() {
  let musl = isMuslFromFilesystem();
  if (musl === null) musl = isMuslFromReport();
  if (musl === null) musl = isMuslFromChildProcess();
  return musl;
}

/** The platforms with a published addon package. */
const PLATFORMS = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl'];

/** This machine's platform name in napi-rs's spelling, e.g. `linux-x64-gnu`. */
function currentPlatform() {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  return `${platform}-${arch}`;
}

function loadAddon() {
  const platform = currentPlatform();
  const errors = [];

  const local = path.join(__dirname, `tenure.${platform}.node`);
  try {
    return require(local);
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') errors.push(e);
  }

  const pkg = `tenure-${platform}`;
  if (PLATFORMS.includes(platform)) {
    let pkgVersion = null;
    try {
      pkgVersion = require(`${pkg}/package.json`).version;
    } catch (e) {
      errors.push(e);
    }
    if (pkgVersion !== null) {
      if (pkgVersion !== version) {
        throw new Error(
          `tenure ${version} needs ${pkg}@${version}, but ${pkg}@${pkgVersion} is installed: ` +
            `reinstall with \`npm install tenure@${version}\``,
        );
      }
      try {
        return require(pkg);
      } catch (e) {
        throw new Error(`tenure: the native addon of ${pkg}@${pkgVersion} failed to load: ${e.message}`, { cause: e });
      }
    }
    const error = new Error(
      `tenure: the native addon package ${pkg}@${version} is not installed. npm installs it ` +
        `with tenure as an optional dependency for ${platform}; it is missing if optional ` +
        'dependencies were omitted (--omit=optional, --no-optional) or the package-lock.json was ' +
        `made on another platform (https://github.com/npm/cli/issues/4828). Install it with ` +
        `\`npm install ${pkg}@${version}\`, or remove node_modules and package-lock.json and run ` +
        '`npm install` again.',
    );
    error.code = 'TENURE_ADDON_NOT_FOUND';
    error.cause = errors;
    throw error;
  }

  const error = new Error(
    `tenure: no prebuilt native addon for ${platform}; the packages cover ` +
      `${PLATFORMS.join(', ')}. Build it from source in a checkout of ` +
      'https://github.com/tenure-locks/tenure (bindings/node: npm ci && npm run build), ' +
      `which writes tenure.${platform}.node next to native.js.`,
  );
  error.code = 'TENURE_ADDON_NOT_FOUND';
  error.cause = errors;
  throw error;
}

module.exports = loadAddon();
