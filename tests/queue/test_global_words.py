"""Global blocked words: admins keep one list applied on every stream, together with
each stream's own words, from the next comment on."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.models import StreamStatus
from tests.controls.conftest import Crew, Room, make_stream, set_status
from tests.queue.conftest import take_in

GLOBAL = "/api/v1/blocked-words"


async def blocked(app: FastAPI, stream_id: int, text: str) -> tuple[bool, str | None]:
    result = await take_in(app, stream_id, [("v1", text)])
    c = result.comments[0]
    return c.blocked, c.block_reason


async def test_an_admin_global_word_blocks_on_every_stream_from_the_next_comment(
    app: FastAPI, client: httpx.AsyncClient, room: Room, crew: Crew
) -> None:
    other = await make_stream(client, crew.admin, "另一场")
    await set_status(app.state.sessionmaker, other, StreamStatus.live)
    # the moderators of both streams are built and cached before the word exists
    assert await blocked(app, room.stream_id, "这是山寨货吧") == (False, None)
    assert await blocked(app, other, "是山寨货吗 怎么分辨") == (False, None)
    r = await client.post(
        "/api/v1/comments/classify", json={"texts": ["山 寨 货"]}, headers=room.svc
    )
    assert r.json()["results"][0]["blocked"] is False

    r = await client.post(GLOBAL, json={"words": ["山寨货", " 竞品A "]}, headers=crew.admin)
    assert r.status_code == 201, r.text
    added = r.json()
    assert sorted(w["word"] for w in added) == ["山寨货", "竞品A"]
    assert all(w["stream_id"] is None for w in added)
    again = await client.post(GLOBAL, json={"words": ["山寨货"]}, headers=crew.admin)
    assert again.status_code == 201 and again.json() == []

    # no restart: the next comment on any stream is blocked, disguises included
    assert await blocked(app, room.stream_id, "这是山寨货吧") == (True, "blocked_word")
    assert await blocked(app, other, "山.寨.貨 便宜") == (True, "blocked_word")
    assert await blocked(app, other, "买竞品ａ的来") == (True, "blocked_word")
    r = await client.post(
        "/api/v1/comments/classify", json={"texts": ["山 寨 货", "尺码怎么选"]}, headers=room.svc
    )
    assert [x["blocked"] for x in r.json()["results"]] == [True, False]
    # combined with the stream's own words
    r = await client.post(
        f"/api/v1/streams/{room.stream_id}/blocked-words",
        json={"words": ["隔壁店"]},
        headers=room.ctl,
    )
    assert r.status_code == 201
    assert await blocked(app, room.stream_id, "隔壁店更便宜") == (True, "blocked_word")
    assert await blocked(app, other, "隔壁店更便宜") == (False, None)
    listed = await client.get(f"/api/v1/streams/{room.stream_id}/blocked-words", headers=room.ctl)
    assert {w["word"] for w in listed.json()} == {"山寨货", "竞品A", "隔壁店"}

    r = await client.get(GLOBAL, headers=crew.admin)
    assert r.status_code == 200 and [w["word"] for w in r.json()] == ["山寨货", "竞品A"]
    word_id = next(w["id"] for w in r.json() if w["word"] == "山寨货")
    # a stream's controller cannot remove a global word through the stream
    r = await client.delete(
        f"/api/v1/streams/{room.stream_id}/blocked-words/{word_id}", headers=room.ctl
    )
    assert r.status_code == 404 and r.json()["code"] == "word_not_found"
    assert (await client.delete(f"{GLOBAL}/{word_id}", headers=crew.admin)).status_code == 204
    assert await blocked(app, room.stream_id, "这是山寨货吧") == (False, None)
    r = await client.delete(f"{GLOBAL}/{word_id}", headers=crew.admin)
    assert r.status_code == 404 and "detail" in r.json()
    stream_word = next(w["id"] for w in listed.json() if w["word"] == "隔壁店")
    r = await client.delete(f"{GLOBAL}/{stream_word}", headers=crew.admin)
    assert r.status_code == 404  # a stream's word is not a global one


async def test_only_admins_keep_the_global_list(
    client: httpx.AsyncClient, room: Room, crew: Crew
) -> None:
    r = await client.post(GLOBAL, json={"words": ["违禁词"]}, headers=crew.admin)
    word_id = r.json()[0]["id"]
    for headers in (room.ctl, room.svc, room.host, room.analyst):
        assert (await client.get(GLOBAL, headers=headers)).status_code == 403
        r = await client.post(GLOBAL, json={"words": ["x"]}, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
        assert (await client.delete(f"{GLOBAL}/{word_id}", headers=headers)).status_code == 403
    assert (await client.get(GLOBAL)).status_code == 401
    assert (await client.post(GLOBAL, json={"words": ["x"]})).status_code == 401
    r = await client.get(GLOBAL, headers=crew.admin)
    assert [w["word"] for w in r.json()] == ["违禁词"]  # nothing changed


async def test_bad_global_words_are_refused_with_a_reason_and_change_nothing(
    client: httpx.AsyncClient, crew: Crew
) -> None:
    bad: dict[str, Any]
    for bad in (
        {"words": []},
        {"words": "山寨"},
        {"words": [1]},
        {"words": ["x" * 65]},
        {"words": ["   "]},
        {"words": ["！！！", "好词"]},
        {"words": ["ok"], "scope": "all"},
        {},
    ):
        r = await client.post(GLOBAL, json=bad, headers=crew.admin)
        assert r.status_code == 422, (bad, r.text)
        assert "detail" in r.json()
    r = await client.post(GLOBAL, json={"words": ["！！！"]}, headers=crew.admin)
    assert r.json()["code"] == "word_unmatchable"
    r = await client.post(
        GLOBAL,
        content=b"{not json",
        headers={**crew.admin, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and "detail" in r.json()
    r = await client.post(GLOBAL, json={"words": ["x"] * 2001}, headers=crew.admin)
    assert r.status_code == 422
    r = await client.delete(f"{GLOBAL}/not-a-number", headers=crew.admin)
    assert r.status_code == 422 and "detail" in r.json()
    assert (await client.get(GLOBAL, headers=crew.admin)).json() == []
