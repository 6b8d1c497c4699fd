"""Screenshots of every console for the README: `python -m tests.browser.screenshots`.

Starts a real server (fresh PostgreSQL database, Redis), fills a demo room through the
API, drives Debian's Chromium through each console and writes docs/screenshots/*.png.
Needs the built frontend (`make frontend`).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    Server,
    make_room,
    missing_prerequisites,
    running_server,
)
from tests.browser.steps import set_language, sign_in, viewers_join_and_click

OUT = REPO / "docs" / "screenshots"

SCRIPT = [
    (
        "opening",
        "开场：欢迎 + 今日福利预告",
        300,
        ["欢迎来到直播间，今天三款爆品全场最低价", "关注主播，10 分钟后抽福袋"],
    ),
    (
        "product",
        "保湿面霜讲解",
        900,
        [
            "痛点：换季皮肤干、起皮、上妆卡粉",
            "价值：三重玻尿酸，24 小时锁水，敏感肌实测不刺激",
            "效果：上脸即吸收，第二天早上皮肤还是软的",
            "直播间专属价 59.9，比日常价便宜 69 元，再送同款小样",
        ],
    ),
    ("interaction", "福袋 + 问答互动", 300, ["评论「面霜」参与福袋", "回答大家关于肤质的问题"]),
    ("promotion", "秒杀：防晒喷雾", 600, ["限时 2 分钟，50 件，每人限购 1 件"]),
    ("closing", "收尾 + 下期预告", 300, ["感谢大家，下周三晚 8 点不见不散"]),
]


def _try(server: Server, method: str, path: str, **kw: Any) -> Any:
    """Best effort: a part whose backend is missing is simply not shown."""
    with server.client() as c:
        r = c.request(method, path, **kw)
    return r.json() if r.status_code < 300 and r.content else None


def add_script(server: Server, sid: int, product_id: int) -> None:
    """SCRIPT as the stream's segments (the second explains `product_id`)."""
    for i, (kind, title, seconds, points) in enumerate(SCRIPT):
        _try(
            server,
            "POST",
            f"/api/v1/streams/{sid}/script/segments",
            json={
                "kind": kind,
                "title": title,
                "duration_seconds": seconds,
                "talking_points": points,
                "product_id": product_id if i == 1 else None,
            },
        )


def seed(server: Server) -> int:
    room = make_room(server, "demo", products=3, stock=200)
    sid = room.stream_id
    add_script(server, sid, room.product_ids[0])
    _try(server, "POST", f"/api/v1/streams/{sid}/checklist/defaults")
    _try(server, "POST", f"/api/v1/streams/{sid}/segments/next", json={})
    _try(server, "POST", f"/api/v1/streams/{sid}/segments/next", json={})
    for pid in room.product_ids[:2]:
        _try(server, "POST", f"/api/v1/streams/{sid}/lineup/{pid}/list")
    _try(server, "POST", f"/api/v1/streams/{sid}/lineup/{room.product_ids[0]}/explain")
    _try(
        server,
        "POST",
        f"/api/v1/streams/{sid}/flash-sales",
        json={
            "product_id": room.product_ids[1],
            "price": "39.90",
            "quantity": 50,
            "per_user_limit": 1,
            "duration_seconds": 600,
        },
    )
    _try(
        server,
        "POST",
        f"/api/v1/streams/{sid}/cues",
        json={"text": "37 位观众在问尺码，讲一下适合什么肤质", "priority": "high"},
    )
    _try(
        server,
        "POST",
        f"/api/v1/streams/{sid}/incidents",
        json={"type": "technical", "note": "推流短暂卡顿，已切换备用网络"},
    )
    # moderation: a global word, the stream's own words, a muted viewer, queue settings
    _try(server, "POST", "/api/v1/blocked-words", json={"words": ["山寨货", "加微"]})
    _try(
        server, "POST", f"/api/v1/streams/{sid}/blocked-words", json={"words": ["隔壁店", "竞品A"]}
    )
    _try(
        server,
        "POST",
        f"/api/v1/streams/{sid}/mutes",
        json={"viewer_id": "v_7f3a91c2", "minutes": 30, "reason": "刷屏广告"},
    )
    _try(
        server,
        "PUT",
        f"/api/v1/streams/{sid}/queue-settings",
        json={"sla_seconds": 90, "cue_threshold": 8},
    )
    for title, body in (
        ("尺码", "{product} 按平时尺码拍就好，偏瘦选小一码～"),
        ("发货", "今天下单 48 小时内发货，顺丰包邮"),
        ("价格", "{product} 直播间价 {price}，还剩 {stock} 件"),
    ):
        _try(
            server,
            "POST",
            f"/api/v1/streams/{sid}/quick-replies",
            json={"title": title, "body": body},
        )
    return sid


