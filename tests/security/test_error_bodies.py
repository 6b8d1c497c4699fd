"""422 bodies match the error schema the OpenAPI documents, whichever layer answers:
request validation, a service's own 422, the URL check, the password policy."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema_rs
from fastapi import FastAPI

from app.models import StreamStatus
from tests.conftest import Staff
from tests.live.helpers import new_stream, set_status


def _operation(spec: dict[str, Any], method: str, url: str) -> dict[str, Any]:
    path = url.split("?")[0]
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method in item:
            return dict(item[method])
    raise AssertionError(f"{method} {path} is not in the OpenAPI")


async def test_422_bodies_match_the_documented_schema(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    spec = (await client.get("/openapi.json")).json()
    sid = await new_stream(client, staff.admin)
    await set_status(app, sid, StreamStatus.live)
    viewer = (await client.post(f"/api/v1/streams/{sid}/viewers")).json()["viewer_token"]
    me = (await client.get("/api/v1/auth/me", headers=staff.admin)).json()["id"]
    cases: list[tuple[str, str, Any, dict[str, str]]] = [
        ("post", "/api/v1/auth/login", {"username": "admin"}, {}),  # pydantic
        ("post", "/api/v1/streams", {"title": "x", "target_viewers": 2**31}, staff.admin),
        ("get", f"/api/v1/streams/{sid}/orders?viewer_id=a%00b", None, staff.admin),  # URL
        (
            "post",
            "/api/v1/users",
            {"username": "abc", "password": "1234567890", "role": "host"},
            staff.admin,
        ),  # password policy
        ("patch", f"/api/v1/users/{me}", {"password": "admin12345"}, staff.admin),
        (
            "post",
            "/api/v1/auth/password",
            {"current_password": "not-it-at-all", "new_password": "a-good-new-one-7"},
            staff.admin,
        ),
        (
            "post",
            f"/api/v1/streams/{sid}/viewer-events",
            {"type": "dance"},
            {"Authorization": f"Bearer {viewer}"},
        ),  # a service's own 422, a sentence
    ]
    for method, url, body, headers in cases:
        r = await client.request(method, url, json=body, headers=headers)
        assert r.status_code == 422, (url, r.status_code, r.text)
        op = _operation(spec, method, url)
        documented = op["responses"]["422"]["content"]["application/json"]["schema"]
        validator = jsonschema_rs.Draft202012Validator(
            {**documented, "components": spec["components"]}
        )
        errors = [e.message for e in validator.iter_errors(r.json())]
        assert errors == [], (url, r.json(), errors)
        assert isinstance(r.json()["code"], str)
