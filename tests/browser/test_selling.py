"""Selling scenarios across consoles, in Chromium against the real server."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import phone_context, sign_in


def test_controller_lists_and_explains_a_product_teleprompter_and_watch_page_show_it(
    context: BrowserContext, page: Page, server: Server
) -> None:
    room = make_room(server, "list")
    pid, name = room.product_ids[0], room.names[0]
    sid = room.stream_id

    host = context.browser.new_context(base_url=server.base_url) if context.browser else None
    assert host is not None
    viewer = phone_context(context, server)
    try:
        prompter = host.new_page()
        sign_in(prompter, "host_list", path=f"/streams/{sid}/teleprompter")
        expect(prompter.get_by_test_id("teleprompter")).to_be_visible()
        expect(prompter.get_by_test_id("prompter-product")).to_have_count(0)

        watch = viewer.new_page()
        watch.goto(f"/watch/{sid}")
        expect(watch.get_by_test_id("watch-nothing")).to_be_visible()

        sign_in(page, "ctl_list", path=f"/streams/{sid}/control")
        row = page.get_by_test_id(f"lineup-row-{pid}")
        expect(row.get_by_test_id("listing-status")).to_have_text("待上架")
        row.get_by_test_id("btn-list").click()
        expect(row.get_by_test_id("listing-status")).to_have_text("已上架")
        row.get_by_test_id("btn-explain").click()
        expect(row).to_contain_text("讲解中")

        # The host's teleprompter shows the product being explained, with its live price.
        expect(prompter.get_by_test_id("prompter-product-name")).to_have_text(name)
        expect(prompter.get_by_test_id("prompter-price")).to_have_text("¥59.90")
        expect(prompter.get_by_test_id("prompter-stock")).to_contain_text("20")
        # The viewer's watch page shows it on sale.
        card = watch.get_by_test_id(f"watch-product-{pid}")
        expect(card).to_be_visible()
        expect(card).to_contain_text(name)
        expect(card.get_by_test_id("watch-price")).to_have_text("¥59.90")

        # Delisting takes it off the watch page again.
        row.get_by_test_id("btn-delist").click()
        expect(row.get_by_test_id("listing-status")).to_have_text("已下架")
        expect(watch.get_by_test_id(f"watch-product-{pid}")).to_have_count(0)
    finally:
        host.close()
        viewer.close()


def test_a_viewer_buys_and_the_control_console_sees_the_order_and_the_stock_fall(
    context: BrowserContext, page: Page, server: Server
) -> None:
    room = make_room(server, "buy", products=1, stock=10)
    pid, sid = room.product_ids[0], room.stream_id
    server.call("POST", f"/api/v1/streams/{sid}/lineup/{pid}/list")

    sign_in(page, "ctl_buy", path=f"/streams/{sid}/control")
    row = page.get_by_test_id(f"lineup-row-{pid}")
    expect(row.get_by_test_id("stock-left")).to_contain_text("10")
    expect(page.get_by_test_id("order-row")).to_have_count(0)

    phone = phone_context(context, server)
    try:
        watch = phone.new_page()
        watch.goto(f"/watch/{sid}")
        card = watch.get_by_test_id(f"watch-product-{pid}")
        expect(card.get_by_test_id("watch-stock")).to_contain_text("10")
        card.get_by_test_id("watch-buy").click()
        sheet = watch.get_by_test_id("buy-sheet")
        sheet.get_by_role("button", name="+").click()
        expect(sheet.get_by_test_id("buy-qty")).to_have_text("2")
        sheet.get_by_test_id("buy-confirm").click()
        expect(sheet.get_by_test_id("order-created")).to_contain_text("¥119.80")
        sheet.get_by_test_id("buy-pay").click()
        expect(sheet.get_by_test_id("order-paid")).to_be_visible()

        # The controller sees the order (paid) and the stock left fall by two.
        order = page.get_by_test_id("order-row")
        expect(order).to_have_count(1)
        expect(order).to_contain_text("×2")
        expect(order.get_by_test_id("order-status")).to_have_text("已支付")
        expect(row.get_by_test_id("stock-left")).to_contain_text("8")
        # ...and so does the viewer's storefront.
        expect(card.get_by_test_id("watch-stock")).to_contain_text("8")
    finally:
        phone.close()


def test_planning_sets_a_per_viewer_limit_on_a_lineup_item(page: Page, server: Server) -> None:
    room = make_room(server, "lim", products=1)
    sid, pid = room.stream_id, room.product_ids[0]
    sign_in(page, "ctl_lim", path=f"/streams/{sid}/plan/lineup")
    limit = page.get_by_test_id(f"plan-limit-{pid}")
    expect(limit).to_have_value("")
    limit.fill("2")
    with page.expect_response(
        lambda r: r.request.method == "PATCH" and r.url.endswith(f"/lineup/{pid}")
    ) as patched:
        limit.blur()
    assert patched.value.status == 200
    rows = server.call("GET", f"/api/v1/streams/{sid}/lineup")
    assert [r["per_viewer_limit"] for r in rows if r["product_id"] == pid] == [2]
    page.reload()
    expect(page.get_by_test_id(f"plan-limit-{pid}")).to_have_value("2")
