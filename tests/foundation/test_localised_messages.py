"""Messages for people carry a stable code and params and are localised by
Accept-Language (zh-CN by default): validation problems, readiness findings."""

from __future__ import annotations

import httpx
import pytest

from app.i18n import MESSAGES, lang_of, localize
from tests.conftest import TEST_PASSWORD, bearer, login


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("en-GB,en;q=0.8", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("de-DE, en;q=0.3", "en"),
        ("fr", "zh"),
        ("en;q=0.2, zh-TW;q=0.5", "zh"),
    ],
)
def test_accept_language_picks_zh_or_en(header: str | None, lang: str) -> None:
    assert lang_of(header) == lang


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    import string

    for code, (zh, en) in MESSAGES.items():
        names = [{f for _, f, _, _ in string.Formatter().parse(text) if f} for text in (zh, en)]
        # English may leave out a param that is itself Chinese text (a suggestion)
        assert names[1] <= names[0] and names[0] - names[1] <= {"suggestion"}, code
        assert zh != en, code


def test_missing_params_stay_visible_instead_of_failing() -> None:
    assert localize("alert.stock_low", {"stock_left": 3}, "en") == (
        "Stock running low: {product} has 3 left"
    )
    assert localize("no.such.code", {}, "zh") is None


async def test_validation_problems_are_coded_and_localised(client: httpx.AsyncClient) -> None:
    admin = bearer(await login(client, "admin", TEST_PASSWORD))
    body = {"title": "", "scheduled_start": "not a time"}
    r = await client.post("/api/v1/streams", json=body, headers=admin)
    assert r.status_code == 422
    zh = r.json()
    assert zh["code"] == "validation_error" and zh["detail"]
    for item in zh["detail"]:
        assert item["code"].startswith("validation.") and item["message"]
        assert item["field"] in item["message"]
    title = next(i for i in zh["detail"] if i["field"] == "title")
    assert title["code"] == "validation.string_too_short"
    assert title["params"]["min_length"] == 1
    assert title["message"] == "title：至少 1 个字符"
    r = await client.post("/api/v1/streams", json=body, headers={**admin, "Accept-Language": "en"})
    en = next(i for i in r.json()["detail"] if i["field"] == "title")
    assert en["message"] == "title: at least 1 character(s)"
    assert r.json()["message"] == r.json()["detail"][0]["message"]


async def test_readiness_findings_are_localised(client: httpx.AsyncClient) -> None:
    admin = bearer(await login(client, "admin", TEST_PASSWORD))
    r = await client.post(
        "/api/v1/streams",
        json={"title": "语言测试", "planned_minutes": 60},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    zh = (await client.get(f"/api/v1/streams/{sid}/readiness", headers=admin)).json()
    en = (
        await client.get(
            f"/api/v1/streams/{sid}/readiness", headers={**admin, "Accept-Language": "en"}
        )
    ).json()
    codes = [f["code"] for f in zh["findings"]]
    assert codes == [f["code"] for f in en["findings"]]
    assert {"lineup_empty", "no_host", "checklist_incomplete"} <= set(codes)
    by_code = {f["code"]: f for f in zh["findings"]}
    assert by_code["lineup_empty"]["message"] == "选品清单为空"
    assert by_code["checklist_incomplete"]["params"] == {"open": 0, "total": 0}
    en_by_code = {f["code"]: f for f in en["findings"]}
    assert en_by_code["no_host"]["message"] == "No host is on the team"
    for f in en["findings"]:
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in f["message"]), f
    for f in zh["findings"]:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in f["message"]), f


def test_the_consoles_hold_the_same_catalogue() -> None:
    """frontend/src/i18n/messages.ts words every server code exactly as app/i18n.py."""
    import json
    import re
    from pathlib import Path

    ts = (Path(__file__).resolve().parents[2] / "frontend/src/i18n/messages.ts").read_text()
    found = {
        m.group(1): (json.loads(m.group(2)), json.loads(m.group(3)))
        for m in re.finditer(r'"srv\.([^"]+)": \[("(?:[^"\\]|\\.)*"), ("(?:[^"\\]|\\.)*")\]', ts)
    }
    assert found == MESSAGES
