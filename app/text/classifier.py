"""Comment classification: kind, topic, sentiment and blocked — a model plus the rules.

Moderation rules run first (`moderation.py`: a stream's blocked words, contact words and
disguises, links, phone-like numbers, floods, listed abuse). Then a linear model over
character n-grams and the rule engine's cues (`model.py`, trained from the labelled
comments in `data/labelled/` by `python -m app.text.train`) scores kind, topic and
sentiment. The cue lists of `lexicon.py` (question particles, 还没/到底/说好的,
已拍/扣1, 运费/退款/链接/券, insult, diversion and prohibited-goods vocabulary) are
features, not verdicts: the model learnt how much each is worth.

How they are combined:

1. a rule hit hides the comment (`blocked`) and makes it `spam` — unless the model reads
   a complaint: then it stays a `complaint` for the service team (「收到是假的 骗子」),
   hidden from the public only when a hard rule (not the listed abuse words) matched;
2. otherwise the model's kind; `spam` from the model is blocked too (insults without a
   listed word, diversion by emoji or 「看主页」, prohibited goods);
3. questions and complaints always get a topic; chit-chat and spam never do;
   complaints are negative and praise positive.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

from app.text.lexicon import parse_lexicon
from app.text.model import KINDS as KINDS
from app.text.model import SENTIMENTS as SENTIMENTS
from app.text.model import TOPICS as TOPICS
from app.text.model import LinearModel, default_model, features, softmax
from app.text.moderation import ModerationResult, Moderator, default_moderator
from app.text.normalize import Normalized, normalize

_TOPIC_PRIORITY = ("after_sales", "order", "logistics", "promo", "product")
# Praise of a bargain is praise of the product (「这个价买到这品质 值了」).
_PRAISE_PRIORITY = ("after_sales", "logistics", "product", "order", "promo")


@dataclass(frozen=True, slots=True)
class Classification:
    kind: str
    topic: str
    sentiment: str
    blocked: bool
    reason: str | None = None  # why moderation blocked it

    def as_dict(self) -> dict[str, str | bool]:
        return {
            "kind": self.kind,
            "topic": self.topic,
            "sentiment": self.sentiment,
            "blocked": self.blocked,
        }


def _build_automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for word, tags in parse_lexicon().items():
        automaton.add_word(word, tuple(tags))
    automaton.make_automaton()
    return automaton


_CUES = parse_lexicon()
_AUTOMATON = _build_automaton()
# The same words with their tags as model feature names (「吗」 → ("\x01q",)).
_CUE_AUTOMATON = ahocorasick.Automaton()
for _word, _tags in _CUES.items():
    _CUE_AUTOMATON.add_word(_word, tuple("\x01" + tag for tag, _weight in _tags))
_CUE_AUTOMATON.make_automaton()
# A clause that ends with a question particle (after trailing 啊/呀/啦…) asks something.
_QMARK = r"[?？]"
_QUESTION_END = r"(?:吗|么|呢|嘛|不|没|否|伐|没有)[啊呀啦哦喔哈呐]*(?:[\s,.!~。，！～]|$)"
# 透不透, 发没发 (the look-behind takes the character before 不/没, so every branch of
# _QUESTION_SHAPE starts with a literal or a set and the scan skips other positions)
_A_NOT_A = r"[不没](?<=(?P<a>.)[不没])(?P=a)"
_CHOICE = (
    r"(?:是|的|拿|选|穿|买|要|用|大|小|货|码|款|色|软|硬|厚|薄|长|短|高|低|新|旧|冷|热).{0,4}还是"
)
_HOW_MUCH = r"多(?:大|厚|重|长|宽|高|少|久|远|深|粗|细)"
# Any one of these is question evidence; a single alternation is one C-level scan.
_QUESTION_SHAPE = re.compile("|".join((_QMARK, _QUESTION_END, _A_NOT_A, _CHOICE, _HOW_MUCH)))
# Complaint phrases a word list gets wrong: 「说好的」 but not 「都说好吃」.
_STRONG_COMPLAINT = re.compile(r"说好(?![吃看用喝听玩])|一股.{0,4}[味气]")
# 「很防滑」「真快」「特别清楚」: an intensifier and a good quality praise what was bought.
_PRAISE = re.compile(
    r"(?:很|真|好|超|特别|非常|挺|太|巨|贼)(?:的)?(?:快|棒|香|甜|软|稳|清楚|清晰|喜欢|好用|"
    r"舒服|方便|实用|耐用|结实|划算|值|防滑|精致|大气|柔软|保暖|透气|轻便|新鲜|嫩|脆|可口|"
    r"满意|靠谱|好吃|好喝|好闻|好穿|合身|显瘦|扎实|厚实|给力|好使|灵敏|流畅|安静|静音)"
)
_ONLY_ONES = re.compile(r"^(?:\+?1+|1+\+?)$")
_ONLY_SIXES = re.compile(r"^6+$")
# The shapes as model features, each its own search (a single alternation scanned with
# `finditer` tried every branch at every position: twice the time). Each pattern is the
# shortest form that matches exactly when its full form would (「12块5」 ⇔ 「2块」).
_LINK_NUMBER = re.compile(r"\d\s*号(?![色圈码])")
_PRICE = re.compile(r"\d\s*[块元]|¥\s*\d")
_SIZE_NUMBER = re.compile(r"\d\s*码")
# A size written in letters is a whole Latin word: 「xl码」「要m」 but not 「xml」.
_SIZE_WORDS = frozenset({"xxl", "xl", "xs", "s", "m", "l"})
_LATIN = re.compile(r"[a-z]+")
_DIGIT_OR_YEN = re.compile(r"[0-9¥]")
_SHAPES = (
    ("\x01QSHAPE", _QUESTION_SHAPE.search),
    ("\x01CS", _STRONG_COMPLAINT.search),
    ("\x01PR", _PRAISE.search),
)
_NUMBER_SHAPES = (
    ("\x01LINKNO", _LINK_NUMBER.search),
    ("\x01PRICE", _PRICE.search),
    ("\x01SIZE", _SIZE_NUMBER.search),
)


# Rule reasons a model's "complaint" outweighs: 「骗子」「假的」 in a buyer's real
# complaint are not abuse. Every other rule (links, numbers, contact words, prohibited
# goods, a stream's own words) hides the comment whatever the model says.
_SOFT_REASONS = frozenset({"abuse"})
# How sure the model must be that a comment a rule hit is a complaint to keep it one
# (「去 竞品店 买更便宜」 reads a little like a price complaint; it is an ad).
_KEEP_COMPLAINT = 0.6
_COMPLAINT = KINDS.index("complaint")


def _complaint_probability(kind_scores: Sequence[int]) -> float:
    return softmax([s / 1000 for s in kind_scores])[_COMPLAINT]


def cue_features(n: Normalized, moderation: ModerationResult) -> list[str]:
    """The rule engine's evidence as model features: lexicon tags, shapes, the rule hit."""
    out: list[str] = []
    text = n.text
    for _end, tags in _CUE_AUTOMATON.iter(text):
        out.extend(tags)
    for name, search in _SHAPES:
        if search(text):
            out.append(name)
    # Prices, link numbers and sizes need a digit, ¥ or a Latin letter (most comments
    # have none: two cheap scans instead of four pattern searches).
    if _DIGIT_OR_YEN.search(text):
        for name, search in _NUMBER_SHAPES:
            if search(text):
                out.append(name)
    if "\x01SIZE" not in out and not _SIZE_WORDS.isdisjoint(_LATIN.findall(text)):
        out.append("\x01SIZE")
    compact = n.compact
    if not compact:
        out.append("\x01EMPTY")
    elif _ONLY_ONES.match(text.replace(" ", "")):
        out.append("\x01ONES")
    elif _ONLY_SIXES.match(compact):
        out.append("\x01SIXES")
    if len(compact) <= 3:
        out.append("\x01SHORT")
    if moderation.blocked:
        out.append("\x02" + str(moderation.reason))
    return out


