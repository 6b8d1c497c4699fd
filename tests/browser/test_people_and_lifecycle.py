"""The users page acts at once (a disabled user's open console ends; a reset password is
shown once and works), and go-live from a draft is no dead end in the planning page."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import PASSWORD, Server, make_room
from tests.browser.steps import sign_in


def test_disable_ends_the_users_console_and_a_reset_password_works(
    context: BrowserContext, page: Page, server: Server
) -> None:
    room = make_room(server, "ppl", products=1)
    sid = room.stream_id
    browser = context.browser
    assert browser is not None
    other = browser.new_context(base_url=server.base_url, viewport={"width": 1400, "height": 900})
    try:
        ctl = other.new_page()
        sign_in(ctl, "ctl_ppl", path=f"/streams/{sid}/control")
        expect(ctl.get_by_test_id("control-console")).to_be_visible()

        sign_in(page, "admin", path="/admin/users")
        row = page.get_by_test_id("user-ctl_ppl")
        row.get_by_test_id("user-toggle").click()
        dialog = page.get_by_test_id("confirm-dialog")
        expect(dialog.get_by_test_id("confirm-title")).to_contain_text("ctl_ppl")
        dialog.get_by_test_id("confirm-ok").click()
        expect(row).to_contain_text("已停用")
        # The controller's open console notices within seconds: back to the sign-in page.
        expect(ctl.get_by_test_id("login-form")).to_be_visible(timeout=15_000)

        row.get_by_test_id("user-toggle").click()
        page.get_by_test_id("confirm-ok").click()
        expect(row).to_contain_text("启用")
        row.get_by_test_id("user-reset").click()
        new_password = page.get_by_test_id("reset-password").input_value()
        assert len(new_password) >= 10 and new_password != PASSWORD
        page.get_by_test_id("confirm-ok").click()
        expect(page.get_by_test_id("password-once-value")).to_have_text(new_password)
        sign_in(ctl, "ctl_ppl", password=new_password, path=f"/streams/{sid}/control")
        expect(ctl.get_by_test_id("control-console")).to_be_visible()
    finally:
        other.close()


def test_go_live_from_a_draft_is_confirmed_refused_with_reasons_then_forced(
    page: Page, server: Server
) -> None:
    server.user("ctl_draft", "controller")
    token = server.login("ctl_draft")
    stream = server.call("POST", "/api/v1/streams", token=token, json={"title": "草稿直播间"})
    sid = stream["id"]
    sign_in(page, "ctl_draft", path=f"/streams/{sid}/plan/readiness")
    expect(page.get_by_test_id("lifecycle-status")).to_have_text("草稿")
    page.get_by_test_id("life-go-live").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog.get_by_test_id("confirm-title")).to_contain_text("草稿直播间")
    expect(dialog.get_by_test_id("confirm-title")).to_contain_text("排期并立即开播")
    dialog.get_by_test_id("confirm-ok").click()
    # Not ready: the reasons are shown, the stream stays a draft.
    refused = page.get_by_test_id("life-refused")
    expect(refused).to_be_visible()
    expect(refused.locator(".finding")).not_to_have_count(0)
    expect(page.get_by_test_id("lifecycle-status")).to_have_text("草稿")
    page.get_by_test_id("life-force").click()
    expect(page.get_by_test_id("confirm-title")).to_contain_text("草稿直播间")
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("lifecycle-status")).to_have_text("直播中")
    expect(page.get_by_test_id("ready-state")).to_have_text("直播进行中（就绪检查仅供参考）")
    assert server.call("GET", f"/api/v1/streams/{sid}")["status"] == "live"
