"""The loop of a background worker that is woken by a kick or after `poll` seconds,
whichever comes first, runs one step, and survives the step's failures (logged; the
next wake tries again). Used by the webhook dispatcher and the rehearsal replays."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def run_woken(
    wake: asyncio.Event, poll: float, step: Callable[[], Awaitable[None]], failure: str
) -> None:
    """Forever: wait for `wake` (at most `poll` s), clear it, run `step`; an exception
    of the step is logged as `failure` and the loop goes on. Ends by cancellation."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), poll)
        wake.clear()
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(failure)
