"""A team runs a whole stream from the browser, from an empty install to the review.

A fresh server with only the admin; everything is done through the consoles, as the
people it is for would do it: no REST call from this test changes data (the only API
requests it makes itself are GETs that read state for assertions), and no fixture seeds
anything. The admin creates a controller, a host, a service agent and an analyst; the
controller builds the catalog (one product by CSV import), a stream with its targets,
lineup, script, checklist, contingency plan and warm-up, assigns the team, creates an
ingest key, schedules the stream and goes live; the host sees the first segment; the
controller lists a product; the service agent answers a question sent from the watch
page; the controller ends the stream with its confirmation; the analyst opens the review
and downloads the CSV.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.harness import PASSWORD, Server, running_server
from tests.browser.steps import sign_in

TITLE = "秋冬护肤专场"
PEOPLE = [
    # username, display name, role label (zh), role value
    ("ctl_w", "场控小王", "场控", "controller"),
    ("host_w", "主播小美", "主播", "host"),
    ("svc_w", "客服小李", "客服", "service"),
    ("ana_w", "分析师老陈", "数据分析", "analyst"),
]
GOOD_CSV = (
    "sku,name,list_price,stock,qc_status,selling_points\n"
    "W-SPRAY,防晒喷雾,89.00,300,passed,SPF50|清爽不黏\n"
)
BAD_CSV = "sku,name,list_price,stock\nW-OK,好商品,10.00,5\nW-BAD,坏商品,不是价格,5\n"


@pytest.fixture(scope="module")
def fresh(prerequisites: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: a fresh database where only the admin exists."""
    with running_server(Path(tmp_path_factory.mktemp("whole-stream"))) as s:
        yield s


def desk(browser: Browser, server: Server) -> BrowserContext:
    ctx = browser.new_context(base_url=server.base_url, viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(15_000)
    return ctx


def confirm(page: Page, names: str) -> None:
    """Answer the confirmation dialog, which must name what it acts on."""
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("confirm-title")).to_contain_text(names)
    dialog.get_by_test_id("confirm-ok").click()
    expect(dialog).to_have_count(0)


def read(server: Server, path: str) -> object:
    """State for an assertion: a GET, never a change."""
    with server.client() as c:
        r = c.get(path)
    assert r.status_code == 200, r.text
    return r.json()


def create_users(page: Page) -> None:
    sign_in(page, "admin", path="/admin/users")
    expect(page.get_by_test_id("users-page")).to_be_visible()
    form = page.get_by_test_id("new-user")
    # A weak password is refused by the server and said at the field.
    form.get_by_test_id("new-user-username").fill("weak_one")
    form.get_by_test_id("new-user-password").fill("123")
    form.get_by_test_id("new-user-submit").click()
    expect(form.get_by_test_id("field-error-password")).to_be_visible()
    for username, display, _, role in PEOPLE:
        form.get_by_test_id("new-user-username").fill(username)
        form.get_by_test_id("new-user-display").fill(display)
        form.get_by_test_id("new-user-role").select_option(role)
        form.get_by_test_id("new-user-password").fill(PASSWORD)
        form.get_by_test_id("new-user-submit").click()
        expect(page.get_by_test_id(f"user-{username}")).to_contain_text(display)
    expect(page.get_by_test_id("user-weak_one")).to_have_count(0)


def build_catalog(page: Page) -> None:
    page.get_by_test_id("nav-catalog").click()
    expect(page.get_by_test_id("catalog-page")).to_be_visible()
    form = page.get_by_test_id("product-form")
    form.get_by_test_id("p-sku").fill("W-CREAM")
    form.get_by_test_id("p-name").fill("保湿面霜")
    form.get_by_test_id("p-price").fill("129.00")
    form.get_by_test_id("p-stock").fill("500")
    form.get_by_test_id("p-qc").select_option("passed")
    form.get_by_test_id("p-points").fill("24 小时保湿\n敏感肌可用")
    form.get_by_test_id("p-submit").click()
    expect(page.get_by_test_id("product-W-CREAM")).to_contain_text("保湿面霜")
    # A CSV with a bad row: nothing imported, the row named by its line.
    upload = page.get_by_test_id("csv-import")
    upload.get_by_test_id("csv-file").set_input_files(
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV.encode()}
    )
    upload.get_by_test_id("csv-submit").click()
    bad_row = upload.get_by_test_id("csv-error-row")
    expect(bad_row).to_have_count(1)
    expect(bad_row).to_contain_text("3")
    expect(bad_row).to_contain_text("list_price")
    expect(bad_row).to_contain_text("不是有效金额")  # the reason in the console's language
    expect(page.get_by_test_id("product-W-OK")).to_have_count(0)
    upload.get_by_test_id("csv-file").set_input_files(
        {"name": "products.csv", "mimeType": "text/csv", "buffer": GOOD_CSV.encode()}
    )
    upload.get_by_test_id("csv-submit").click()
    expect(upload.get_by_test_id("csv-result")).to_contain_text("1")
    expect(page.get_by_test_id("product-W-SPRAY")).to_contain_text("防晒喷雾")


