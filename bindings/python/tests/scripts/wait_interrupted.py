"""Waits for a held lock until SIGINT. On KeyboardInterrupt prints
"interrupted <session id>" and stays alive (session open) until stdin closes."""

import sys

import tenure

client = tenure.Client(sys.argv[1], ttl=30)
try:
    client.lock(sys.argv[2], timeout=60)
    print("acquired", flush=True)
    sys.exit(1)
except KeyboardInterrupt:
    print(f"interrupted {client.session_id()}", flush=True)
sys.stdin.read()
client.close()
