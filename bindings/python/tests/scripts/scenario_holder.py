"""A lock holder in its own process for the shared scenarios.

Modes:
  pause ENDPOINTS LOCK  holds LOCK (ttl 2 s), prints ``acquired <token>``, then
                        polls ``is_held()``; prints ``lost <reason>`` when it
                        is no longer held.
  exit ENDPOINTS LOCK   holds LOCK and exits with the client and lock open.
  env - LOCK [no-env]   like exit, with no endpoints given (TENURE_ENDPOINTS).
"""

import sys
import time

import tenure

mode, endpoints, name = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "pause":
    client = tenure.Client(endpoints, ttl=2)
    lock = client.lock(name, timeout=30)
    print(f"acquired {lock.fencing_token}", flush=True)
    while lock.is_held():
        time.sleep(0.02)
    print(f"lost {lock.lost_reason()}", flush=True)
elif mode == "exit":
    client = tenure.Client(endpoints, ttl=30)
    lock = client.try_lock(name)
    print("acquired", flush=True)
elif mode == "env":
    client = tenure.Client(use_env=sys.argv[4:] != ["no-env"])
    lock = client.try_lock(name)
    print("acquired", flush=True)
else:
    raise SystemExit(f"unknown mode {mode}")
