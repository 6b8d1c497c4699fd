"""The live websocket protocol (contract.md "Live websocket").

Server → client, every message a JSON object with `type`:

* `snapshot` first: `{"type": "snapshot", "seq": N, "resumed": bool, "stream": ...,
  "lineup": [...], "explaining": ..., "metrics": {...}, ...}` — the state the role
  needs (fields come from the registered snapshot contributors). `seq` is the last
  discrete event it reflects; later events carry `seq` > N. With `?since=S` and the
  bounded history still reaching back to S, `resumed` is true and the events after S
  that the console missed follow the snapshot, before live ones.
* `metrics`: `{"type": "metrics", "ts": ..., "metrics": {...}}`, coalesced by the
  stream's ticker (settings.metrics_hz, only when something changed, latest-wins: a
  console that is behind skips stale snapshots).
* discrete events: `{"type": "product.listed", "seq": 12, "ts": ..., "stream_id": 7,
  "data": {...}, "roles"?: [...]}`, gap-free increasing `seq` per stream.
* `ping` every `KEEPALIVE_SECONDS` of silence.

Client → server: `{"type": "ping"}` → `{"type": "pong"}`; anything else is ignored.

Close codes: 4401 missing/invalid token, 4403 role or stream not allowed, 4408 slow
consumer (too many undelivered events), 1001 server shutting down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SLOW = 4408
CLOSE_GOING_AWAY = 1001

KEEPALIVE_SECONDS = 25.0
MAX_PENDING_EVENTS = 256

# Audiences: staff consoles see events without `roles` and those naming their role;
# the watch page sees only events whose `roles` include VIEWER.
VIEWER = "viewer"
PUBLIC_ROLES = frozenset({"viewer", "admin", "host", "controller", "service", "analyst"})

# A prepared ASGI message: built once per broadcast and handed to every connection.
WireMessage = dict[str, Any]


def prepare(message: dict[str, Any] | bytes) -> WireMessage:
    text = message.decode() if isinstance(message, bytes) else orjson.dumps(message).decode()
    return {"type": "websocket.send", "text": text}


def metrics_message(metrics: dict[str, Any]) -> dict[str, Any]:
    return {"type": "metrics", "ts": datetime.now(UTC).isoformat(), "metrics": metrics}


def visible_to(roles: list[str] | None, audience: str) -> bool:
    if audience == VIEWER:
        return roles is not None and VIEWER in roles
    return roles is None or audience in roles or audience == "admin"


PING = prepare({"type": "ping"})
PONG = prepare({"type": "pong"})

# What a viewer's watch page may see of the metrics.
PUBLIC_METRICS = ("online", "viewers", "likes")
