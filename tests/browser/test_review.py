"""The review page: diagnoses with their evidence, earlier streams, targets, the meeting."""

from __future__ import annotations

import time

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import Server, make_room
from tests.browser.steps import phone_context, sign_in, viewers_join_and_click


def test_review_shows_diagnoses_with_evidence_targets_and_earlier_streams_in_both_languages(
    page: Page, server: Server
) -> None:
    earlier = make_room(server, "revold", products=1)
    viewers_join_and_click(server, earlier.stream_id, earlier.product_ids[0], 2)
    server.call("POST", f"/api/v1/streams/{earlier.stream_id}/end")

    room = make_room(server, "rev", products=1)
    sid, pid = room.stream_id, room.product_ids[0]
    server.call("PATCH", f"/api/v1/streams/{sid}", json={"target_gmv": "1000.00"})
    server.call("POST", f"/api/v1/streams/{sid}/lineup/{pid}/list")
    server.call("POST", f"/api/v1/streams/{sid}/lineup/{pid}/explain")
    viewers_join_and_click(server, sid, pid, 12)
    server.call("POST", f"/api/v1/streams/{sid}/end")
    # The report reads the rollups the server keeps as events arrive.
    deadline = time.monotonic() + 30
    while True:
        report = server.call("GET", f"/api/v1/streams/{sid}/review")
        codes = {d["code"] for d in report["diagnoses"]}
        if "clicks_without_orders" in codes or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "clicks_without_orders" in codes, report["diagnoses"]

    sign_in(page, "admin", path=f"/streams/{sid}/review")
    diagnoses = page.get_by_test_id("review-diagnoses")
    clicked = diagnoses.get_by_test_id("diagnosis").filter(has_text="有点击无转化")
    expect(clicked).to_contain_text(f"商品「{room.names[0]}」有点击无转化")
    evidence = clicked.get_by_test_id("diagnosis-evidence")
    expect(evidence).to_contain_text("商品点击")
    expect(evidence).to_contain_text("12")
    expect(evidence).to_contain_text("点击下单率")
    expect(page.get_by_test_id("review-targets")).to_contain_text("达成率")
    expect(page.get_by_test_id("review-comparison")).to_contain_text("近 1 场中位数")
    expect(page.get_by_test_id("chart-explanations")).to_be_visible()
    expect(page.get_by_test_id("review-questions")).to_contain_text("观众提问与情绪")

    # A diagnosis becomes a finding of the review meeting in one click.
    clicked.get_by_role("button", name="记为复盘结论").click()
    page.get_by_test_id("review-tab-meeting").click()
    findings = page.get_by_test_id("review-findings")
    expect(findings).to_contain_text("clicks_without_orders")
    # An action with an owner and a status, editable in place.
    actions = page.get_by_test_id("review-actions")
    actions.get_by_placeholder("行动项").fill("重做面霜商品卡")
    actions.get_by_label("负责人").select_option(label="ctl_rev")
    actions.get_by_role("button", name="添加").click()
    row = actions.get_by_test_id("review-action")
    expect(row).to_contain_text("重做面霜商品卡")
    row.locator("select").last.select_option("in_progress")
    # A manual highlight marker for the clip editors.
    page.get_by_test_id("highlight-note").fill("主播试用面霜")
    page.get_by_role("button", name="添加标记").click()
    expect(page.get_by_test_id("highlight").filter(has_text="主播试用面霜")).to_contain_text("手动")

    # English: the same page, every string switched.
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("review-tab-meeting")).to_have_text("Meeting & highlights")
    expect(row.locator("select").last).to_have_value("in_progress")
    page.get_by_test_id("review-tab-report").click()
    clicked = page.get_by_test_id("diagnosis").filter(has_text="is clicked but hardly ordered")
    expect(clicked).to_contain_text(f"Product “{room.names[0]}” is clicked but hardly ordered")
    expect(clicked).to_contain_text("Evidence")
    expect(clicked.get_by_test_id("diagnosis-evidence")).to_contain_text("Product clicks")
    expect(page.get_by_test_id("review-comparison")).to_contain_text("Median of last 1")
    expect(page.get_by_test_id("review-targets")).to_contain_text("Achievement")

    # The open action carries over to the planning page of the team's next stream.
    nxt = server.call("POST", "/api/v1/streams", json={"title": "下一场"})
    page.goto(f"/streams/{nxt['id']}/plan")
    expect(page.get_by_test_id("carry-over")).to_contain_text("重做面霜商品卡")


def test_a_viewer_answers_a_survey_on_the_watch_page_and_the_review_shows_the_result(
    context: BrowserContext, page: Page, server: Server
) -> None:
    room = make_room(server, "svy", products=1)
    sid = room.stream_id
    server.call(
        "POST",
        f"/api/v1/streams/{sid}/surveys",
        json={
            "title": "本场购物体验",
            "questions": [{"text": "商品质量", "kind": "score"}, {"text": "客服态度"}],
        },
    )
    phone = phone_context(context, server)
    try:
        watch = phone.new_page()
        watch.goto(f"/watch/{sid}")
        survey = watch.get_by_test_id("watch-survey")
        expect(survey).to_contain_text("本场购物体验")
        survey.get_by_test_id("survey-q0-5").click()
        survey.get_by_test_id("survey-q1-4").click()
        survey.get_by_test_id("watch-survey-send").click()
        expect(watch.get_by_test_id("watch-survey-thanks")).to_contain_text("感谢你的评价")
        # Answered once: a reload does not ask again.
        with watch.expect_response(lambda r: "/my-surveys" in r.url and r.ok):
            watch.reload()
        expect(watch.get_by_test_id("watch-survey")).to_have_count(0)
    finally:
        phone.close()

    sign_in(page, "admin", path=f"/streams/{sid}/review")
    page.get_by_test_id("review-tab-aftersales").click()
    surveys = page.get_by_test_id("as-surveys")
    expect(surveys).to_contain_text("1 份答卷")
    expect(surveys).to_contain_text("4.5")
    expect(page.get_by_test_id("chart-survey")).to_be_visible()
