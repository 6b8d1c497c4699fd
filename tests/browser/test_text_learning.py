"""Issue #14 from the consoles: a service agent corrects a comment's labels in the
service console (stored, and the next same comment takes them); a controller sees claims
underlined in the script editor and adds a team term."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import set_language, sign_in
from tests.browser.test_moderation import viewer_comments


def test_a_service_agent_corrects_a_comment_and_a_controller_sees_claims_underlined(
    context: BrowserContext, page: Page, server: Server, tmp_path: Path
) -> None:
    room = make_room(server, "txt", products=1)
    sid = room.stream_id
    viewer_comments(server, sid, ["这个颜色我妈肯定喜欢"])

    sign_in(page, "svc_txt", path=f"/streams/{sid}/service")
    card = page.get_by_test_id("recent-comments")
    row = card.get_by_test_id("recent-comment").filter(has_text="这个颜色我妈肯定喜欢")
    expect(row).to_have_count(1)
    row.get_by_test_id("btn-correct").click()
    row.get_by_test_id("fix-kind").select_option("question")
    expect(row.locator(".text .badge").first).to_have_text("提问")
    page.screenshot(path=str(tmp_path / "service-correction.png"))
    (correction,) = server.call("GET", f"/api/v1/streams/{sid}/comment-corrections")
    assert correction["kind"] == "question" and correction["was"]["kind"] != "question"
    # the corrected comment is now in the queue
    expect(page.get_by_test_id("queue-text").filter(has_text="这个颜色我妈肯定喜欢")).to_have_count(
        1
    )
    # a quick reply being written is checked for claims as well
    replies = page.get_by_test_id("quick-replies")
    replies.locator("input").fill("今天全网最低价，放心拍")
    expect(replies.get_by_test_id("claim")).to_have_text("全网最低")

    browser = context.browser
    assert browser is not None
    ctl_ctx = browser.new_context(base_url=server.base_url, viewport={"width": 1400, "height": 900})
    try:
        ctl = ctl_ctx.new_page()
        sign_in(ctl, "ctl_txt", path=f"/streams/{sid}/plan/script")
        ctl.get_by_text("+ 添加环节").first.click()
        editor = ctl.get_by_test_id("segment-editor")
        editor.locator("input[required]").first.fill("开场")
        editor.locator("textarea").first.fill("这是全网最好的面霜\n最近天气转凉\n老板疯了 全场福利")
        preview = editor.get_by_test_id("claims-preview")
        expect(preview.get_by_test_id("claim")).to_have_count(1)
        expect(preview.get_by_test_id("claim")).to_have_text("最好")
        terms = ctl.get_by_test_id("compliance-terms")
        terms.get_by_test_id("term-input").fill("老板疯了")
        terms.get_by_role("button", name="添加").click()
        expect(terms).to_contain_text("老板疯了")
        expect(preview.get_by_test_id("claim")).to_have_count(2)
        ctl.screenshot(path=str(tmp_path / "planning-claims.png"), full_page=True)
        claim = preview.get_by_test_id("claim").filter(has_text="最好")
        expect(claim).to_have_attribute("title", re.compile("广告法.*\n建议：改为客观描述"))
        # the English console words the rule and the rewording in English (by code)
        set_language(ctl, "en")
        ctl.reload()
        ctl.get_by_text("Add segment").first.click()
        ctl.get_by_test_id("segment-editor").locator("textarea").first.fill("这是全网最好的面霜")
        claim = ctl.get_by_test_id("claims-preview").get_by_test_id("claim")
        expect(claim).to_have_attribute(
            "title", re.compile("Advertising Law art. 9.*\nSuggestion: Describe it plainly")
        )
    finally:
        ctl_ctx.close()
