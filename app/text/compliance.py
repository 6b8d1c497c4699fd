"""Claims checked before they are said: 广告法 absolute terms, medical and efficacy claims,
unsupported price claims and words the platforms forbid, in the text a team writes
(script segments, talking points, selling points, product copy, cues, quick replies).

One pyahocorasick automaton holds every term (built-in and a team's own); a match is a
finding unless the words around it make it harmless: 「最近」「第一次」「最后一件」 are not
claims, so the built-in terms are compounds (「最好」「销量第一」) and a few harmless
contexts are listed next to the term they excuse (「最好是」 advice, 「最大号」 a size,
「第一步」 an order of steps). Matching is on the folded text (simplified, lower-case,
full-width folded) with spaces removed, so 「全 网 最 低」 is found too.

Each finding: phrase (as written), category, severity (`block`: it must not be said;
`warn`: say it only with proof or a registration), the rule it breaks, a suggested
rewording — each also by code (`rule_code`, `suggestion_code`), worded in Chinese or
English from the server's catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache

import ahocorasick

from app.i18n import Lang, localize
from app.text.normalize import fold

CATEGORIES = ("absolute", "medical", "efficacy", "price", "platform", "team")
BLOCK = "block"
WARN = "warn"


# Rules and suggested rewordings by stable code; their words, zh and en, are in the
# server's catalogue (app/i18n.py "compliance.rule.<code>", "compliance.suggestion.<code>")
# so the English consoles and API callers asking for English get English.
def rule_text(code: str, lang: Lang = "zh") -> str:
    return localize(f"compliance.rule.{code}", None, lang) or code


def suggestion_text(code: str, lang: Lang = "zh") -> str:
    return localize(f"compliance.suggestion.{code}", None, lang) or code


RULE_AD_LAW_9 = rule_text("ad_law_9")
RULE_AD_LAW_17 = rule_text("ad_law_17")
RULE_AD_LAW_28 = rule_text("ad_law_28")
RULE_COSMETICS = rule_text("cosmetics_37")
RULE_PRICE = rule_text("price_19")
RULE_PLATFORM = rule_text("platform")
RULE_TEAM = rule_text("team")


@dataclass(frozen=True, slots=True)
class Term:
    phrase: str
    category: str
    severity: str
    rule_code: str  # "ad_law_9" …: compliance.rule.<code> in app/i18n.py
    # compliance.suggestion.<code>; None: `suggestion` is the team's own words
    suggestion_code: str | None
    suggestion: str = ""
    # Compounds that contain the phrase but are harmless (「最好是」 contains 「最好」).
    excused_by: tuple[str, ...] = ()

    def suggestion_in(self, lang: Lang) -> str:
        code = self.suggestion_code
        return suggestion_text(code, lang) if code is not None else self.suggestion


@dataclass(frozen=True, slots=True)
class Finding:
    phrase: str
    category: str
    severity: str
    rule: str  # in the language asked for (zh by default)
    suggestion: str
    start: int  # offset of the phrase in the text as written (for underlining)
    end: int
    rule_code: str = "team"
    suggestion_code: str | None = None  # None: the team's own words

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def suggestion_param(self) -> str:
        """The suggestion as a message parameter: its catalogue code, which the consoles
        and `i18n.localize` word in the reader's language, or the team's own words."""
        if self.suggestion_code is None:
            return self.suggestion
        return f"compliance.suggestion.{self.suggestion_code}"


def _terms(
    words: str,
    category: str,
    severity: str,
    rule_code: str,
    suggestion_code: str,
    excused: dict[str, tuple[str, ...]] | None = None,
) -> list[Term]:
    suggestion = suggestion_text(suggestion_code)
    return [
        Term(
            w,
            category,
            severity,
            rule_code,
            suggestion_code,
            suggestion,
            (excused or {}).get(w, ()),
        )
        for w in words.split()
    ]


# suggestion codes (compliance.suggestion.<code>)
_SUPERLATIVE = "superlative"
_FIRST = "first"
_NATIONAL = "national"
_MEDICAL = "medical"
_EFFICACY = "efficacy"
_GUARANTEE = "guarantee"
_PRICE_LOW = "price_low"
_PRICE_ORIGINAL = "price_original"
_OFFSITE = "offsite"
_REVIEW_CASH = "review_cash"


BUILTIN: tuple[Term, ...] = tuple(
    _terms(
        "最好 最佳 最优 最强 最牛 最棒 最顶级 最高级 最先进 最权威 最专业 最受欢迎 最畅销"
        " 最热销 最火 最有效 最安全 最健康 最正宗 最纯 最好用 最好吃 最舒服 最划算 最实惠"
        " 最便宜 最低价 最大牌 最新科技 最新技术 最科学 最环保 最耐用 最时尚 最完美",
        "absolute",
        BLOCK,
        "ad_law_9",
        _SUPERLATIVE,
        {
            "最好": ("最好是", "最好不要", "最好别", "最好先", "最好在", "最好用温水", "最好提前"),
            "最便宜": ("最便宜的那款是", "最便宜的是哪"),
        },
    )
    + _terms(
        "全网第一 销量第一 排名第一 行业第一 全国第一 世界第一 全球第一 第一品牌 唯一品牌"
        " 排行第一 no.1 no1 top1 销冠 冠军单品",
        "absolute",
        BLOCK,
        "ad_law_9",
        _FIRST,
    )
    + _terms(
        "国家级 世界级 全球级 宇宙级 顶级 极品 史上 史无前例 前无古人 独一无二 绝无仅有"
        " 遥遥领先 领导品牌 领袖品牌 王牌 巅峰 终极 万能 绝对 100%纯 百分百纯 全球首发"
        " 首个 首家 首选 独家 唯一 永久 零风险 无敌",
        "absolute",
        BLOCK,
        "ad_law_9",
        _NATIONAL,
        {
            "唯一": ("唯一的缺点", "唯一不足", "唯一要注意"),
            "绝对": ("绝对不要", "绝对别"),
            "首选": (),
            "独家": ("独家讲解",),
            "永久": (),
        },
    )
    + _terms(
        "治疗 治愈 根治 疗效 药效 药到病除 包治 消炎 抗病毒 抗癌 防癌 降血压 降血糖"
        " 降血脂 降三高 治失眠 治脱发 治痘 治湿疹 处方 医用级 药用 代替药物 替代药物"
        " 增强免疫力 提高免疫力 排毒 清除病毒 预防疾病 治病",
        "medical",
        BLOCK,
        "ad_law_17",
        _MEDICAL,
    )
    + _terms(
        "杀菌 抗菌 除螨 祛斑 去斑 淡斑 美白 祛痘 去痘 祛痘印 去疤 祛疤 生发 防脱 育发 脱毛"
        " 除皱 去皱 抗皱 抗衰 抗衰老 逆龄 冻龄 丰胸 瘦脸 溶脂 燃脂 减肥 瘦身 掉秤 暴瘦 修复受损"
        " 修复屏障 医美级 械字号 药妆",
        "efficacy",
        WARN,
        "cosmetics_37",
        _EFFICACY,
    )
    + _terms(
        "100%有效 百分百有效 无副作用 零副作用 无任何副作用 立竿见影 一次见效 永不反弹"
        " 绝不反弹 保证有效 无效退款 七天见效 三天见效 纯天然无添加 零添加 零激素 无激素",
        "efficacy",
        BLOCK,
        "ad_law_28",
        _GUARANTEE,
    )
    + _terms(
        "全网最低 全网最便宜 史上最低 历史最低价 全网底价 底价 出厂价 成本价 亏本 赔本"
        " 跳楼价 血亏 清仓价 假一赔十 假一赔百 比专柜便宜 比旗舰店便宜 比超市便宜",
        "price",
        WARN,
        "price_19",
        _PRICE_LOW,
    )
    # 「原价 299 现价 99」: a struck-through price needs a real past price.
    + _terms("原价 划线价 专柜价", "price", WARN, "price_19", _PRICE_ORIGINAL)
    + _terms(
        "加微信 加我微信 微信号 加v 加vx vx wx 私信我 私聊我 加群 进群 扫码 二维码 淘宝"
        " 拼多多 京东自营 某宝 站外 私下交易 线下交易",
        "platform",
        BLOCK,
        "platform",
        _OFFSITE,
        {"扫码": ("扫码领券", "扫码下单")},
    )
    + _terms(
        "好评返现 晒单返现 五星好评返 好评送 晒图返 评价返 刷单 点赞返",
        "platform",
        BLOCK,
        "platform",
        _REVIEW_CASH,
    )
)
_SPACES = re.compile(r"\s+")


def _compact_with_offsets(text: str) -> tuple[str, list[int]]:
    """The folded text without whitespace, and for each of its characters the offset of
    the character it came from in the original text (folding is per character, so an
    expansion such as ㎏ → kg keeps pointing at its source)."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        folded = fold(ch) if not ch.isascii() else ch.lower()
        for f in folded:
            if not f.isspace():
                chars.append(f)
                offsets.append(i)
    return "".join(chars), offsets