def create_stream(page: Page) -> int:
    page.goto("/")
    page.get_by_test_id("new-stream-full").click()
    form = page.get_by_test_id("stream-form")
    form.get_by_test_id("s-title").fill(TITLE)
    form.get_by_test_id("s-platform").select_option("douyin")
    form.get_by_test_id("s-goal").select_option("launch")
    form.get_by_test_id("s-theme").fill("换季保湿")
    form.get_by_test_id("s-audience").fill("25–35 岁女性，干皮与敏感肌")
    form.get_by_test_id("s-start").fill("2031-05-01T20:00")
    form.get_by_test_id("s-minutes").fill("90")
    form.get_by_test_id("s-rehearsal").fill("2031-05-01T15:00")
    form.get_by_test_id("s-gmv").fill("50000")
    form.get_by_test_id("s-viewers").fill("20000")
    form.get_by_test_id("s-conversion").fill("120")  # 120 %: the server refuses it
    form.get_by_test_id("s-followers").fill("800")
    form.get_by_test_id("s-submit").click()
    expect(form.get_by_test_id("field-error-target_conversion_pct")).to_be_visible()
    form.get_by_test_id("s-conversion").fill("3.5")
    form.get_by_test_id("s-submit").click()
    page.wait_for_url(re.compile(r"/streams/\d+/plan/settings$"))
    match = re.search(r"/streams/(\d+)/", page.url)
    assert match
    expect(page.get_by_test_id("stream-title")).to_contain_text(TITLE)
    expect(page.get_by_test_id("s-gmv")).to_have_value("50000.00")
    return int(match.group(1))


def assign_team(page: Page) -> None:
    page.get_by_test_id("tab-team").click()
    team = page.get_by_test_id("team")
    for username, display, role_label, role in PEOPLE[1:]:
        team.get_by_test_id("team-user").select_option(
            label=f"{display} ({username}) · {role_label}"
        )
        team.get_by_test_id("team-role").select_option(role)
        team.get_by_test_id("team-add").click()
        expect(team.get_by_test_id(f"member-{username}")).to_be_visible()


def plan_lineup_and_script(page: Page) -> None:
    page.get_by_test_id("tab-lineup").click()
    for sku, price in (("W-CREAM", "59.90"), ("W-SPRAY", "49.90")):
        pick = page.get_by_test_id("lineup-pick")
        value = pick.locator("option", has_text=sku).get_attribute("value")
        assert value
        pick.select_option(value)
        page.get_by_test_id("lineup-price").fill(price)
        page.get_by_test_id("lineup-stock").fill("100")
        page.get_by_test_id("lineup-add").click()
        expect(pick.locator("option", has_text=sku)).to_have_count(0)

    page.get_by_test_id("tab-script").click()
    for title, minutes, points in (
        ("开场：欢迎 + 福利预告", "5", "欢迎来到直播间"),
        ("保湿面霜讲解", "20", "三重玻尿酸，24 小时锁水"),
        ("收尾 + 下期预告", "5", "感谢大家"),
    ):
        page.get_by_test_id("script-timeline").get_by_role("button", name="添加环节").click()
        editor = page.get_by_test_id("segment-editor")
        editor.get_by_placeholder("环节名称").fill(title)
        editor.get_by_label("时长（分钟）").fill(minutes)
        editor.get_by_label("话术（每行一条）").fill(points)
        editor.get_by_role("button", name="保存").click()
        # saved: the editor goes on with the segment it created
        expect(editor.locator("h2")).to_have_text("编辑环节")
        expect(page.get_by_test_id("script-timeline")).to_contain_text(title)


