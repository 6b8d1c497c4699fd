"""A real `controlroom serve` process whose output is kept in a file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT
from tests.conftest import REDIS_URL, TEST_PASSWORD, free_port


@contextmanager
def serve(db_url: str, log_path: Path, **env: str) -> Iterator[str]:
    """Serve on a free port until the block ends; yields "127.0.0.1:port"."""
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"lcrtest:{uuid.uuid4().hex[:8]}:",
        "SECRET_KEY": "security-test-secret-0123456789abcdef",
        "ADMIN_PASSWORD": TEST_PASSWORD,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(PROJECT_ROOT),
        **env,
    }
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 40
            while True:
                assert proc.poll() is None, log_path.read_text()[-2000:]
                assert time.monotonic() < deadline, "server did not start"
                try:
                    if httpx.get(f"http://{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            yield base
        finally:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
