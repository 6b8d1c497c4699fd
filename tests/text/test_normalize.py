from __future__ import annotations

import pytest

from app.text.normalize import fold, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width
        ("①②③⑴⑵", "123(1)(2)"),  # circled and parenthesised digits
        ("❶➋⓷", "123"),  # dingbat digits NFKC leaves alone
        ("請問幾號連結", "请问几号连结"),  # traditional → simplified
        ("Vх", "vx"),  # Cyrillic х looks like x
        ("a\u200bb", "ab"),  # zero-width space
        ("  多  个   空格 ", "多 个 空格"),
    ],
)
def test_fold_defeats_disguises(raw: str, expected: str) -> None:
    assert fold(raw) == expected


def test_compact_drops_separators_between_characters() -> None:
    assert normalize("加.薇_信 / a-b").compact == "加薇信ab"


def test_chinese_numerals_in_runs_become_digits() -> None:
    assert "13812345678" in normalize("电话 一三八一二三四五六七八").digits
    assert "159" in normalize("壹伍玖 捌捌").digits.replace(" ", "")
    assert "1" in normalize("幺幺幺幺").digits


def test_short_numeral_words_are_left_alone() -> None:
    assert normalize("一点都不甜 三件").digits == "一点都不甜 三件"
