"""The live websocket protocol (contract.md "Live websocket").

Server → client, every message a JSON object with `type`:

* `snapshot` first: `{"type": "snapshot", "epoch": "…", "seq": N, "resumed": bool,
  "stream": ..., "lineup": [...], "explaining": ..., "metrics": {...}, ...}` — the
  state the role needs (fields come from the registered snapshot contributors).
  `(epoch, seq)` is the position of the last discrete event it reflects.
* `metrics`: `{"type": "metrics", "ts": ..., "metrics": {...}}`, coalesced by the
  stream's ticker (settings.metrics_hz, only when something changed, latest-wins: a
  console that is behind skips stale snapshots).
* discrete events: `{"type": "product.listed", "epoch": "…", "seq": 12, "id"?: 345,
  "ts": ..., "stream_id": 7, "data": {...}, "roles"?: [...]}`.
* `ping` every `KEEPALIVE_SECONDS` of silence.

Positions (epoch, seq). `seq` is gap-free and increasing per stream *within an epoch*.
The epoch names one run of the stream's seq counter and changes whenever the counter may
have restarted: at every process start in embedded mode (the counter lives in memory),
and with Redis whenever the stream's position key is missing (a new stream, FLUSHDB, a
Redis restarted without persistence, an evicted key). Epochs are opaque strings
(`[0-9a-f]+`) that sort in the order they were made; a console compares them only for
equality. A console keeps the last position it saw and reconnects with
`?since=<epoch>:<seq>`:

* same epoch and the bounded history still reaches back to `seq`: `resumed: true`, the
  events after `seq` that the console missed follow the snapshot, before live ones; the
  console keeps its position and takes them.
* another epoch (or a bare number, or anything unparsable), or a history that no longer
  reaches back: `resumed: false`, and the snapshot's `(epoch, seq)` is the console's new
  base. Events then continue from it.
* an event whose epoch differs from the console's position is the start of a new epoch:
  the console takes it and its position (events are never dropped for a lower seq in a
  new epoch).

Events written through the outbox (app/realtime/outbox.py) carry `id`, unique per
event; the outbox relays at least once, so a console drops an event whose `id` it has
already seen (a repeat may come with a new position).

Client → server: `{"type": "ping"}` → `{"type": "pong"}`; anything else is ignored.

Close codes: 4401 missing/invalid token, 4403 role or stream not allowed, 4408 slow
consumer (too many undelivered events, or nothing accepted for SEND_TIMEOUT_SECONDS) or a
handshake (token, user and stream check) that took longer than HANDSHAKE_TIMEOUT_SECONDS,
1001 server shutting down. An address with too many sockets being authenticated at once
or too many failed opens in a short window is refused at the upgrade (HTTP 403).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SLOW = 4408
CLOSE_POLICY = 1008  # sent before accept: the client sees HTTP 403
CLOSE_GOING_AWAY = 1001

KEEPALIVE_SECONDS = 25.0
MAX_PENDING_EVENTS = 256
# A console whose socket accepted nothing for this long has stopped reading: closed 4408
# (metrics are latest-wins, so a stalled console that gets no discrete events would
# otherwise never reach MAX_PENDING_EVENTS).
SEND_TIMEOUT_SECONDS = 10.0
# Before a console is authenticated (issue 15): at most this many sockets per address
# being checked at once, this many failed opens per address per window before the
# address is refused at the upgrade (HTTP 403, no work done), and this long to finish
# the check (token, user, stream) before the socket is closed 4408.
MAX_UNAUTHENTICATED_PER_IP = 16
MAX_FAILED_UPGRADES_PER_IP = 30
FAILED_UPGRADE_WINDOW_SECONDS = 10.0
HANDSHAKE_TIMEOUT_SECONDS = 30.0
# A reconnect storm (issue 15): consoles that open within this many seconds of each
# other share one check of their right to open the stream (per user, token version and
# stream; per stream for the watch page) and one snapshot per stream, audience and
# position, instead of each opening a database session. A token revoked less than this
# long ago may still open a console; the revocation check (revocation.py) closes it
# within its CHECK_SECONDS.
SHARE_SECONDS = 1.0

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