def _key(phrase: str) -> str:
    return _SPACES.sub("", fold(phrase))


class Checker:
    """The built-in terms plus a team's own (`extra`), in one automaton."""

    def __init__(self, extra: Iterable[Term] = ()) -> None:
        automaton = ahocorasick.Automaton()
        terms: dict[str, Term] = {}
        for term in BUILTIN:
            terms[_key(term.phrase)] = term
        for term in extra:  # a team's own term wins over a built-in one
            key = _key(term.phrase)
            if key:
                terms[key] = term
        for key, term in terms.items():
            excuses = tuple(_key(e) for e in term.excused_by)
            automaton.add_word(key, (key, term, excuses))
        automaton.make_automaton()
        self._automaton = automaton

    def check(self, text: str, lang: Lang = "zh") -> list[Finding]:
        compact, offsets = _compact_with_offsets(text)
        hits: list[tuple[int, int, Term]] = []
        for end, (key, term, excuses) in self._automaton.iter(compact):
            start = end - len(key) + 1
            if any(_excused(compact, start, key, e) for e in excuses):
                continue
            hits.append((start, end, term))
        # The longest match wins where matches overlap (「全网最低」 over 「最低价」 inside
        # 「全网最低价」 is one claim, not two).
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        out: list[Finding] = []
        covered = -1
        for start, end, term in hits:
            if end <= covered:
                continue
            if start <= covered:  # overlaps the previous one: keep the longer
                prev = out[-1]
                if end - start <= prev.end - prev.start:
                    continue
                out.pop()
            a, b = offsets[start], offsets[end] + 1
            out.append(
                Finding(
                    text[a:b],
                    term.category,
                    term.severity,
                    rule_text(term.rule_code, lang),
                    term.suggestion_in(lang),
                    a,
                    b,
                    term.rule_code,
                    term.suggestion_code,
                )
            )
            covered = end
        return out


def _excused(compact: str, start: int, key: str, excuse: str) -> bool:
    """Is the match at `start` part of the harmless compound `excuse`?"""
    at = excuse.find(key)
    if at < 0:
        return False
    begin = start - at
    return begin >= 0 and compact.startswith(excuse, begin)


@lru_cache(maxsize=1)
def default_checker() -> Checker:
    return Checker()


def check_texts(
    texts: list[str], checker: Checker | None = None, lang: Lang = "zh"
) -> list[list[Finding]]:
    c = checker or default_checker()
    return [c.check(t, lang) for t in texts]
