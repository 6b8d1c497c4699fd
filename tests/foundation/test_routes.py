"""Routers are matched in the order app/main.py includes them (hot live paths first).
That order may only be a matter of speed: no route's path may also match a route of
another router with the same method, or moving routers would change who answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.config import Settings
from app.main import create_app


def _routes(tmp_path: Path) -> list[tuple[int, Any]]:
    app = create_app(Settings(secret_key="k" * 40, data_dir=tmp_path))
    out: list[tuple[int, Any]] = []
    for group, entry in enumerate(app.router.routes):
        inner = getattr(getattr(entry, "original_router", None), "routes", None)
        candidates: list[Any] = list(inner) if inner is not None else [entry]
        for route in candidates:
            if hasattr(route, "path_regex") and "{path:path}" not in route.path:
                out.append((group, route))
    return out


def test_no_path_of_one_router_is_answered_by_another(tmp_path: Path) -> None:
    routes = _routes(tmp_path)
    assert len(routes) > 150  # the API's routes were found, not just the docs
    clashes = []
    for group_a, a in routes:
        sample = re.sub(r"\{[^}]+\}", "1", a.path)
        methods_a = getattr(a, "methods", None) or {"WEBSOCKET"}
        for group_b, b in routes:
            if group_a == group_b:
                continue
            methods_b = getattr(b, "methods", None) or {"WEBSOCKET"}
            if methods_a & methods_b and b.path_regex.match(sample):
                clashes.append(f"{sorted(methods_a & methods_b)} {a.path} ~ {b.path}")
    assert clashes == []


def test_the_live_hot_paths_are_matched_first(tmp_path: Path) -> None:
    paths = [route.path for _, route in _routes(tmp_path)]
    hot = [
        "/api/v1/streams/{stream_id}/events",
        "/api/v1/streams/{stream_id}/orders",
        "/api/v1/streams/{stream_id}/viewer-events",
    ]
    for path in hot:
        assert paths.index(path) < 40, path