def plan_checklist_contingency_warmup(page: Page) -> None:
    page.get_by_test_id("tab-checklist").click()
    checklist = page.get_by_test_id("checklist")
    checklist.get_by_role("button", name="添加常规检查项").click()
    ok_buttons = checklist.get_by_role("button", name="正常", exact=True)
    expect(ok_buttons.first).to_be_visible()
    for i in range(ok_buttons.count()):
        ok_buttons.nth(i).click()
    expect(checklist).to_contain_text("全部检查通过")

    page.get_by_test_id("tab-contingency").click()
    form = page.get_by_test_id("contingency-form")
    form.get_by_test_id("cp-scenario").select_option("technical_failure")
    form.get_by_test_id("cp-title").fill("推流中断")
    form.get_by_test_id("cp-owner").select_option(label="场控小王 · 场控")
    form.get_by_test_id("cp-steps").fill("切换备用网络\n主播口播安抚\n5 分钟未恢复则发公告")
    form.get_by_test_id("cp-submit").click()
    plan = page.get_by_test_id("contingency-plan")
    expect(plan).to_contain_text("推流中断")
    expect(plan).to_contain_text("场控小王")

    page.get_by_test_id("tab-warmups").click()
    form = page.get_by_test_id("warmup-form")
    form.get_by_test_id("wu-channel").select_option("short_video")
    form.get_by_test_id("wu-title").fill("周五晚 8 点护肤专场")
    form.get_by_test_id("wu-publish").fill("2031-04-30T12:00")
    form.get_by_test_id("wu-offer").fill("前 100 名送小样")
    form.get_by_test_id("wu-content").fill("三款爆品全场最低价")
    form.get_by_test_id("wu-submit").click()
    expect(page.get_by_test_id("warmup-row")).to_contain_text("周五晚 8 点护肤专场")


def create_ingest_key(page: Page, sid: int) -> None:
    page.get_by_test_id("tab-ingest").click()
    keys = page.get_by_test_id("ingest-keys")
    keys.get_by_test_id("ingest-label").fill("抖音连接器")
    keys.get_by_test_id("ingest-create").click()
    shown = page.get_by_test_id("ingest-created")
    key = shown.get_by_test_id("ingest-key-value").inner_text().strip()
    assert len(key) > 20
    example = shown.get_by_test_id("ingest-example")
    expect(example).to_contain_text(f"X-Ingest-Key: {key}")
    expect(example).to_contain_text(f"/api/v1/streams/{sid}/events")
    row = keys.get_by_test_id("ingest-row")
    expect(row).to_contain_text("抖音连接器")
    expect(row).to_contain_text("从未使用")


def schedule_and_go_live(page: Page) -> None:
    page.get_by_test_id("tab-readiness").click()
    expect(page.get_by_test_id("ready-state")).to_have_text("✓ 可以开播")
    expect(page.get_by_test_id("lifecycle-status")).to_have_text("草稿")
    page.get_by_test_id("life-schedule").click()
    expect(page.get_by_test_id("life-start")).to_have_value("2031-05-01T20:00")
    confirm(page, TITLE)
    expect(page.get_by_test_id("lifecycle-status")).to_have_text("已排期")
    page.get_by_test_id("life-go-live").click()
    confirm(page, TITLE)
    expect(page.get_by_test_id("lifecycle-status")).to_have_text("直播中")
    expect(page.get_by_test_id("ready-state")).to_have_text("直播进行中（就绪检查仅供参考）")


