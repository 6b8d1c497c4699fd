"""The websocket's first message carries the service queue (service console) and the
pinned comment (watch page, host, staff), over a real uvicorn server on both backends."""

from __future__ import annotations

import httpx
import orjson
from fastapi import FastAPI

from tests.live.helpers import first_snapshot, live_stream, send, team_member

ASKS = ["尺码怎么选", "请问尺码怎么选", "尺码怎么选呀", "什么时候发货", "啥时候发货", "来了"]


async def test_first_snapshot_has_the_ranked_queue_and_the_pin_for_the_roles_that_see_them(
    served: tuple[FastAPI, str],
) -> None:
    app, addr = served
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        sid, key, admin = await live_stream(app, client)
        tag = f"{sid}_{id(app) % 10_000}"
        tokens = {
            role: await team_member(client, admin, sid, f"snap_{role}_{tag}", role)
            for role in ("service", "host", "controller", "analyst")
        }
        events = [
            {"type": "comment", "user_id": f"v{i}", "text": t, "event_id": f"snap-{i}"}
            for i, t in enumerate(ASKS)
        ]
        events.append({"type": "comment", "user_id": "s1", "text": "加V看更多低价同款 vx：abc8866"})
        assert (await send(client, sid, key, events)).status_code == 202
        svc = {"Authorization": f"Bearer {tokens['service']}"}
        ranked = (await client.get(f"/api/v1/streams/{sid}/queue", headers=svc)).json()
        assert [i["asker_count"] for i in ranked] == [3, 2]
        r = await client.put(
            f"/api/v1/streams/{sid}/queue-settings",
            json={"cue_threshold": 50},
            headers={"Authorization": f"Bearer {tokens['controller']}"},
        )
        assert r.status_code == 200, r.text
        comments = (await client.get(f"/api/v1/streams/{sid}/comments", headers=svc)).json()
        chat = next(c for c in comments if c["text"] == "来了")
        r = await client.post(f"/api/v1/streams/{sid}/comments/{chat['id']}/pin", headers=svc)
        assert r.status_code == 200, r.text
        r = await client.post(f"/api/v1/streams/{sid}/viewers")
        assert r.status_code == 201, r.text
        viewer_token = r.json()["viewer_token"]

        base = f"ws://{addr}/ws/streams/{sid}"
        service = await first_snapshot(f"{base}?token={tokens['service']}")
        queue = service["queue"]
        assert [(i["id"], i["label"], i["score"] > 0) for i in queue["items"]] == [
            (i["id"], i["label"], True) for i in ranked
        ]
        assert queue["items"][0]["label"] == "尺码怎么选 ×3"
        assert queue["truncated"] is False and queue["order_requests"] == []
        assert queue["settings"]["cue_threshold"] == 50
        assert service["pin"]["text"] == "来了" and service["pin"]["comment_id"] == chat["id"]

        controller = await first_snapshot(f"{base}?token={tokens['controller']}")
        assert len(controller["queue"]["items"]) == 2 and controller["pin"]["text"] == "来了"
        admin_token = admin["Authorization"].removeprefix("Bearer ")
        assert "queue" in await first_snapshot(f"{base}?token={admin_token}")

        host = await first_snapshot(f"{base}?token={tokens['host']}")
        assert "queue" not in host and host["pin"]["text"] == "来了"
        analyst = await first_snapshot(f"{base}?token={tokens['analyst']}")
        assert "queue" not in analyst and analyst["pin"]["text"] == "来了"
        watch = await first_snapshot(f"{base}/watch?token={viewer_token}")
        assert "queue" not in watch and watch["pin"]["text"] == "来了"
        assert "vx" not in orjson.dumps(watch).decode()  # nothing blocked in a viewer's view

        # a public answer replaces the pin; the answered item leaves the snapshot's queue
        top = ranked[0]["id"]
        r = await client.post(
            f"/api/v1/streams/{sid}/queue/{top}/answer",
            json={"text": "参考详情页尺码表", "public": True},
            headers=svc,
        )
        assert r.status_code == 200, r.text
        service = await first_snapshot(f"{base}?token={tokens['service']}")
        assert [i["id"] for i in service["queue"]["items"]] == [ranked[1]["id"]]
        watch = await first_snapshot(f"{base}/watch?token={viewer_token}")
        assert watch["pin"]["kind"] == "answer" and "参考详情页尺码表" in watch["pin"]["text"]
        assert (await client.delete(f"/api/v1/streams/{sid}/pin", headers=svc)).status_code == 204
        host = await first_snapshot(f"{base}?token={tokens['host']}")
        assert host["pin"] is None