def simulate(
    server: Server, sid: int, seconds: float, viewers: int = 300
) -> subprocess.Popen[bytes]:
    """`controlroom simulate` against the stream, as a team would run it: the screenshots
    show a stream with a live audience, not zeros (stop it with .terminate())."""
    key = server.call("POST", f"/api/v1/streams/{sid}/ingest-keys", json={"label": "simulate"})
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "simulate",
            str(sid),
            "--key",
            key["key"],
            "--url",
            server.base_url,
            "--viewers",
            str(viewers),
            "--rate",
            "40",
            "--duration",
            str(seconds),
            "--seed",
            "16",
            "--i-know",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def seed_review(server: Server) -> int:
    """An ended stream with an earlier one before it: the review has figures to compare,
    targets, explanation windows, sales, and diagnoses with their evidence."""
    old = make_room(server, "revold", products=1)
    viewers_join_and_click(server, old.stream_id, old.product_ids[0], 6)
    server.call("POST", f"/api/v1/streams/{old.stream_id}/end")
    room = make_room(server, "rev", products=3, stock=100)
    sid = room.stream_id
    _try(
        server,
        "PATCH",
        f"/api/v1/streams/{sid}",
        json={"target_gmv": "500.00", "target_viewers": 300},
    )
    for i, pid in enumerate(room.product_ids):
        _try(server, "POST", f"/api/v1/streams/{sid}/lineup/{pid}/list")
        _try(server, "POST", f"/api/v1/streams/{sid}/lineup/{pid}/explain")
        tokens = viewers_join_and_click(server, sid, pid, (10, 12, 6)[i])
        if i == 1:
            continue  # clicked, never ordered: a diagnosis
        for n, token in enumerate(tokens[: 4 - i]):
            auth = {"Authorization": f"Bearer {token}"}
            order = _try(
                server,
                "POST",
                f"/api/v1/streams/{sid}/orders",
                json={"product_id": pid, "quantity": 1},
                headers={**auth, "Idempotency-Key": f"shot-{pid}-{n}"},
            )
            if order:
                _try(
                    server,
                    "POST",
                    f"/api/v1/streams/{sid}/orders/{order['id']}/pay",
                    headers={**auth, "Idempotency-Key": f"shot-{pid}-{n}-pay"},
                )
    # The stream runs with a simulated audience, its script moved on by the segment
    # control, the products explained in turn: segments and windows from when they ran.
    add_script(server, sid, room.product_ids[0])
    audience = simulate(server, sid, 75, viewers=200)
    for i in range(len(SCRIPT)):
        _try(server, "POST", f"/api/v1/streams/{sid}/segments/next", json={})
        pid = room.product_ids[min(i, len(room.product_ids) - 1)]
        _try(server, "POST", f"/api/v1/streams/{sid}/lineup/{pid}/explain")
        time.sleep(14)
    audience.wait(timeout=120)
    _try(
        server,
        "POST",
        f"/api/v1/streams/{sid}/review/findings",
        json={"kind": "went_well", "text": "开场福利预告留住了新观众"},
    )
    _try(
        server,
        "POST",
        f"/api/v1/streams/{sid}/review/actions",
        json={"title": "防晒喷雾重做商品卡和讲解话术", "due_date": "2026-12-20"},
    )
    _try(server, "POST", f"/api/v1/streams/{sid}/end")
    time.sleep(2)  # rollups catch up
    return sid


# ------------------------------------------------------------------ issue #12's pages


