"""The claims checker: precision and recall on 211 labelled script lines, harmless words
left alone, the API (roles, bad input), a team's own terms, readiness findings."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.text.compliance import Checker, Term, check_texts, default_checker
from tests.controls.conftest import Room

LINES = Path(__file__).parent / "data" / "compliance_lines.txt"
CHECK = "/api/v1/compliance/check"


def _labelled() -> list[tuple[str, str]]:
    out = []
    for line in LINES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split(" ", 1)
            out.append((label, text))
    return out


def test_precision_and_recall_on_the_labelled_script_lines() -> None:
    lines = _labelled()
    assert len(lines) >= 200
    assert {label for label, _ in lines} == {
        "ok",
        "absolute",
        "medical",
        "efficacy",
        "price",
        "platform",
    }
    tp = fp = fn = 0
    for label, text in lines:
        categories = {f.category for f in default_checker().check(text)}
        if label == "ok":
            fp += bool(categories)
        elif label in categories:
            tp += 1
        else:  # missed, or flagged as something else (a wrong flag counts both ways)
            fn += 1
            fp += bool(categories)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\ncompliance: {len(lines)} lines, precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.9 and recall >= 0.9


def test_harmless_words_are_not_flagged() -> None:
    for text in (
        "最近天气转凉",
        "第一次来直播间的朋友点个关注",
        "最后一件了",
        "最多每人限购两件",
        "拍之前最好先看一下尺码表",
        "唯一的缺点是颜色少",
        "第一步先装底座",
    ):
        assert default_checker().check(text) == [], text


def test_findings_point_at_the_phrase_as_written() -> None:
    text = "今天 全 網 最 低，這款面霜能祛斑"
    (low, spot) = default_checker().check(text)
    assert (low.category, low.severity) == ("price", "warn")
    assert text[low.start : low.end] == low.phrase == "全 網 最 低"
    assert (spot.phrase, spot.category) == ("祛斑", "efficacy")
    assert "广告法" in default_checker().check("国家级配方")[0].rule
    assert default_checker().check("这是最好的")[0].suggestion


def test_a_teams_term_is_checked_with_the_builtin_ones() -> None:
    checker = Checker([Term("老板疯了", "team", "warn", "team", None, "换个说法")])
    (f,) = checker.check("老板疯了 今天随便拍")
    assert (f.category, f.severity) == ("team", "warn")
    # the team's own words stay as written in either language
    assert f.suggestion == checker.check("老板疯了", "en")[0].suggestion == "换个说法"
    assert check_texts(["老板疯了"]) == [[]]  # not in the default checker


async def test_check_api_for_staff_with_a_reason_for_bad_input(
    client: httpx.AsyncClient, room: Room
) -> None:
    r = await client.post(
        CHECK, json={"texts": ["全网最低价", "最近天气转凉"]}, headers=room.analyst
    )
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert first["findings"][0]["category"] in ("price", "absolute")
    assert set(first["findings"][0]) == {
        "phrase",
        "category",
        "severity",
        "rule",
        "suggestion",
        "start",
        "end",
        "rule_code",
        "suggestion_code",
    }
    assert second["findings"] == []
    # English for an English reader (the console sends its language), Chinese by default
    en = await client.post(
        CHECK,
        json={"texts": ["国家级配方，能治疗失眠"]},
        headers={**room.analyst, "Accept-Language": "en-US,en;q=0.9"},
    )
    national, cure = en.json()["results"][0]["findings"]
    assert (national["rule_code"], national["suggestion_code"]) == ("ad_law_9", "national")
    assert national["rule"].startswith("Advertising Law art. 9")
    assert national["suggestion"].startswith("Drop the rank")
    assert (cure["rule_code"], cure["suggestion_code"]) == ("ad_law_17", "medical")
    assert cure["suggestion"].startswith("Remove disease")
    zh = await client.post(CHECK, json={"texts": ["国家级配方"]}, headers=room.analyst)
    assert "广告法" in zh.json()["results"][0]["findings"][0]["rule"]
    assert (await client.post(CHECK, json={"texts": ["x"]})).status_code == 401
    bad_bodies: list[dict[str, object]] = [
        {"texts": []},
        {"texts": [1]},
        {"texts": ["a"], "extra": 1},
        {},
    ]
    for bad in bad_bodies:
        r = await client.post(CHECK, json=bad, headers=room.svc)
        assert r.status_code == 422, bad
        assert "detail" in r.json() or "error" in r.json()


async def test_team_terms_in_check_and_readiness_for_that_stream_only(
    client: httpx.AsyncClient, room: Room
) -> None:
    base = f"/api/v1/streams/{room.stream_id}"
    r = await client.post(
        f"{base}/compliance-terms",
        json={"phrases": ["老板疯了", "老板疯了"], "severity": "warn"},
        headers=room.ctl,
    )
    assert r.status_code == 201, r.text
    assert [t["phrase"] for t in r.json()] == ["老板疯了"]
    term_id = r.json()[0]["id"]
    # service agents may read but not add; a phrase without letters is refused
    assert (await client.get(f"{base}/compliance-terms", headers=room.svc)).status_code == 200
    r = await client.post(f"{base}/compliance-terms", json={"phrases": ["x"]}, headers=room.svc)
    assert r.status_code == 403
    r = await client.post(f"{base}/compliance-terms", json={"phrases": ["!!"]}, headers=room.ctl)
    assert r.status_code == 422 and r.json()["code"] == "term_unmatchable"

    with_team = await client.post(
        CHECK, json={"texts": ["老板疯了"], "stream_id": room.stream_id}, headers=room.host
    )
    assert with_team.json()["results"][0]["findings"][0]["category"] == "team"
    without = await client.post(CHECK, json={"texts": ["老板疯了"]}, headers=room.host)
    assert without.json()["results"][0]["findings"] == []

    # the script says it and a claim: readiness shows both, the absolute claim blocking
    segments = [
        {
            "kind": "opening",
            "title": "开场",
            "duration_seconds": 300,
            "talking_points": ["老板疯了，全场福利", "这是全网最好的面霜", "最近天气转凉"],
        }
    ]
    r = await client.put(f"{base}/script", json={"segments": segments}, headers=room.ctl)
    assert r.status_code in (200, 201), r.text
    # a quick reply goes out to viewers as written: checked too
    r = await client.post(
        f"{base}/quick-replies",
        json={"title": "功效", "body": "这款能治疗失眠，放心拍"},
        headers=room.svc,
    )
    assert r.status_code == 201, r.text
    reply_id = r.json()["id"]
    findings = (await client.get(f"{base}/readiness", headers=room.ctl)).json()
    if isinstance(findings, dict):
        findings = findings.get("findings", findings)
    codes = {(f["code"], f["severity"]) for f in findings if f["code"].startswith("compliance_")}
    assert ("compliance_absolute", "block") in codes
    assert ("compliance_team", "warn") in codes
    (medical,) = [f for f in findings if f["code"] == "compliance_medical"]
    assert medical["params"]["where"] == f"quick_reply:{reply_id}"
    assert (medical["params"]["phrase"], medical["severity"]) == ("治疗", "block")
    absolute = next(f for f in findings if f["code"] == "compliance_absolute")
    assert absolute["params"]["phrase"] == "最好"
    # the rewording by code: each console words it in its own language
    assert absolute["params"]["suggestion"] == "compliance.suggestion.superlative"
    assert absolute["params"]["rule"] == "compliance.rule.ad_law_9"
    assert "广告法" in absolute["rule"] and "口碑很好" in absolute["message"]
    en = await client.get(f"{base}/readiness", headers={**room.ctl, "Accept-Language": "en"})
    en_findings = en.json()
    if isinstance(en_findings, dict):
        en_findings = en_findings.get("findings", en_findings)
    en_absolute = next(f for f in en_findings if f["code"] == "compliance_absolute")
    assert en_absolute["message"] == (
        "Absolute claim '最好' (" + absolute["params"]["where"] + "): Describe it plainly "
        "('well reviewed', 'very popular', 'we recommend it') or give figures that can be "
        "checked"
    )

    r = await client.delete(f"{base}/compliance-terms/{term_id}", headers=room.ctl)
    assert r.status_code == 204
    r = await client.delete(f"{base}/compliance-terms/{term_id}", headers=room.ctl)
    assert r.status_code == 404
