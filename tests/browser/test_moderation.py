"""Moderation from the consoles: an admin's global word, a stream's blocked words and a
blocked comment, mute and lift-mute, and the service queue's SLA, all without curl."""

from __future__ import annotations

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import phone_context, sign_in


def viewer_comments(server: Server, stream_id: int, texts: list[str]) -> str:
    """A second viewer (a session from the real `POST /streams/{id}/viewers`) sends
    comments through the watch page's endpoint; returns their viewer id."""
    with httpx.Client(base_url=server.base_url, timeout=15) as c:
        r = c.post(f"/api/v1/streams/{stream_id}/viewers")
        assert r.status_code < 300, r.text
        viewer = r.json()
        auth = {"Authorization": f"Bearer {viewer['viewer_token']}"}
        for i, text in enumerate(texts):
            r = c.post(
                f"/api/v1/streams/{stream_id}/comments",
                json={"text": text, "event_id": f"mod-{i}"},
                headers=auth,
            )
            assert r.status_code == 202, r.text
    return str(viewer["viewer_id"])


def test_a_controller_blocks_words_mutes_and_sets_the_sla_and_an_admin_adds_a_global_word(
    context: BrowserContext, page: Page, server: Server
) -> None:
    room = make_room(server, "mod", products=1)
    sid = room.stream_id

    # An admin keeps the global list from the top bar (only admins see the link).
    browser = context.browser
    assert browser is not None
    admin_ctx = browser.new_context(
        base_url=server.base_url, viewport={"width": 1400, "height": 900}
    )
    try:
        admin = admin_ctx.new_page()
        sign_in(admin, "admin")
        admin.get_by_test_id("nav-global-words").click()
        admin.get_by_test_id("add-global-words-input").fill("山寨货")
        admin.get_by_test_id("add-global-words-submit").click()
        expect(admin.get_by_test_id("add-global-words-result")).to_have_text("已添加 1 个")
        expect(admin.get_by_test_id("global-word-list")).to_contain_text("山寨货")
    finally:
        admin_ctx.close()
    assert [w["word"] for w in server.call("GET", "/api/v1/blocked-words")] == ["山寨货"]

    sign_in(page, "ctl_mod", path=f"/streams/{sid}/control")
    expect(page.get_by_test_id("nav-global-words")).to_have_count(0)
    panel = page.get_by_test_id("moderation")
    expect(panel).to_contain_text("审核设置")
    words = panel.get_by_test_id("stream-words")
    # The global word is listed as such and cannot be removed here.
    global_chip = words.locator("[data-testid=word-chip][data-word=山寨货]")
    expect(global_chip).to_contain_text("全局")
    expect(global_chip.get_by_test_id("word-remove")).to_have_count(0)

    # Several words at once (one repeated); one is removed again.
    words.get_by_test_id("add-stream-words-input").fill("隔壁店，竞品A、隔壁店")
    words.get_by_test_id("add-stream-words-submit").click()
    expect(words.get_by_test_id("add-stream-words-result")).to_have_text("已添加 2 个")
    words.locator("[data-testid=word-chip][data-word=竞品A]").get_by_test_id("word-remove").click()
    expect(words.locator("[data-testid=word-chip][data-word=竞品A]")).to_have_count(0)
    listed = server.call("GET", f"/api/v1/streams/{sid}/blocked-words")
    assert sorted((w["word"], w["stream_id"]) for w in listed) == [
        ("山寨货", None),
        ("隔壁店", sid),
    ]

    # A comment with the word reaches the controller marked blocked, not the watch page.
    phone = phone_context(context, server)
    try:
        watch = phone.new_page()
        watch.goto(f"/watch/{sid}")
        expect(watch.get_by_test_id("watch-online")).not_to_contain_text("—", timeout=15_000)
        troll = viewer_comments(server, sid, ["去隔 壁 店买更便宜", "这款有几个色号"])
        expect(watch.locator(".watch-comments")).to_contain_text("这款有几个色号")
        expect(watch.locator(".watch-comments")).not_to_contain_text("壁 店")
    finally:
        phone.close()
    row = page.get_by_test_id("comment-row").filter(has_text="去隔 壁 店买更便宜")
    expect(row).to_contain_text("已屏蔽")
    expect(
        page.get_by_test_id("comment-row").filter(has_text="这款有几个色号")
    ).not_to_contain_text("已屏蔽")

    # Mute the troll from the comment stream; lift it from the muted list.
    row.get_by_role("button", name="禁言").click()
    muted = panel.locator(f"[data-testid=mute-row][data-viewer='{troll}']")
    expect(muted).to_be_visible()
    muted.get_by_test_id("btn-unmute").click()
    expect(panel.get_by_test_id("no-mutes")).to_be_visible()
    assert server.call("GET", f"/api/v1/streams/{sid}/mutes") == []

    # Queue settings: the server's refusal is shown at the field, then a good value saved.
    queue = panel.get_by_test_id("queue-settings")
    expect(queue.get_by_test_id("sla-seconds")).to_have_value("120")
    expect(queue.get_by_test_id("queue-settings-state")).to_have_text("当前为默认值")
    queue.get_by_test_id("sla-seconds").fill("5")
    queue.get_by_test_id("queue-settings-save").click()
    expect(queue.get_by_test_id("sla-error")).to_contain_text("10")
    queue.get_by_test_id("sla-seconds").fill("90")
    queue.get_by_test_id("cue-threshold").fill("6")
    queue.get_by_test_id("queue-settings-save").click()
    expect(queue.get_by_test_id("queue-settings-saved")).to_be_visible()
    expect(queue.get_by_test_id("sla-error")).to_have_count(0)
    stored = server.call("GET", f"/api/v1/streams/{sid}/queue-settings")
    assert (stored["sla_seconds"], stored["cue_threshold"], stored["is_default"]) == (90, 6, False)

    # The same panel in English.
    page.get_by_test_id("lang-switch").click()
    expect(panel).to_contain_text("Moderation")
    expect(panel).to_contain_text("Muted viewers")
    expect(global_chip).to_contain_text("global")
    expect(queue).to_contain_text("Answer SLA (seconds)")
    page.reload()
    expect(page.get_by_test_id("queue-settings").get_by_test_id("sla-seconds")).to_have_value("90")
