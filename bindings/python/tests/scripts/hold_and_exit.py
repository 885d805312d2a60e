"""Holds a lock with a long TTL and exits without release or close; prints the
session id. The exit hook must close the session, so the lock is free at once."""

import sys

import tenure

client = tenure.Client(sys.argv[1], ttl=60)
lock = client.lock(sys.argv[2], timeout=10)
print(lock.session_id, flush=True)
