"""Process-level behaviour: fork safety, clean interpreter exit (100 runs),
sessions closed at exit, the examples, and the mypy --strict check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import tenure
from conftest import EXAMPLES, HERE, SCRIPTS, run_python

PACKAGE_SRC = HERE.parent / "python" / "tenure"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_child_cannot_use_the_parents_client(endpoints: str, name: str) -> None:
    result = run_python([str(SCRIPTS / "fork_child.py"), endpoints, name])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")
    assert "Fatal Python error" not in result.stderr


def test_interpreter_exits_cleanly_100_times(endpoints: str) -> None:
    modes = ["sync", "held", "async", "callbacks"]
    prefix = f"pytest/exit/{uuid.uuid4().hex[:8]}"

    def one(i: int) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        return run_python(
            [str(SCRIPTS / "exit_cleanly.py"), endpoints, f"{prefix}/{i}", modes[i % len(modes)]],
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, range(100)))
    bad = [
        (i, r.returncode, r.stderr[-2000:])
        for i, r in enumerate(results)
        if r.returncode != 0 or r.stdout.strip() != "done" or "Fatal Python error" in r.stderr
    ]
    assert not bad, f"{len(bad)} of 100 runs failed; first: {bad[0]}"


def test_exit_closes_the_session(endpoints: str, admin: tenure.Client, name: str) -> None:
    result = run_python([str(SCRIPTS / "hold_and_exit.py"), endpoints, name])
    assert result.returncode == 0, result.stderr
    session = int(result.stdout.strip())
    # The session had a 60 s TTL: only the exit hook's close frees the lock now.
    assert admin.describe(name) is None
    assert session not in [s.session_id for s in admin.list_sessions()]


@pytest.mark.parametrize(
    "example,expect",
    [
        ("quickstart.py", "released"),
        ("async_worker.py", "all workers done"),
        ("fenced_sqlite.py", "stale write rejected"),
    ],
)
def test_examples_run(endpoints: str, example: str, expect: str, tmp_path: Path) -> None:
    result = run_python(
        [str(EXAMPLES / example)],
        env={"TENURE_ENDPOINTS": endpoints, "TENURE_EXAMPLE_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert expect in result.stdout


def test_mypy_strict_on_the_package_and_examples() -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    assert mypy is not None, "mypy is not installed in this environment"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(HERE.parent / "pyproject.toml"),
            str(PACKAGE_SRC),
            *[str(p) for p in sorted(EXAMPLES.glob("*.py"))],
        ],
        capture_output=True,
        text=True,
        cwd=str(HERE.parent),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
