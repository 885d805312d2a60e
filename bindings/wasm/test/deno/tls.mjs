// Run by test/deno.test.mjs under Deno with `--cert <the cluster's CA>`: the
// client over TLS (Deno's fetch speaks HTTP/2, which the server's TLS offers).
import { Client } from '../../index.js';

const c = await Client.connect(Deno.args[0], { tls: true, callTimeoutMs: 5_000 });
try {
  const lock = await c.tryLock(`deno-tls/${Date.now()}`);
  if (typeof lock.fencingToken !== 'bigint') throw new Error('no bigint token');
  await lock.release();
  console.log(`deno tls passed with token ${lock.fencingToken}`);
} finally {
  await c.close();
}
