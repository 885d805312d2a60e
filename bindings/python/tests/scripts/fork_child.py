"""Fork behaviour: a client and lock made before fork() raise
ForkedClientError in the child; a new client in the child works; the parent's
session is untouched. Exit status 0 when every check passed."""

import os
import sys
import traceback

import tenure

endpoints, name = sys.argv[1], sys.argv[2]
client = tenure.Client(endpoints, ttl=5)
lock = client.lock(name, timeout=5)

pid = os.fork()
if pid == 0:
    failures = []
    try:
        for what, call in [
            ("lock.is_held", lock.is_held),
            ("lock.release", lock.release),
            ("client.try_lock", lambda: client.try_lock(name + "/other")),
            ("client.session_id", client.session_id),
            ("client.close", client.close),
        ]:
            try:
                call()
                failures.append(f"{what} did not raise")
            except tenure.ForkedClientError as e:
                if "fork" not in str(e):
                    failures.append(f"{what}: unclear message {e}")
        child = tenure.Client(endpoints, ttl=5)
        if child.session_id() == lock.session_id:
            failures.append("the child shares the parent's session")
        try:
            child.try_lock(name)
            failures.append("the child got the parent's lock")
        except tenure.LockHeld:
            pass
        with child.try_lock(name + "/child") as mine:
            if not mine.is_held():
                failures.append("child lock not held")
        # Left open on purpose: closed by the exit hook of the child's runtime.
    except BaseException:
        failures.append(traceback.format_exc())
    for f in failures:
        print("child:", f, flush=True)
    sys.exit(1 if failures else 0)

_, status = os.waitpid(pid, 0)
child_code = os.waitstatus_to_exitcode(status)
problems = []
if child_code != 0:
    problems.append(f"child exited with {child_code}")
if not lock.is_held():
    problems.append("the parent lost its lock")
info = client.describe(name)
if info is None or [h.session_id for h in info.holders] != [lock.session_id]:
    problems.append(f"the parent's grant changed: {info}")
lock.release()
client.close()
for p in problems:
    print("parent:", p, flush=True)
print("ok" if not problems else "failed", flush=True)
sys.exit(1 if problems else 0)
