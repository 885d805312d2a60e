"""asyncio workers taking turns on one lock.

Several workers (each with its own client and session) process "jobs" under
the lock ``examples/async-worker``; only one runs at a time, and each checks
its fencing token is higher than the last one seen. ``lock.run()`` would
cancel a job if its lock were lost.

    TENURE_ENDPOINTS=127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102 python async_worker.py
"""

from __future__ import annotations

import asyncio
from typing import List

import tenure

LOCK = "examples/async-worker"


async def job(worker: int, token: int, seen: List[int]) -> None:
    if seen and token <= seen[-1]:
        raise RuntimeError(f"token {token} is not above {seen[-1]}")
    seen.append(token)
    print(f"worker {worker}: job with token {token}")
    await asyncio.sleep(0.05)


async def worker(n: int, rounds: int, seen: List[int]) -> None:
    async with tenure.AsyncClient.connect(ttl=10, label=f"async-worker-{n}") as client:
        for _ in range(rounds):
            async with client.lock(LOCK, timeout=30) as lock:
                # Runs the job while the lock is held; cancels it if the lock is lost.
                await lock.run(job(n, lock.fencing_token, seen))


async def main() -> None:
    seen: List[int] = []
    await asyncio.gather(*(worker(n, rounds=3, seen=seen) for n in range(3)))
    assert len(seen) == 9 and seen == sorted(seen)

    # A waiting acquire can be cancelled: it leaves the server's queue.
    async with tenure.AsyncClient.connect(ttl=10) as a, tenure.AsyncClient.connect(ttl=10) as b:
        async with a.lock(LOCK, timeout=10):
            try:
                await asyncio.wait_for(b.lock(LOCK, timeout=30), timeout=0.5)
            except asyncio.TimeoutError:
                print("b gave up waiting (its acquire was withdrawn)")
    print("all workers done")


if __name__ == "__main__":
    asyncio.run(main())
