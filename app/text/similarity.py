"""Is this question the same as one already in the queue? (「尺码怎么选」 ≈ 「请问尺码怎么选呀」)

Questions are compared by their *content*: the compact normalised text without the
filler a viewer adds around it (请问, 主播, 这个, 吗/呢/啊, 了/的…), as a set of
character bigrams. Two questions of the same kind and topic merge when the Jaccard
index of their bigram sets reaches `MERGE_THRESHOLD`, or when one's content contains
the other's (a short question repeated inside a longer one). When both name keywords
of their topic (「什么时候发货」「几号发货」 both say 发货), the keyword overlap counts half.
"""

from __future__ import annotations

import re

from app.text.classifier import topic_keywords
from app.text.normalize import normalize

MERGE_THRESHOLD = 0.4
_FILLER = re.compile(
    "请问|问一下|问下|想问|主播|小助理|助理|姐妹们|宝宝们|家人们|宝宝|亲|那个|这个|这款|这件|"
    "一下|啊|呀|吗|呢|嘛|吧|哦|哈|啦|了|的|滴|哇|呐|耶"
)


def content(text: str) -> str:
    """The compact normalised text with filler words removed (at most 200 characters)."""
    compact = normalize(text).compact
    stripped = _FILLER.sub("", compact)
    return (stripped or compact)[:200]


def bigrams(key: str) -> frozenset[str]:
    if len(key) < 2:
        return frozenset((key,)) if key else frozenset()
    return frozenset(key[i : i + 2] for i in range(len(key) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def keywords(text: str, topic: str) -> frozenset[str]:
    return topic_keywords(normalize(text), topic)


def similar(
    key_a: str,
    grams_a: frozenset[str],
    kw_a: frozenset[str],
    key_b: str,
    grams_b: frozenset[str],
    kw_b: frozenset[str],
) -> float:
    """Similarity in [0, 1]; 1.0 when one content contains the other (≥ 3 characters)."""
    if key_a == key_b:
        return 1.0
    shorter, longer = (key_a, key_b) if len(key_a) <= len(key_b) else (key_b, key_a)
    if len(shorter) >= 3 and shorter in longer:
        return 1.0
    grams = jaccard(grams_a, grams_b)
    if kw_a and kw_b:
        return 0.5 * grams + 0.5 * jaccard(kw_a, kw_b)
    return grams
