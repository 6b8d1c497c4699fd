"""What a console gets when it opens: every part of the websocket's snapshot and the
audiences that see it, in one table (app/realtime/snapshot.py builds the snapshot from
it). The lifespan attaches it to `live.workers.snapshot_parts` at start-up."""

from __future__ import annotations

from app.realtime.snapshot import SnapshotPart, part
from app.services import alerts, comments, controls, lineup, lottery, metrics, queue

# Audiences (admins see what any staff role sees; "viewer" is the watch page).
ON_AIR = frozenset({"host", "controller", "service", "analyst"})  # the whole team
PUBLIC = ON_AIR | {"viewer"}

SNAPSHOT_PARTS: tuple[SnapshotPart, ...] = (
    part("stream", metrics.stream_part, PUBLIC),
    part("lineup", lineup.lineup_part, ON_AIR),
    part("explaining", metrics.explaining_part, PUBLIC),
    part("metrics", metrics.metrics_part, PUBLIC),
    part("segment", controls.segment_part, ON_AIR),
    part("cues", controls.cues_part, {"host", "controller", "service"}),
    part("incidents", controls.incidents_part, {"host", "controller", "analyst"}),
    part("pin", comments.pin_part, PUBLIC),
    part("alerts", alerts.alerts_part, {"host", "controller"}),
    part("queue", queue.queue_part, {"service", "controller"}),
    part("lotteries", lottery.lotteries_part, PUBLIC),
)
