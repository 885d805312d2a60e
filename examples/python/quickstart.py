"""Quickstart: take a lock, use its fencing token, release it.

Run a dev cluster (``tenure dev``) and then::

    TENURE_ENDPOINTS=127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102 python quickstart.py
"""

from __future__ import annotations

import tenure


def main() -> None:
    # Endpoints come from TENURE_ENDPOINTS (any cluster members will do).
    with tenure.Client(ttl=10) as client:
        print(f"connected: session {client.session_id()} is {client.session_state.value}")

        # Wait up to 10 s for the lock; leaving the block releases it.
        with client.lock("examples/quickstart", timeout=10) as lock:
            print(f"holding {lock.name!r} with fencing token {lock.fencing_token}")
            # Send the fence with every write so storage can reject stale holders.
            print(f"header  {tenure.FENCE_HEADER}: {lock.fence.header_value()}")
            print(f"held for at least {lock.remaining():.1f} s without another renewal")

            # Someone else trying at the same time gets LockHeld.
            with tenure.Client(ttl=10) as other:
                try:
                    other.try_lock("examples/quickstart")
                except tenure.LockHeld as e:
                    print(f"other client: {e.code} ({e.message})")

        print(f"released: {lock.lost_reason()}")


if __name__ == "__main__":
    main()
