"""Sign-in, languages and role-based access, in Chromium against the real server."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import set_language, sign_in


def test_sign_in_lists_streams_in_chinese_then_english_and_remembers(
    page: Page, server: Server
) -> None:
    server.call("POST", "/api/v1/streams", json={"title": "秋冬新品专场"})
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong-password")
    page.click("[data-testid=login-submit]")
    expect(page.get_by_test_id("login-error")).to_have_text("用户名或密码错误")

    sign_in(page, "admin")
    expect(page.locator("h1", has_text="直播场次")).to_be_visible()
    expect(page.get_by_test_id("stream-list")).to_contain_text("秋冬新品专场")
    expect(page.get_by_test_id("who")).to_contain_text("管理员")

    page.get_by_test_id("lang-switch").click()
    expect(page.locator("h1", has_text="Streams")).to_be_visible()
    expect(page.get_by_test_id("who")).to_contain_text("Admin")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    expect(page.locator("h1", has_text="Streams")).to_be_visible()
    # The token is remembered too: a reload does not sign out.
    expect(page.get_by_test_id("logout")).to_have_text("Sign out")


def test_service_user_cannot_open_the_control_console(page: Page, server: Server) -> None:
    stream = server.call("POST", "/api/v1/streams", json={"title": "客服权限测试"})
    server.user("svc_browser", "service")
    server.join(stream["id"], "svc_browser", "service")

    sign_in(page, "svc_browser", path=f"/streams/{stream['id']}")
    # Navigation offers only what the role may open.
    expect(page.get_by_test_id("nav-service")).to_be_visible()
    expect(page.get_by_test_id("nav-control")).to_have_count(0)
    # Typing the address does not help: the page refuses...
    page.goto(f"/streams/{stream['id']}/control")
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("forbidden")).to_contain_text("客服")
    # ...and so does the server, whatever the browser does.
    token = server.login("svc_browser")
    with httpx.Client(base_url=server.base_url) as c:
        r = c.post(
            "/api/v1/streams",
            json={"title": "not mine"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 403, r.text


def test_every_console_renders_in_english_too(page: Page, server: Server) -> None:
    room = make_room(server, "en", products=1)
    sid = room.stream_id
    set_language(page, "en")
    sign_in(page, "admin", path=f"/streams/{sid}/control")
    console = page.get_by_test_id("control-console")
    for text in ("Lineup and stock", "Conversion tools", "Cue the host", "Incident log"):
        expect(console).to_contain_text(text)
    expect(page.get_by_test_id(f"lineup-row-{room.product_ids[0]}")).to_contain_text("Pending")
    page.goto(f"/streams/{sid}/service")
    expect(page.get_by_test_id("service-console")).to_contain_text("Viewer question queue")
    page.goto(f"/streams/{sid}/plan/readiness")
    # the room is live: readiness says so (not "ready to go live") and offers the end
    expect(page.get_by_test_id("ready-state")).to_have_text("Live now (readiness is for reference)")
    expect(page.get_by_test_id("life-end")).to_have_text("End stream")
    page.goto(f"/streams/{sid}/teleprompter")
    expect(page.get_by_test_id("teleprompter")).to_contain_text("Teleprompter")
    page.goto(f"/watch/{sid}")
    expect(page.get_by_test_id("watch-page")).to_contain_text("LIVE")
    # And back to Chinese with one click.
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("watch-page")).to_contain_text("直播中")
