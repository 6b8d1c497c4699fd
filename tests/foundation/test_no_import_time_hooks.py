"""Issue 17: nothing is registered by importing a module. The webhooks' session hooks are
installed by the start-up (lifespan, CLI), once, however often it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from sqlalchemy import event
from sqlalchemy.orm import Session
import app.main, app.cli, app.demo
from app.services import webhooks
hooks = webhooks._SESSION_HOOKS
assert not any(event.contains(Session, name, fn) for name, fn in hooks), "registered on import"
webhooks.install_session_hooks()
webhooks.install_session_hooks()
assert all(event.contains(Session, name, fn) for name, fn in hooks)
print("ok")
"""


def test_importing_the_app_registers_no_session_hook() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
