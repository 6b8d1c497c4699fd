"""A console's first snapshot fills the lists it carries instead of having them refetched
(issue 15): each seeded list's endpoint is asked once (the page's own first load) and not
again because the snapshot came; a later change still shows (its event refetches)."""

from __future__ import annotations

import re
from collections import Counter

import httpx
from playwright.sync_api import Page, Request, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import sign_in


def _record(page: Page, sid: int) -> Counter[str]:
    """GET requests of the page to the stream's endpoints, by path after /streams/{id}."""
    asked: Counter[str] = Counter()
    pattern = re.compile(rf"/api/v1/streams/{sid}(/[^?]*)?(\?|$)")

    def on_request(request: Request) -> None:
        match = pattern.search(request.url)
        if request.method == "GET" and match:
            asked[match.group(1) or "/"] += 1

    page.on("request", on_request)
    return asked


def _settled(page: Page) -> None:
    """The live feed is open and fresh (its snapshot arrived), and whatever the snapshot
    set off has had time to be asked."""
    expect(page.get_by_test_id("conn-banner")).to_have_count(0, timeout=15_000)
    page.wait_for_timeout(1500)


def _questions(server: Server, sid: int, texts: list[str], tag: str) -> None:
    key = server.call("POST", f"/api/v1/streams/{sid}/ingest-keys")["key"]
    events = [
        {"type": "comment", "user_id": f"{tag}{i}", "text": t, "event_id": f"{tag}-{i}"}
        for i, t in enumerate(texts)
    ]
    r = httpx.post(
        f"{server.base_url}/api/v1/streams/{sid}/events",
        json={"events": events},
        headers={"X-Ingest-Key": key},
    )
    assert r.status_code == 202, r.text


def test_the_control_console_takes_its_lists_from_the_snapshot(page: Page, server: Server) -> None:
    room = make_room(server, "seedctl", products=1)
    sid = room.stream_id
    server.call("POST", f"/api/v1/streams/{sid}/cues", json={"text": "先讲尺码"})
    lottery = {"prize": "保温杯", "winners_count": 1, "condition": "follow"}
    lottery["duration_seconds"] = 300
    server.call("POST", f"/api/v1/streams/{sid}/lotteries", json=lottery)
    asked = _record(page, sid)
    sign_in(page, "ctl_seedctl", path=f"/streams/{sid}/control")
    console = page.get_by_test_id("control-console")
    _settled(page)
    expect(console).to_contain_text("先讲尺码")
    expect(page.get_by_test_id("lotteries")).to_contain_text("保温杯")
    expect(page.get_by_test_id(f"lineup-row-{room.product_ids[0]}")).to_be_visible()
    for path in ("/lineup", "/segments/current", "/lotteries", "/metrics"):
        assert asked[path] == 1, (path, dict(asked))
    # The lists the snapshot does not carry as the console asks for them are refetched.
    assert asked["/incidents"] >= 1 and asked["/cues"] >= 1, dict(asked)

    # Later changes still reach the page: their events refetch what they concern.
    server.call("POST", f"/api/v1/streams/{sid}/cues", json={"text": "福袋马上开"})
    expect(console).to_contain_text("福袋马上开")
    server.call("POST", f"/api/v1/streams/{sid}/lotteries", json={**lottery, "prize": "小风扇"})
    expect(page.get_by_test_id("lotteries")).to_contain_text("小风扇")
    assert asked["/lotteries"] == 2, dict(asked)


def test_the_service_console_takes_its_queue_from_the_snapshot(page: Page, server: Server) -> None:
    room = make_room(server, "seedsvc", products=1)
    sid = room.stream_id
    _questions(server, sid, ["这款面霜敏感肌能用吗"], "seedsvc-a")
    asked = _record(page, sid)
    sign_in(page, "svc_seedsvc", path=f"/streams/{sid}/service")
    _settled(page)
    items = page.get_by_test_id("queue-item")
    expect(items).to_have_count(1)
    expect(items.first.get_by_test_id("queue-text")).to_contain_text("敏感肌")
    assert asked["/queue"] == 1, dict(asked)

    _questions(server, sid, ["什么时候发货呀"], "seedsvc-b")
    expect(items).to_have_count(2)
    expect(page.get_by_test_id("service-console")).to_contain_text("发货")