def _argmax(scores: Sequence[int], labels: tuple[str, ...], start: int = 0, stop: int = 99) -> str:
    """The best label among labels[start:stop] (the first on a tie)."""
    part = scores[start:stop]
    return labels[start + part.index(max(part))]


assert TOPICS[-1] == "none" and SENTIMENTS[0] == "positive"


def classify_normalized(
    raw: str,
    n: Normalized,
    moderator: Moderator | None = None,
    model: LinearModel | None = None,
) -> Classification:
    moderation = (moderator or default_moderator()).check(raw, n)
    scores = (model or default_model()).scores(features(n, cue_features(n, moderation)))
    kind = _argmax(scores.kind, KINDS)
    blocked = kind == "spam"
    reason = "model" if blocked else None
    if moderation.blocked:
        if kind == "complaint" and _complaint_probability(scores.kind) >= _KEEP_COMPLAINT:
            # A complaint stays a complaint for the service team; a stream's own word or a
            # hard rule still hides it from the public.
            blocked = moderation.reason not in _SOFT_REASONS
        else:
            kind, blocked = "spam", True
        reason = moderation.reason if blocked else None
    if kind == "spam":
        topic = "none"
        if reason == "model":  # insults read as negative, ads and diversion as neutral
            sentiment = _argmax(scores.sentiment, SENTIMENTS, 1)
        else:  # a rule says which: abuse is negative, the rest (ads, contact…) neutral
            sentiment = "negative" if reason == "abuse" else "neutral"
    elif kind == "chitchat":
        topic = "none"
        sentiment = _argmax(scores.sentiment, SENTIMENTS)
    else:
        # questions and complaints always have a topic ("none" is the last)
        stop = len(TOPICS) - 1 if kind in ("question", "complaint") else len(TOPICS)
        topic = _argmax(scores.topic, TOPICS, 0, stop)
        if kind == "complaint":
            sentiment = "negative"
        elif kind == "praise":
            sentiment = "positive"
        else:
            sentiment = _argmax(scores.sentiment, SENTIMENTS)
    return Classification(kind, topic, sentiment, blocked, reason)