def test_a_team_runs_a_whole_stream_from_the_browser(browser: Browser, fresh: Server) -> None:
    server = fresh
    users = read(server, "/api/v1/users")
    assert isinstance(users, list) and [u["username"] for u in users] == ["admin"]
    contexts: list[BrowserContext] = []

    def new_page() -> Page:
        ctx = desk(browser, server)
        contexts.append(ctx)
        return ctx.new_page()

    try:
        admin = new_page()
        create_users(admin)

        ctl = new_page()
        sign_in(ctl, "ctl_w")
        build_catalog(ctl)
        sid = create_stream(ctl)
        assign_team(ctl)
        plan_lineup_and_script(ctl)
        plan_checklist_contingency_warmup(ctl)
        create_ingest_key(ctl, sid)
        schedule_and_go_live(ctl)

        # The host reads the plan (read-only) and runs the teleprompter.
        host = new_page()
        sign_in(host, "host_w", path=f"/streams/{sid}/plan/script")
        expect(host.get_by_test_id("plan-read-only")).to_be_visible()
        expect(host.get_by_test_id("tab-ingest")).to_have_count(0)
        host.goto(f"/streams/{sid}/teleprompter")
        prompter = host.get_by_test_id("teleprompter")
        expect(prompter).to_contain_text("开场：欢迎 + 福利预告")  # up next
        prompter.get_by_role("button", name=re.compile("下一环节")).click()
        expect(host.get_by_test_id("prompter-segment")).to_have_text("开场：欢迎 + 福利预告")
        expect(host.get_by_test_id("prompter-points")).to_contain_text("欢迎来到直播间")
        expect(host.get_by_test_id("prompter-remaining")).to_be_visible()

        # The controller lists the cream in the control console.
        ctl.get_by_test_id("nav-control").click()
        cream = read(server, "/api/v1/products?q=W-CREAM")
        assert isinstance(cream, list) and len(cream) == 1
        row = ctl.get_by_test_id(f"lineup-row-{cream[0]['id']}")
        row.get_by_test_id("btn-list").click()
        expect(row.get_by_test_id("listing-status")).to_have_text("已上架")

        # A viewer asks on the watch page; the service agent answers publicly.
        phone = browser.new_context(
            base_url=server.base_url, viewport={"width": 390, "height": 844}, is_mobile=True
        )
        contexts.append(phone)
        watch = phone.new_page()
        watch.goto(f"/watch/{sid}")
        expect(watch.get_by_test_id("watch-buy")).to_have_count(1)
        expect(watch.get_by_test_id("watch-online")).not_to_contain_text("—", timeout=20_000)
        watch.get_by_test_id("watch-comment").fill("这款面霜敏感肌可以用吗？")
        watch.get_by_test_id("watch-send").click()
        expect(watch.get_by_test_id("watch-comment")).to_have_value("")

        svc = new_page()
        sign_in(svc, "svc_w", path=f"/streams/{sid}/service")
        item = svc.get_by_test_id("queue-item")
        expect(item).to_have_count(1, timeout=20_000)
        expect(item.get_by_test_id("queue-text")).to_contain_text("敏感肌")
        item.get_by_test_id("btn-claim").click()
        expect(item.get_by_test_id("queue-status")).to_have_text("处理中")
        item.get_by_test_id("answer-text").fill("可以的，这款经过敏感肌测试，无香精无酒精。")
        item.get_by_test_id("answer-public").check()  # on screen for the whole room
        item.get_by_test_id("btn-answer").click()
        expect(svc.get_by_test_id("queue-item")).to_have_count(0)
        expect(watch.get_by_test_id("watch-answers")).to_contain_text("无香精无酒精")

        # The controller ends the stream, confirming by its name.
        ctl.get_by_test_id("life-end").click()
        confirm(ctl, TITLE)
        expect(ctl.get_by_test_id("control-ended")).to_be_visible()
        expect(row.get_by_test_id("btn-delist")).to_be_disabled()
        expect(ctl.get_by_test_id("lifecycle-status")).to_have_text("已结束")
        # Every console says so: the teleprompter (no running timer), the watch page.
        expect(host.get_by_test_id("prompter-segment")).to_have_text("直播已结束，辛苦了！")
        expect(host.get_by_test_id("prompter-remaining")).to_have_count(0)
        expect(watch.get_by_test_id("watch-over")).to_be_visible()
        expect(watch.get_by_test_id("watch-buy")).to_have_count(0)
        expect(watch.get_by_test_id("watch-comment")).to_have_count(0)
        expect(watch.get_by_test_id("watch-page")).not_to_contain_text("暂时无法")
        stream = read(server, f"/api/v1/streams/{sid}")
        assert isinstance(stream, dict) and stream["status"] == "ended"

        # The analyst opens the review and downloads the CSV.
        analyst = new_page()
        sign_in(analyst, "ana_w", path=f"/streams/{sid}/review")
        with analyst.expect_download() as info:
            analyst.get_by_role("button", name="⬇ CSV").click()
        download = info.value
        assert download.suggested_filename == f"review-{sid}.csv"
        path = download.path()
        assert path is not None
        text = Path(path).read_text(encoding="utf-8-sig")
        assert "gmv" in text.lower()
    finally:
        for ctx in contexts:
            ctx.close()


def test_the_walk_through_changes_nothing_through_the_api_itself() -> None:
    """The walk-through's own requests only read: every change went through the pages."""
    source = Path(__file__).read_text(encoding="utf-8")
    walk = source.split("def test_a_team_runs_a_whole_stream_from_the_browser", 1)[1]
    walk = walk.split("def test_the_walk_through_changes_nothing", 1)[0]
    helpers = source.split("def test_a_team_runs_a_whole_stream_from_the_browser", 1)[0]
    for code in (walk, helpers):
        for call in ("server.call(", ".post(", ".put(", ".patch(", ".delete(", "request("):
            assert call not in code, call
