// The wasm client in a module Worker: a Worker keeps its timers running at
// full rate when the page is hidden (a hidden page's are throttled), so a
// page that must keep a lock runs its client in one (docs/design.md,
// "WebAssembly"). This one takes a lock, reports the token and releases it.
//
// The handler is set before the package loads (a dynamic import): the
// package's top-level await (loading the .wasm) would otherwise delay it, and
// a message that arrives meanwhile can be lost. Import maps do not reach
// Workers: the package is imported by its path.
self.onmessage = async ({ data }) => {
  const { endpoints, name } = data;
  let client;
  try {
    const { Client } = await import('/tenure-wasm/index.js');
    client = await Client.connect(endpoints, { label: 'web demo worker', ttlMs: 6_000 });
    const lock = await client.lock(name, { timeout: 10_000 });
    postMessage({ kind: 'progress', text: `holding ${name}, token ${lock.fencingToken}` });
    const info = await client.describe(name);
    const seen = info?.holders[0]?.token === lock.fencingToken;
    await lock.release();
    postMessage({
      kind: seen ? 'ok' : 'error',
      text: `worker held ${name} with token ${lock.fencingToken}${seen ? '' : ' (not on the server!)'}; released`,
      token: String(lock.fencingToken),
    });
  } catch (e) {
    postMessage({ kind: 'error', text: `${e.name} (${e.code}): ${e.message}` });
  } finally {
    await client?.close().catch(() => {});
  }
};