def topic_keywords(n: Normalized, topic: str) -> frozenset[str]:
    """The topic's cue words (two characters or more) found in the text: what a question
    is about (「发货」「尺码」「优惠券」), used to merge similar questions."""
    tag = "t:" + topic
    found = set()
    for end, tags in _AUTOMATON.iter(n.text):
        for t, weight in tags:
            if t == tag and weight >= 2:
                found.add(end)
    words = set()
    for end in found:
        # The automaton reports where a word ends; take the longest cue ending there.
        for length in range(min(6, end + 1), 1, -1):
            word = n.text[end - length + 1 : end + 1]
            if any(t == tag for t, _ in _CUES.get(word, ())):
                words.add(word)
                break
    return frozenset(words)


@lru_cache(maxsize=65536)
def _classify_cached(raw: str) -> Classification:
    return classify_normalized(raw, normalize(raw))


def classify(raw: str, moderator: Moderator | None = None) -> Classification:
    """Classify one comment (global blocked words unless a stream's moderator is given).

    Comment floods repeat themselves (「扣1」「来了」), so the global path is memoised.
    """
    if moderator is None:
        return _classify_cached(raw)
    return classify_normalized(raw, normalize(raw), moderator)


def classify_many(texts: list[str], moderator: Moderator | None = None) -> list[Classification]:
    return [classify(t, moderator) for t in texts]


# Load the model when the text engine is imported (≈0.2 s of CPU at start-up), not inside
# the first intake batch a server takes.
default_model()