def seed_pages(server: Server, sid: int, review_sid: int) -> int:
    """Data for the settings, people, catalog and campaign pages; returns a draft stream
    (for the lifecycle confirmation)."""
    _try(
        server,
        "PATCH",
        f"/api/v1/streams/{sid}",
        json={
            "platform": "douyin",
            "goal_type": "launch",
            "theme": "换季保湿",
            "target_audience": "25–35 岁女性，干皮与敏感肌",
            "planned_minutes": 120,
            "rehearsal_at": "2031-05-01T07:00:00+00:00",
            "target_viewers": 20000,
            "target_conversion_rate": "0.035",
            "target_new_followers": 800,
        },
    )
    server.user("ana_demo", "analyst")
    server.join(sid, "ana_demo", "analyst")
    ctl = server.users["ctl_demo"]
    _try(
        server,
        "POST",
        f"/api/v1/streams/{sid}/contingency-plans",
        json={
            "scenario": "technical_failure",
            "title": "推流中断",
            "steps": ["切换备用网络", "主播口播安抚", "5 分钟未恢复则发公告"],
            "owner_id": ctl,
        },
    )
    _try(
        server,
        "POST",
        f"/api/v1/streams/{sid}/contingency-plans",
        json={
            "scenario": "out_of_stock",
            "title": "爆品断货",
            "steps": ["下架并口播替代款", "客服统一回复补货时间"],
            "owner_id": ctl,
        },
    )
    _try(
        server,
        "POST",
        f"/api/v1/streams/{sid}/warmups",
        json={
            "channel": "short_video",
            "title": "周五晚 8 点护肤专场",
            "publish_at": "2031-04-30T04:00:00+00:00",
            "content": "三款爆品全场最低价",
            "exclusive_offer": "前 100 名送小样",
            "published": True,
        },
    )
    for i, (name, channel) in enumerate(
        (("小雨", "short_video"), ("阿杰", "community_group"), ("Lily", "wechat"))
    ):
        _try(
            server,
            "POST",
            f"/api/v1/streams/{sid}/reservations",
            json={
                "viewer_ref": f"dy_{i}",
                "name": name,
                "contact": f"138****000{i}",
                "channel": channel,
            },
        )
    _try(server, "POST", f"/api/v1/streams/{sid}/ingest-keys", json={"label": "抖音连接器"})
    _try(
        server,
        "PUT",
        "/api/v1/selection/weights",
        json={
            "weights": {
                "demand": 30,
                "quality": 25,
                "margin": 20,
                "host_fit": 15,
                "visual_appeal": 10,
            }
        },
    )
    products = _try(server, "GET", "/api/v1/products") or []
    for i, p in enumerate(products[:4]):
        _try(
            server,
            "PUT",
            f"/api/v1/products/{p['id']}/scores",
            json={
                "scores": {
                    "demand": 9 - i,
                    "quality": 8,
                    "margin": 6 + i % 3,
                    "host_fit": 7,
                    "visual_appeal": 8 - i,
                }
            },
        )
    _try(
        server,
        "POST",
        "/api/v1/campaigns",
        json={
            "name": "双 11 护肤季",
            "gmv_target": "100000",
            "description": "两场直播冲刺双 11",
            "split": [
                {"stream_id": review_sid, "gmv_target": "40000"},
                {"stream_id": sid, "gmv_target": "60000"},
            ],
        },
    )
    scarce = _try(
        server,
        "POST",
        "/api/v1/products",
        json={"sku": "MASK-01", "name": "补水面膜", "list_price": "39.90", "stock": 50},
    )
    if scarce:
        _try(
            server,
            "POST",
            f"/api/v1/streams/{sid}/lineup",
            json={"product_id": scarce["id"], "live_price": "19.90", "allotted_stock": 80},
        )
    draft = server.call("POST", "/api/v1/streams", json={"title": "新品首发夜"})
    return int(draft["id"])


def shoot_pages(browser: Any, server: Server, sid: int, review_sid: int, draft: int) -> None:
    desk = browser.new_context(base_url=server.base_url, viewport={"width": 1440, "height": 900})
    page = desk.new_page()
    sign_in(page, "admin", path="/admin/users")
    page.get_by_test_id("users-table").wait_for()
    page.get_by_test_id("new-user-username").fill("xiaomei")
    page.get_by_test_id("new-user-display").fill("主播小美")
    page.get_by_test_id("new-user-role").select_option("host")
    page.get_by_test_id("new-user-generate").click()
    page.get_by_test_id("new-user-submit").click()
    page.get_by_test_id("password-once").wait_for()
    shot(page, "users")
    page.goto("/account")
    shot(page, "account")
    for path, name, testid in (
        (f"/streams/{sid}/plan/settings", "stream-settings", "stream-form"),
        (f"/streams/{sid}/plan/team", "team", "team"),
        (f"/streams/{sid}/plan/contingency", "contingency", "contingency"),
        (f"/streams/{sid}/plan/warmups", "warmups", "reservations"),
        ("/catalog/products", "catalog", "product-list"),
        ("/catalog/shortfalls", "shortfalls", "shortfalls"),
        ("/dictionary", "metrics", "metric-dictionary"),
        ("/campaigns", "campaigns", "campaigns-page"),
    ):
        page.goto(path)
        page.get_by_test_id(testid).wait_for()
        shot(page, name)
    page.goto(f"/streams/{sid}/plan/ingest")
    page.get_by_test_id("ingest-label").fill("快手连接器")
    page.get_by_test_id("ingest-create").click()
    page.get_by_test_id("ingest-created").scroll_into_view_if_needed()
    shot(page, "ingest-keys")
    page.goto("/catalog/products")
    page.get_by_test_id("csv-file").set_input_files(
        {
            "name": "products.csv",
            "mimeType": "text/csv",
            "buffer": "sku,name,list_price,stock\nA-1,面膜,39.90,100\nA-2,,12.00,5\n"
            "A-3,精华,九十九,10\n".encode(),
        }
    )
    page.get_by_test_id("csv-submit").click()
    page.get_by_test_id("csv-errors").wait_for()
    shot(page, "catalog-import")
    page.goto("/catalog/selection")
    page.get_by_test_id("rank-open").first.click()
    page.get_by_test_id("breakdown").wait_for()
    shot(page, "selection")
    page.goto("/campaigns")
    page.locator("[data-testid^=campaign-] a").first.click()
    page.get_by_test_id("campaign-parts").wait_for()
    shot(page, "campaign")
    page.get_by_test_id("split-edit").click()
    page.get_by_test_id("split-amount").first.fill("35000")
    page.get_by_test_id("split-sum").scroll_into_view_if_needed()
    shot(page, "campaign-split")
    page.goto(f"/streams/{draft}/plan/readiness")
    page.get_by_test_id("life-go-live").click()
    page.get_by_test_id("confirm-dialog").wait_for()
    shot(page, "go-live-confirm")
    page.goto(f"/streams/{review_sid}/control")
    page.get_by_test_id("control-ended").wait_for()
    shot(page, "control-ended")

    host = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 800})
    prompter = host.new_page()
    sign_in(prompter, "host_demo", path=f"/streams/{sid}/plan/script")
    prompter.get_by_test_id("plan-read-only").wait_for()
    shot(prompter, "planning-host")

    phone = browser.new_context(
        base_url=server.base_url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
    )
    watch = phone.new_page()
    watch.goto(f"/watch/{review_sid}")
    watch.get_by_test_id("watch-over").wait_for()
    shot(watch, "watch-ended")

    english = browser.new_context(base_url=server.base_url, viewport={"width": 1440, "height": 900})
    en = english.new_page()
    set_language(en, "en")
    sign_in(en, "ctl_demo", path=f"/streams/{sid}/plan/settings")
    en.get_by_test_id("stream-form").wait_for()
    shot(en, "stream-settings-en")


