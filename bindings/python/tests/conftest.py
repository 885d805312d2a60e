"""Fixtures: a real `tenure dev` cluster (3 Raft nodes in one process) per test
session, on free loopback ports, and clients connected to it."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

import tenure

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SCRIPTS = HERE / "scripts"
EXAMPLES = REPO / "examples" / "python"


def tenure_bin() -> Path:
    """The server binary: $TENURE_BIN, else <repo>/target/debug/tenure."""
    env = os.environ.get("TENURE_BIN")
    path = Path(env) if env else REPO / "target" / "debug" / "tenure"
    if not path.exists():
        pytest.exit(f"{path} not found: run `cargo build --workspace` or set TENURE_BIN", 2)
    return path


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_range(n: int) -> int:
    """A first port such that `n` consecutive loopback ports are free now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + n <= 65535 and all(_bindable(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free port range")


class Cluster:
    """A running `tenure dev --nodes 3` process."""

    def __init__(self, log_dir: Path) -> None:
        self.proc: Optional[subprocess.Popen[str]] = None
        self.endpoints = ""
        last_error = ""
        for attempt in range(5):
            base = free_port_range(3)
            log = open(log_dir / f"tenure-dev-{base}.log", "w")
            proc = subprocess.Popen(
                [str(tenure_bin()), "dev", "--nodes", "3", "--port", str(base)],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
            lines: "queue.Queue[Optional[str]]" = queue.Queue()

            def pump(p: "subprocess.Popen[str]" = proc, q: "queue.Queue[Optional[str]]" = lines) -> None:
                assert p.stdout is not None
                for line in p.stdout:
                    q.put(line)
                q.put(None)

            threading.Thread(target=pump, daemon=True).start()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=deadline - time.monotonic())
                except queue.Empty:
                    break
                if line is None:
                    break
                if line.startswith("endpoints:"):
                    self.endpoints = line.split(":", 1)[1].strip()
                    break
            if self.endpoints:
                self.proc = proc
                return
            last_error = f"attempt {attempt}: no endpoints line (exit {proc.poll()})"
            self._kill(proc)
        raise RuntimeError(f"tenure dev did not start: {last_error}")

    @staticmethod
    def _kill(proc: "subprocess.Popen[str]") -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            self._kill(self.proc)
            self.proc = None


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        # Wait until the cluster has a leader that serves calls.
        admin = tenure.Client(c.endpoints, lazy=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                if admin.status().leader_id is not None:
                    break
            except tenure.TenureError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster elected no leader")
            time.sleep(0.1)
        yield c
    finally:
        c.stop()


@pytest.fixture
def endpoints(cluster: Cluster) -> str:
    return cluster.endpoints


@pytest.fixture
def clients(endpoints: str) -> Iterator[List[tenure.Client]]:
    """Clients made by `new_client`, closed after the test."""
    made: List[tenure.Client] = []
    yield made
    for c in made:
        try:
            c.close()
        except tenure.TenureError:
            pass


@pytest.fixture
def new_client(endpoints: str, clients: List[tenure.Client]):  # type: ignore[no-untyped-def]
    def make(**kw: object) -> tenure.Client:
        kw.setdefault("ttl", 3.0)
        c = tenure.Client(endpoints, **kw)  # type: ignore[arg-type]
        clients.append(c)
        return c

    return make


@pytest.fixture
def admin(endpoints: str) -> tenure.Client:
    """A lazy client (no session) for admin calls."""
    return tenure.Client(endpoints, lazy=True)


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A lock name unique to the test."""
    return f"pytest/{request.node.name}/{uuid.uuid4().hex[:8]}"


def run_python(args: List[str], env: Optional[dict] = None, timeout: float = 120) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    """Runs a Python script in a fresh interpreter of this venv."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=full_env
    )


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    """Polls `predicate` until it is true or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
