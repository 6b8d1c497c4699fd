"""A viewer's question through the service queue and back to the watch page."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import phone_context, sign_in


def test_a_viewer_asks_service_answers_publicly_and_the_watch_page_shows_it(
    context: BrowserContext, page: Page, server: Server
) -> None:
    room = make_room(server, "ask", products=1)
    sid = room.stream_id
    server.call("POST", f"/api/v1/streams/{sid}/lineup/{room.product_ids[0]}/list")

    phone = phone_context(context, server)
    try:
        watch = phone.new_page()
        watch.goto(f"/watch/{sid}")
        # In the room: the viewer session is in use and the live feed counts us.
        online = watch.get_by_test_id("watch-online")
        expect(online).not_to_contain_text("—", timeout=15_000)
        watch.get_by_test_id("watch-comment").fill("这款面霜敏感肌可以用吗？")
        watch.get_by_test_id("watch-send").click()
        expect(watch.get_by_test_id("watch-comment")).to_have_value("")

        sign_in(page, "svc_ask", path=f"/streams/{sid}/service")
        item = page.get_by_test_id("queue-item")
        expect(item).to_have_count(1)
        expect(item.get_by_test_id("queue-text")).to_contain_text("敏感肌")
        expect(item.get_by_test_id("queue-count")).to_have_text("×1")
        item.get_by_test_id("btn-claim").click()
        expect(item.get_by_test_id("queue-status")).to_have_text("处理中")
        item.get_by_test_id("answer-text").fill("可以的，这款经过敏感肌测试，无香精无酒精。")
        # answering on screen for the whole room is a deliberate choice: off by default
        expect(item.get_by_test_id("answer-public")).not_to_be_checked()
        item.get_by_test_id("answer-public").check()
        item.get_by_test_id("btn-answer").click()
        expect(page.get_by_test_id("queue-item")).to_have_count(0)  # handled: off the list

        answers = watch.get_by_test_id("watch-answers")
        expect(answers).to_contain_text("无香精无酒精")
        expect(answers).to_contain_text("敏感肌")
    finally:
        phone.close()
