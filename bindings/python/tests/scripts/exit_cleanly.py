"""Uses the client and exits without cleaning up; the interpreter must exit
with status 0 (the runtime is shut down by the atexit hook). Modes: sync,
held, async, callbacks."""

import asyncio
import sys

import tenure

endpoints, name, mode = sys.argv[1], sys.argv[2], sys.argv[3]

if mode == "sync":
    client = tenure.Client(endpoints, ttl=5)
    with client.lock(name, timeout=30):
        pass
elif mode == "held":
    client = tenure.Client(endpoints, ttl=5)
    lock = client.lock(name, timeout=30)
elif mode == "async":

    async def main() -> None:
        client = await tenure.AsyncClient.connect(endpoints, ttl=5)
        lock = await client.lock(name, timeout=30)
        await lock.release()
        # A pending awaitable left behind when the loop ends.
        asyncio.ensure_future(lock.lost())

    asyncio.run(main())
elif mode == "callbacks":
    client = tenure.Client(endpoints, ttl=5)
    lock = client.lock(name, timeout=30)
    lock.on_lost(lambda reason: None)
    client.on_session_state(lambda state: None)
else:
    raise SystemExit(f"unknown mode {mode}")
print("done", flush=True)
