"""Connecting a platform from the consoles (issue 18): a controller adds a platform feed
and an action webhook, a signed platform payload arrives, an action goes out to a real
receiver which reports it done, and the control console shows both."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.harness import REPO, Server, make_room
from tests.browser.steps import set_language, sign_in
from tests.connect.conftest import Receiver

SAMPLES = REPO / "app" / "connectors" / "mappings" / "samples"


def keep_screenshot(path: Path, name: str) -> None:
    """`LCR_SCREENSHOTS=1`: refresh the README's screenshot of this page."""
    if os.environ.get("LCR_SCREENSHOTS") == "1":
        shutil.copy(path, REPO / "docs" / "screenshots" / name)


def test_connect_page_and_control_panel(page: Page, server: Server, tmp_path: Path) -> None:
    room = make_room(server, "cnx", products=2)
    sid = room.stream_id
    receiver = Receiver()
    receiver.start()
    try:
        sign_in(page, "ctl_cnx", path=f"/streams/{sid}/connect")
        expect(page.get_by_test_id("connect-page")).to_be_visible()
        # A platform feed: Shopify's orders mapping with the shop's secret.
        feeds = page.get_by_test_id("connectors")
        feeds.get_by_label("名称").fill("Shopify 主店")
        feeds.get_by_label("映射").select_option("shopify.orders")
        feeds.get_by_label("平台签名密钥").fill("shpss_browser")
        feeds.get_by_role("button", name="添加").click()
        row = feeds.get_by_test_id("connector-row")
        expect(row).to_contain_text("等待首条")
        inbound = row.locator("code.small").inner_text()
        # An action webhook to a real receiver; its secret is shown once.
        hooks = page.get_by_test_id("webhooks")
        hooks.get_by_label("接收地址").fill(receiver.url)
        hooks.get_by_label("事件").fill("action.*, product.listed")
        hooks.get_by_role("button", name="添加").click()
        expect(page.get_by_test_id("webhook-secret")).to_contain_text("whsec_")
        expect(hooks.get_by_test_id("webhook-row")).to_have_count(1)

        # The platform posts an order, signed as Shopify does.
        sample = json.loads((SAMPLES / "shopify_orders.json").read_text())[0]
        # Placed 1.5 s ago by the shop's clock (the lag shown; a time in the future would
        # be flagged as the platform's clock running ahead).
        placed = datetime.now(UTC) - timedelta(seconds=1.5)
        sample["payload"]["created_at"] = placed.isoformat(timespec="milliseconds")
        skus = [server.call("GET", f"/api/v1/products/{p}")["sku"] for p in room.product_ids]
        raw = (
            json.dumps(sample["payload"])
            .replace("LCR-DEMO-1", skus[0])
            .replace("LCR-DEMO-2", skus[1])
            .encode()
        )
        sig = base64.b64encode(hmac.new(b"shpss_browser", raw, hashlib.sha256).digest()).decode()
        r = httpx.post(
            server.base_url + inbound,
            content=raw,
            headers={**sample["headers"], "X-Shopify-Hmac-Sha256": sig},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
        expect(row).to_contain_text("正常")
        expect(row).to_contain_text("0% (0/1)")
        expect(row.get_by_test_id("clock-skew")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "connect.png"))
        keep_screenshot(tmp_path / "connect.png", "connect.png")

        # On the control console: list a product; the receiver gets it and reports back.
        page.goto(f"/streams/{sid}/control")
        panel = page.get_by_test_id("connect-panel")
        expect(panel.get_by_test_id("connector-state")).to_have_text("正常")
        # the platform's orders say which connector reported them
        expect(page.get_by_test_id("order-source").first).to_have_text("平台同步 · Shopify 主店")
        server.call("POST", f"/api/v1/streams/{sid}/lineup/{room.product_ids[0]}/delist")
        expect(panel.get_by_test_id("action-platform").first).to_contain_text("待确认")
        got = []
        for _ in range(100):  # the receiver gets the delisting within seconds
            got = [x for x in receiver.accepted() if x.json["type"] == "action.delist"]
            if got:
                break
            page.wait_for_timeout(100)
        assert got, [x.json["type"] for x in receiver.requests]
        action_id = got[0].json["data"]["action_id"]
        keys = server.call("POST", f"/api/v1/streams/{sid}/ingest-keys", json={"label": "rpa"})
        key = keys["key"]
        r = httpx.post(
            f"{server.base_url}/api/v1/streams/{sid}/actions/{action_id}/result",
            json={"status": "done", "message": "抖店已下架"},
            headers={"X-Ingest-Key": key},
        )
        assert r.status_code == 200, r.text
        expect(panel.get_by_test_id("action-platform").first).to_contain_text("已执行")
        expect(panel.get_by_test_id("action-platform").first).to_contain_text("抖店已下架")
        panel.screenshot(path=str(tmp_path / "panel.png"))
        keep_screenshot(tmp_path / "panel.png", "control-connect-panel.png")

        # English too.
        set_language(page, "en")
        page.goto(f"/streams/{sid}/control")
        expect(page.get_by_test_id("connect-panel")).to_contain_text("Platform connection")
        expect(page.get_by_test_id("connect-panel")).to_contain_text("Done")
    finally:
        receiver.stop()
