"""Benchmark scenario 7 (binding overhead): scenario 1 from Python.

One client acquires and releases one lock in a loop; prints the latency of each
measured pair in microseconds, one per line. The harness (`tenure-bench run
--bindings python`) runs it against the same cluster as the Rust native loop.

Environment: TENURE_ENDPOINTS, TENURE_BENCH_PAIRS, TENURE_BENCH_WARMUP,
TENURE_BENCH_LOCK.
"""

from __future__ import annotations

import os
import time

import tenure


def main() -> None:
    pairs = int(os.environ["TENURE_BENCH_PAIRS"])
    warmup = int(os.environ["TENURE_BENCH_WARMUP"])
    name = os.environ["TENURE_BENCH_LOCK"]
    samples = []
    with tenure.Client(ttl=10, label="bench-python") as client:
        for i in range(warmup + pairs):
            start = time.perf_counter_ns()
            with client.lock(name, timeout=10):
                pass
            if i >= warmup:
                samples.append((time.perf_counter_ns() - start) // 1000)
    print("\n".join(map(str, samples)))


if __name__ == "__main__":
    main()
