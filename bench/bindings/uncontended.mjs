// Benchmark scenario 7 (binding overhead): scenario 1 from Node.
//
// One client acquires and releases one lock in a loop; prints the latency of
// each measured pair in microseconds, one per line. The harness (`tenure-bench
// run --bindings node`) runs it against the same cluster as the Rust native loop.
//
// Environment: TENURE_ENDPOINTS, TENURE_BENCH_PAIRS, TENURE_BENCH_WARMUP,
// TENURE_BENCH_LOCK.
import { Client } from '../../bindings/node/index.mjs';

const pairs = Number(process.env.TENURE_BENCH_PAIRS);
const warmup = Number(process.env.TENURE_BENCH_WARMUP);
const name = process.env.TENURE_BENCH_LOCK;
const samples = [];
const client = await Client.connect(process.env.TENURE_ENDPOINTS, { ttlMs: 10_000, label: 'bench-node' });
try {
  for (let i = 0; i < warmup + pairs; i++) {
    const start = process.hrtime.bigint();
    const lock = await client.lock(name, { timeout: 10_000 });
    await lock.release();
    if (i >= warmup) samples.push((process.hrtime.bigint() - start) / 1000n);
  }
} finally {
  await client.close();
}
console.log(samples.join('\n'));
