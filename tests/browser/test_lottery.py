"""The lucky bag (福袋) from the control console to a viewer's watch page and back."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import phone_context, sign_in, watch_viewer_id


def _lucky_bag(context: BrowserContext, page: Page, server: Server, condition: str) -> None:
    tag = f"lot{condition[:3]}"
    room = make_room(server, tag, products=1)
    sid = room.stream_id
    server.call("POST", f"/api/v1/streams/{sid}/lineup/{room.product_ids[0]}/list")

    phone = phone_context(context, server)
    try:
        watch = phone.new_page()
        watch.goto(f"/watch/{sid}")
        # The page opened its own viewer session through POST /streams/{id}/viewers.
        viewer_id = watch_viewer_id(watch, sid)
        online = watch.get_by_test_id("watch-online")
        expect(online).not_to_contain_text("—", timeout=15_000)

        # The controller launches a lucky bag from the control console.
        sign_in(page, f"ctl_{tag}", path=f"/streams/{sid}/control")
        form = page.get_by_test_id("launch-lottery")
        form.get_by_placeholder("奖品").fill("保湿面霜正装")
        form.locator("label", has_text="中奖人数").locator("input").fill("1")
        form.locator("select").select_option(condition)
        if condition == "comment":
            form.get_by_placeholder("口令（评论关键词）").fill("福袋来了")
        form.get_by_role("button", name="发福袋").click()
        lottery = page.get_by_test_id("lotteries")
        expect(lottery).to_contain_text("保湿面霜正装")

        # The viewer sees it on the watch page and enters.
        bag = watch.get_by_test_id("watch-lottery")
        expect(bag).to_contain_text("福袋：保湿面霜正装")
        if condition == "comment":
            # A page opened after the launch shows the open lucky bag from its snapshot.
            watch.reload()
            expect(bag).to_contain_text("福袋：保湿面霜正装")
            bag.get_by_role("button", name="发送口令「福袋来了」参与").click()
            expect(watch.get_by_test_id("watch-comment")).to_have_value("福袋来了")
            watch.get_by_test_id("watch-send").click()
            expect(watch.get_by_test_id("watch-comment")).to_have_value("")
        else:
            expect(bag).to_contain_text("在线即可参与")

        # The controller draws now: one eligible viewer, one winner.
        lottery.get_by_test_id("lottery-draw").click()
        expect(lottery.get_by_test_id("lottery-result")).to_contain_text("1 人中奖（1 人参与）")

        # The watch page announces the win, and the draw verifies from its seed.
        result = watch.get_by_test_id("watch-lottery-result")
        expect(result).to_contain_text("恭喜你抽中 保湿面霜正装")
        expect(watch.get_by_test_id("watch-lottery")).to_have_count(0)
        result.get_by_test_id("watch-lottery-verify").click()
        expect(result.get_by_test_id("watch-lottery-verified")).to_contain_text("✓")

        # The public verification agrees with what the page showed.
        lot_id = server.call("GET", f"/api/v1/streams/{sid}/lotteries")[0]["id"]
        check = server.call("GET", f"/api/v1/streams/{sid}/lotteries/{lot_id}/verify")
        assert check["valid"] is True
        assert check["winners"] == [viewer_id]
        eligible = server.call("GET", f"/api/v1/streams/{sid}/lotteries/{lot_id}/eligible")
        assert eligible["viewer_ids"] == [viewer_id]
    finally:
        phone.close()


def test_a_viewer_present_on_the_watch_page_wins_the_lucky_bag_and_verifies_the_draw(
    context: BrowserContext, page: Page, server: Server
) -> None:
    _lucky_bag(context, page, server, "present")


def test_a_viewer_enters_a_keyword_lucky_bag_by_commenting_on_the_watch_page(
    context: BrowserContext, page: Page, server: Server
) -> None:
    _lucky_bag(context, page, server, "comment")
