"""The host's teleprompter under a real stream (#16): ten question groups reach the cue
threshold at once, with a person's urgent cue and an alert for the host; on two tablet
sizes the script stays on screen, one merged question line replaces ten banners, the
most urgent cue is on top, and one tap or a key acknowledges."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import set_language, sign_in

# as viewers type them: with and without a question mark (the merged line must not
# read "发货？、包邮吗")
QUESTIONS = [
    "有没有S码？",
    "什么时候发货？",
    "敏感肌能用吗?",
    "包邮吗？",
    "保质期多久？",
    "有没有赠品",
    "可以用优惠券吗？",
    "孕妇可以用吗",
    "是正品吗？",
    "支持七天无理由退货吗",
]
ASKERS = 3
CJK = re.compile(r"[\u4e00-\u9fff]")


def _stream_with_ten_question_groups(server: Server, tag: str) -> tuple[int, list[int]]:
    room = make_room(server, tag, products=1, stock=5)
    sid = room.stream_id
    server.call(
        "POST",
        f"/api/v1/streams/{sid}/script/segments",
        json={
            "kind": "product",
            "title": "保湿面霜讲解",
            "duration_seconds": 600,
            "talking_points": ["痛点：换季皮肤干", "价值：三重玻尿酸", "直播间专属价 59.9"],
            "product_id": room.product_ids[0],
        },
    )
    server.call("POST", f"/api/v1/streams/{sid}/segments/next", json={})
    server.call("PUT", f"/api/v1/streams/{sid}/queue-settings", json={"cue_threshold": ASKERS})
    key = server.call("POST", f"/api/v1/streams/{sid}/ingest-keys")["key"]
    events = [
        {"type": "comment", "user_id": f"v{tag}{q}-{a}", "text": text, "event_id": f"{tag}-{q}-{a}"}
        for q, text in enumerate(QUESTIONS)
        for a in range(ASKERS)
    ]
    with httpx.Client(base_url=server.base_url, timeout=15) as c:
        r = c.post(
            f"/api/v1/streams/{sid}/events",
            json={"events": events},
            headers={"X-Ingest-Key": key},
        )
        assert r.status_code == 202, r.text
    auto = [
        c for c in server.call("GET", f"/api/v1/streams/{sid}/cues") if c["code"] == "cue.questions"
    ]
    assert len(auto) == len(QUESTIONS), auto  # ten automatic cues fired at once
    server.call(
        "POST", f"/api/v1/streams/{sid}/cues", json={"text": "讲一下赠品", "priority": "normal"}
    )
    server.call(
        "POST", f"/api/v1/streams/{sid}/cues", json={"text": "马上切备用线路", "priority": "urgent"}
    )
    # the product sells out: a critical alert sent to the host
    pid = room.product_ids[0]
    server.call("POST", f"/api/v1/streams/{sid}/lineup/{pid}/list")
    server.call(
        "POST",
        f"/api/v1/streams/{sid}/lineup/{pid}/stock",
        json={"allotted_stock": 0, "reason": "盘点"},
    )
    return sid, [c["id"] for c in auto]


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1024, 768)])
def test_teleprompter_with_ten_question_groups_on_a_tablet(
    browser: Browser, server: Server, width: int, height: int
) -> None:
    tag = f"tp{width}"
    sid, auto_ids = _stream_with_ten_question_groups(server, tag)
    ctx = browser.new_context(base_url=server.base_url, viewport={"width": width, "height": height})
    try:
        page = ctx.new_page()
        sign_in(page, f"host_{tag}", path=f"/streams/{sid}/teleprompter")
        page.goto(f"/streams/{sid}/teleprompter")
        prompter = page.get_by_test_id("teleprompter")
        expect(prompter).to_be_visible()
        # one merged question line: "A、B、C 等 30 位观众在问"
        questions = page.get_by_test_id("prompter-questions")
        expect(questions).to_have_count(1)
        expect(questions).to_contain_text(f"等 {len(QUESTIONS) * ASKERS} 位观众在问")
        listed = questions.inner_text()
        assert not re.search(r"[？?]\s*(、|等)", listed), listed
        # one cue line, the most urgent first (the alert and the urgent cue rank equal;
        # the newest wins), with how many more wait behind it
        cue = page.get_by_test_id("prompter-cue")
        expect(cue).to_have_count(1)
        expect(page.get_by_test_id("prompter-cue-more")).to_have_text("还有 2 条")
        first = cue.inner_text()
        assert "已售罄" in first or "马上切备用线路" in first, first
        # the script keeps its place: the talking points are on screen, not below the fold
        points = page.get_by_test_id("prompter-points")
        expect(points).to_contain_text("痛点：换季皮肤干")
        box = points.bounding_box()
        assert box is not None and box["y"] + 40 < height, (box, height)
        assert box["y"] < height * 0.6, box
        assert page.evaluate("document.documentElement.scrollHeight") <= height + 1
        # a key acknowledges the top line; the next takes its place
        page.keyboard.press("Space")
        expect(page.get_by_test_id("prompter-cue-more")).to_have_text("还有 1 条")
        assert cue.inner_text() != first
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("prompter-cue-more")).to_have_count(0)
        expect(cue).to_contain_text("讲一下赠品")
        cue.get_by_test_id("cue-ack").click()
        expect(cue).to_have_count(0)
        # one tap clears all ten question groups
        page.get_by_test_id("questions-ack").click()
        expect(questions).to_have_count(0)
        left = server.call("GET", f"/api/v1/streams/{sid}/cues")
        assert [c["id"] for c in left if c["id"] in auto_ids] == []
        assert left == []
    finally:
        ctx.close()


def test_teleprompter_in_english_words_the_server_texts_in_english(
    page: Page, server: Server
) -> None:
    sid, _ = _stream_with_ten_question_groups(server, "tpen")
    set_language(page, "en")
    sign_in(page, "host_tpen", path=f"/streams/{sid}/teleprompter")
    page.goto(f"/streams/{sid}/teleprompter")
    questions = page.get_by_test_id("prompter-questions")
    expect(questions).to_contain_text(f"{len(QUESTIONS) * ASKERS} viewers are asking")
    cue = page.get_by_test_id("prompter-cue")
    expect(page.get_by_test_id("prompter-cue-more")).to_have_text("2 more")
    # the sold-out alert is worded in English, with the product's name (user data)
    alert = page.locator("[data-testid=prompter-cue][data-kind=alert]")
    if alert.count() == 0:
        page.keyboard.press("Space")
    expect(alert).to_contain_text("Sold out:")
    assert "— delist it or add stock" in alert.inner_text()
    assert not CJK.search(alert.inner_text().replace("保湿面霜 tpen", "")), alert.inner_text()
    assert cue.count() == 1


def test_a_flash_sale_names_its_product_on_the_teleprompter_and_the_watch_page(
    browser: Browser, server: Server
) -> None:
    """The host explains one product while a flash sale runs on another: both the
    teleprompter's countdown box and the viewers' banner say which product is on sale."""
    room = make_room(server, "fsn", products=2)
    sid, (explained, on_sale) = room.stream_id, room.product_ids
    for pid in (explained, on_sale):
        server.call("POST", f"/api/v1/streams/{sid}/lineup/{pid}/list")
    server.call("POST", f"/api/v1/streams/{sid}/lineup/{explained}/explain")
    server.call(
        "POST",
        f"/api/v1/streams/{sid}/flash-sales",
        json={
            "product_id": on_sale,
            "price": "39.90",
            "quantity": 10,
            "per_user_limit": 1,
            "duration_seconds": 600,
        },
    )
    tablet = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 800})
    phone = browser.new_context(
        base_url=server.base_url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    try:
        page = tablet.new_page()
        sign_in(page, "host_fsn", path=f"/streams/{sid}/teleprompter")
        page.goto(f"/streams/{sid}/teleprompter")
        box = page.get_by_test_id("prompter-flash")
        expect(box.get_by_test_id("flash-product")).to_have_text(f" · {room.names[1]}")
        expect(box).to_contain_text("¥39.90")
        watch = phone.new_page()
        watch.goto(f"/watch/{sid}")
        banner = watch.get_by_test_id("watch-flash")
        expect(banner.get_by_test_id("flash-product")).to_have_text(f" · {room.names[1]}")
        expect(banner).to_contain_text("¥39.90")
    finally:
        tablet.close()
        phone.close()