def shot(page: Page, name: str) -> None:
    page.wait_for_timeout(1200)  # charts and live figures settle
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"wrote {path.relative_to(REPO)}")


def main() -> int:
    problem = missing_prerequisites()
    if problem:
        print(f"cannot take screenshots: {problem}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        sid = seed(server)
        review_sid = seed_review(server)
        draft = seed_pages(server, sid, review_sid)
        audience = simulate(server, sid, 900)
        time.sleep(25)  # a few minutes' worth of figures before the live consoles are shot
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            desk = browser.new_context(
                base_url=server.base_url, viewport={"width": 1440, "height": 900}
            )
            page = desk.new_page()
            page.goto("/login")
            shot(page, "login")
            sign_in(page, "admin")
            shot(page, "streams")
            for path, name in (
                (f"/streams/{sid}/plan/lineup", "planning-lineup"),
                (f"/streams/{sid}/plan/script", "planning-script"),
                (f"/streams/{sid}/plan/readiness", "planning-readiness"),
                (f"/streams/{sid}/control", "control"),
                (f"/streams/{sid}/service", "service"),
                (f"/streams/{review_sid}/review", "review"),
            ):
                page.goto(path)
                if name == "control":  # the live figures have arrived (not "syncing")
                    page.wait_for_selector("[data-testid=metric-online][data-stale=false]")
                if name == "planning-script":
                    page.locator("[data-testid=timeline-seg]").nth(1).click()
                shot(page, name)
                if name == "control":
                    page.get_by_test_id("moderation").scroll_into_view_if_needed()
                    shot(page, "control-moderation")
            page.goto("/admin/blocked-words")
            page.get_by_test_id("global-word-list").wait_for()
            shot(page, "global-words")
            page.goto(f"/streams/{review_sid}/review")
            page.get_by_test_id("review-comparison").scroll_into_view_if_needed()
            shot(page, "review-charts")
            page.get_by_test_id("review-tab-meeting").click()
            shot(page, "review-meeting")
            page.get_by_test_id("review-tab-viewers").click()
            shot(page, "review-viewers")

            tablet = browser.new_context(
                base_url=server.base_url, viewport={"width": 1280, "height": 800}
            )
            prompter = tablet.new_page()
            sign_in(prompter, "host_demo", path=f"/streams/{sid}/teleprompter")
            prompter.get_by_test_id("prompter-product").wait_for()
            shot(prompter, "teleprompter")

            phone = browser.new_context(
                base_url=server.base_url,
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
            )
            watch = phone.new_page()
            watch.goto(f"/watch/{sid}")
            watch.get_by_test_id("watch-page").wait_for()
            time.sleep(1)
            shot(watch, "watch")

            english = browser.new_context(
                base_url=server.base_url, viewport={"width": 1440, "height": 900}
            )
            en = english.new_page()
            set_language(en, "en")
            sign_in(en, "ctl_demo", path=f"/streams/{sid}/control")
            en.wait_for_selector("[data-testid=metric-online][data-stale=false]")
            shot(en, "control-en")
            shoot_pages(browser, server, sid, review_sid, draft)
            browser.close()
        audience.terminate()
        audience.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
