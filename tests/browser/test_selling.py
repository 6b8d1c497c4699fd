"""Selling scenarios across consoles, in Chromium against the real server."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import phone_context, set_language, sign_in


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
        expect(order.get_by_test_id("order-source")).to_have_text("直播间")
        expect(row.get_by_test_id("stock-left")).to_contain_text("8")
        # ...and so does the viewer's storefront.
        expect(card.get_by_test_id("watch-stock")).to_contain_text("8")

        # A merchant backend's order (ingest key) and a platform's sale (connector
        # event with its order id) join the same list, each with its source.
        key = server.call("POST", f"/api/v1/streams/{sid}/ingest-keys", json={})["key"]
        with httpx.Client(base_url=server.base_url, timeout=15) as c:
            r = c.post(
                f"/api/v1/streams/{sid}/orders",
                json={"product_id": pid, "quantity": 1, "viewer_id": "shop-1"},
                headers={"X-Ingest-Key": key, "Idempotency-Key": "shop-order-1"},
            )
            assert r.status_code == 201, r.text
            r = c.post(
                f"/api/v1/streams/{sid}/events",
                json={
                    "events": [
                        {
                            "type": "order_created",
                            "user_id": "dy-1",
                            "order_id": "DY-20261205-7",
                            "product_id": pid,
                            "quantity": 3,
                            "amount": "179.70",
                        }
                    ]
                },
                headers={"X-Ingest-Key": key},
            )
            assert r.status_code == 202, r.text
        expect(order).to_have_count(3)
        sources = page.get_by_test_id("order-source")
        expect(sources).to_have_text(["平台同步", "商家后台", "直播间"])  # newest first
        expect(order.first).to_contain_text("DY-20261205-7")
        expect(row.get_by_test_id("stock-left")).to_contain_text("4")
        # in English too
        set_language(page, "en")
        page.reload()
        expect(page.get_by_test_id("order-source")).to_have_text(
            ["Platform", "Merchant backend", "Watch page"]
        )
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


def _lineup_item(server: Server, sid: int, pid: int) -> dict[str, Any]:
    (item,) = [
        r for r in server.call("GET", f"/api/v1/streams/{sid}/lineup") if r["product_id"] == pid
    ]
    return dict(item)


def test_planning_sets_a_lineup_items_offers_and_return_policy(page: Page, server: Server) -> None:
    """Every offer field the API has for a lineup item can be set from the planning form
    (满减 tiers, the item's coupon, gifts and gift stock, a bundle with another lineup
    product, restock on return, flash-sale allotment, notes), is stored as the API
    stores it, shows again after a reload, and a rule the server refuses is shown."""
    room = make_room(server, "offers", products=2)
    sid, (pid, other) = room.stream_id, room.product_ids
    sign_in(page, "ctl_offers", path=f"/streams/{sid}/plan/lineup")
    page.get_by_test_id(f"plan-offers-open-{pid}").click()
    form = page.get_by_test_id(f"plan-offers-{pid}")
    expect(form.get_by_test_id("offer-restock")).to_be_checked()  # the default policy

    form.get_by_test_id("add-tier").click()
    form.get_by_test_id("tier-threshold-0").fill("199")
    form.get_by_test_id("tier-discount-0").fill("20")
    form.get_by_test_id("add-tier").click()
    form.get_by_test_id("tier-threshold-1").fill("399")
    form.get_by_test_id("tier-discount-1").fill("50")
    form.get_by_test_id("coupon-discount").fill("10")
    form.get_by_test_id("coupon-min-spend").fill("100")
    form.get_by_test_id("offer-gifts").fill("化妆包\n小样")
    form.get_by_test_id("offer-gift-stock").fill("30")
    form.get_by_test_id("add-bundle").click()
    form.get_by_test_id("bundle-name-0").fill("面霜+喷雾")
    form.get_by_test_id("bundle-price-0").fill("99.00")
    form.get_by_test_id(f"bundle-0-with-{other}").check()
    form.get_by_test_id("offer-restock").uncheck()
    form.get_by_test_id("offer-flash-allotment").fill("5")
    form.get_by_test_id("offer-notes").fill("主推款")
    form.get_by_test_id("offers-save").click()
    expect(form.get_by_test_id("offers-saved")).to_be_visible()

    (item,) = [
        r for r in server.call("GET", f"/api/v1/streams/{sid}/lineup") if r["product_id"] == pid
    ]
    assert item["full_reduction"] == [
        {"threshold": "199.00", "discount": "20.00"},
        {"threshold": "399.00", "discount": "50.00"},
    ]
    assert (item["coupon_discount"], item["coupon_min_spend"]) == ("10.00", "100.00")
    assert (item["gifts"], item["gift_stock"]) == (["化妆包", "小样"], 30)
    assert item["bundles"] == [{"name": "面霜+喷雾", "product_ids": [other], "price": "99.00"}]
    assert (item["restock_on_return"], item["flash_sale_allotment"], item["notes"]) == (
        False,
        5,
        "主推款",
    )

    page.reload()
    page.get_by_test_id(f"plan-offers-open-{pid}").click()
    form = page.get_by_test_id(f"plan-offers-{pid}")
    expect(form.get_by_test_id("tier-threshold-1")).to_have_value("399.00")
    expect(form.get_by_test_id("offer-gift-stock")).to_have_value("30")
    expect(form.get_by_test_id(f"bundle-0-with-{other}")).to_be_checked()
    expect(form.get_by_test_id("offer-restock")).not_to_be_checked()

    # a tier whose discount is not below its threshold: the server's reason is shown
    form.get_by_test_id("tier-discount-0").fill("250")
    form.get_by_test_id("offers-save").click()
    expect(form.get_by_role("alert")).to_be_visible()
    (item,) = [
        r for r in server.call("GET", f"/api/v1/streams/{sid}/lineup") if r["product_id"] == pid
    ]
    assert item["full_reduction"][0]["discount"] == "20.00"  # nothing changed
    # gift stock back to "not counted"
    form.get_by_test_id("tier-discount-0").fill("20")
    form.get_by_test_id("offer-gift-stock").fill("")
    form.get_by_test_id("offers-save").click()
    expect(form.get_by_test_id("offers-saved")).to_be_visible()
    (item,) = [
        r for r in server.call("GET", f"/api/v1/streams/{sid}/lineup") if r["product_id"] == pid
    ]
    assert item["gift_stock"] is None
