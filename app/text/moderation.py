"""Moderation: should a comment be hidden from the host and the watch page, and why.

One Aho-Corasick automaton (pyahocorasick, C) holds the global blocked words plus a
stream's own words and is run once over the `compact` view of the comment, so a
disguise with separators (加.薇.信), full-width letters or traditional characters is
matched like the plain word. A few patterns that a word list cannot express (contact
solicitation such as 「+v」, phone/QQ-like digit runs even when spelled in Chinese
numerals, links, floods) are regexes over the other normalised views.

Reasons, in the order they are checked: `blocked_word` (a stream's own list), `abuse`,
`prohibited`, `ad`, `contact`, `link`, `phone`, `flood`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from app.text.normalize import Normalized, fold, normalize

# Global words, matched on the compact view (lower-case, simplified, separators removed).
GLOBAL_WORDS: dict[str, tuple[str, ...]] = {
    "abuse": (
        "骗子",
        "傻x",
        "傻逼",
        "傻b",
        "煞笔",
        "沙比",
        "脑残",
        "脑子有病",
        "有病吧",
        "滚出",
        "滚蛋",
        "去死",
        "丑死",
        "丑八怪",
        "跟猪一样",
        "像猪一样",
        "死胖子",
        "胖成这样",
        "一群韭菜",
        "割韭菜",
        "贱人",
        "婊",
        "妈的",
        "尼玛",
        "操你",
        "cnm",
        "nmsl",
        "tmd",
        "scammer",
        "idiot",
        "stupid",
        "fuck",
        "垃圾主播",
        "主播垃圾",
    ),
    "prohibited": (
        "高仿",
        "a货",
        "免税烟",
        "香烟",
        "处方药",
        "减肥药",
        "代开",
        "发票代开",
        "假证",
        "办证",
        "毒品",
        "迷药",
        "枪支",
        "网赌",
        "博彩",
        "赌球",
    ),
    "ad": (
        "淘宝搜",
        "拼多多搜",
        "来我家",
        "我家买",
        "厂家直销",
        "招代理",
        "一件代发",
        "刷单",
        "兼职",
        "日结",
        "月入",
        "刷粉",
        "刷赞",
        "互关",
        "互粉",
        "关注我必回",
        "代充",
        "贷款",
        "下款",
        "无抵押",
        "全是托",
        "都是托",
        "内部价",
        "代购",
        "稳赚",
        "带你回本",
        "玩两把",
        "进群",
        "扫码进群",
        "扫码领",
        "我主页",
        "点我头像",
        "进主页",
        "看我头像",
        "同款便宜",
        "wholesale",
        "dmme",
        "包过",
        "低价出",
        "内部福利",
        "在家就能赚",
        "赚钱",
    ),
    "contact": (
        "加微信",
        "加微",
        "微信号",
        "v信",
        "薇信",
        "威信",
        "vx",
        "wx",
        "weixin",
        "加v",
        "加q",
        "q号",
        "qq号",
        "扣扣",
        "加薇",
        "加威",
        "telegram",
        "加我好友",
        "加好友",
        "联系方式",
        "私聊我",
        "私信我",
        "私讯我",
        "私我",
        "加群",
    ),
}

_ABUSE_PATTERNS = (
    r"滚\s*$",
    r"s(?<![a-z]s)b(?![a-z])",  # 「sb」 alone (the look-behind after the s: see _PATTERNS)
    # An insult aimed at someone: 「你个傻子」「主播就是个骗子」 (but 「不买是傻子」 is banter).
    r"(?:你|主播|助理|助播)(?:个|是|这个|就是个?|真是个?)?\s*(?:傻|蠢|笨蛋|白痴|废物|垃圾|骗|猪|狗)",
)
_CONTACT_PATTERNS = (
    # 「+v」「➕🛰」「加 威」: a plus sign or 加 followed by a messenger nickname.
    r"(?:\+|加)\s*(?:v|q|vx|wx|微|薇|威|卫星|扣扣|企鹅)(?![a-z])",
    # 「要的私聊」「私」 at the end: the classic sign-off of a selling comment.
    r"私(?:聊|信|讯)?\s*$",
    r"(?:要的|需要的?|想要的?|有意的?)\s*(?:联系|私)",
    r"联(?<![不没]联)系我",
    r"找我\s*$",
    r"微信\s*[:：]?\s*[a-z0-9_-]{5,}",
)
# One scan for all of them; the named group says which reason matched. Every branch
# starts with a literal or a character set (look-behinds come after the first
# character), so the scan skips the positions where none can start.
_PATTERNS = re.compile(
    "|".join(
        [f"(?P<abuse{i}>{p})" for i, p in enumerate(_ABUSE_PATTERNS)]
        + [f"(?P<contact{i}>{p})" for i, p in enumerate(_CONTACT_PATTERNS)]
    )
)
# A messenger nickname followed by an account id: 「薇❤ abc123」「vx:abc8866」 (compact view).
_ACCOUNT_ID = re.compile(r"(?:薇|威|微信|vx|wx|扣扣|企鹅|qq)(?=[a-z0-9_-]*[0-9])[a-z0-9_-]{5,}")
_LINK = re.compile(
    r"https?://|www\.|\bt\.cn\b|[a-z0-9-]{2,}\.(?:com|cn|net|top|xyz|cc|me|io|vip|shop|link|org)\b"
)
# Seven or more digits (single separators allowed, o/l as 0/1 look-alikes) look like a
# phone, QQ or WeChat number; 「111111」 (扣1 spam-clicking) is one repeated digit.
_NUMBER_RUN = re.compile(r"[0-9ol](?:[ .\-_/]?[0-9ol]){6,}")
_ALNUM = re.compile(r"[0-9a-z]")
_ORDER_NUMBER_CUES = ("订单号", "单号", "运单", "快递号", "订单编号")
_FLOOD_MIN_LEN = 15


@dataclass(frozen=True, slots=True)
class ModerationResult:
    blocked: bool
    reason: str | None = None
    match: str | None = None


ALLOWED = ModerationResult(False)


def compact_word(word: str) -> str:
    """The form a blocked word is matched in (empty: it can never match)."""
    return re.sub(r"[^0-9a-z\u4e00-\u9fff\u3400-\u4dbf]+", "", fold(word))


class Moderator:
    """Blocked words (global + extra) and disguise-aware contact/link/number checks."""

    def __init__(self, extra_words: Iterable[str] = (), *, include_global: bool = True) -> None:
        automaton = ahocorasick.Automaton()
        entries: dict[str, tuple[int, str, str]] = {}
        # Lower rank wins when several words match: a stream's own list is the most specific.
        ranks = {"blocked_word": 0, "abuse": 1, "prohibited": 2, "ad": 3, "contact": 4}
        if include_global:
            for reason, words in GLOBAL_WORDS.items():
                for word in words:
                    key = compact_word(word)
                    if key and (key not in entries or entries[key][0] > ranks[reason]):
                        entries[key] = (ranks[reason], reason, word)
        self.extra_words = tuple(sorted({w.strip() for w in extra_words if w.strip()}))
        for word in self.extra_words:
            key = compact_word(word)
            if key:
                entries[key] = (0, "blocked_word", word)
        for key, value in entries.items():
            automaton.add_word(key, value)
        self._empty = not entries
        if not self._empty:
            automaton.make_automaton()
        self._automaton = automaton
        self._patterns = include_global

    def check(self, raw: str, norm: Normalized | None = None) -> ModerationResult:
        n = norm or normalize(raw)
        best: tuple[int, str, str] | None = None
        if not self._empty:
            for _end, value in self._automaton.iter(n.compact):
                if best is None or value[0] < best[0]:
                    best = value
                    if value[0] == 0:
                        break
        if best is not None:
            return ModerationResult(True, best[1], best[2])
        if not self._patterns:
            return ALLOWED
        m = _PATTERNS.search(n.text)
        if m:
            reason = (m.lastgroup or "contact").rstrip("0123456789")
            return ModerationResult(True, reason, m.group(0))
        if _ALNUM.search(n.digits) is None:
            # Account ids, links and number runs all need a Latin letter or a digit
            # (`digits` also spells out 一三八…): most comments have none.
            return self._flood(n.compact)
        m = _ACCOUNT_ID.search(n.compact)
        if m:
            return ModerationResult(True, "contact", m.group(0))
        m = _LINK.search(n.text) if "." in n.text or "/" in n.text else None
        if m:
            return ModerationResult(True, "link", m.group(0))
        for m in _NUMBER_RUN.finditer(n.digits):
            run = re.sub(r"[^0-9]", "", m.group(0))
            if (
                len(run) >= 5
                and len(set(run)) > 1
                and not any(cue in n.compact for cue in _ORDER_NUMBER_CUES)
            ):
                return ModerationResult(True, "phone", m.group(0))
        return self._flood(n.compact)

    @staticmethod
    def _flood(c: str) -> ModerationResult:
        if len(c) >= _FLOOD_MIN_LEN and len(set(c)) * 5 <= len(c):
            return ModerationResult(True, "flood", c[:12])
        return ALLOWED


_default: Moderator | None = None


def default_moderator() -> Moderator:
    """The moderator with the global list only (built once, on first use)."""
    global _default
    if _default is None:
        _default = Moderator()
    return _default


def moderate(raw: str, norm: Normalized | None = None) -> ModerationResult:
    return default_moderator().check(raw, norm)
