"""A linear model over character n-grams and rule cues: kind, topic and sentiment.

Features of one comment (`features`): the character 1-, 2- and 3-grams of the normalised
text (with `^`/`$` at the ends, so 「拍了」 alone differs from 「拍了吗」), and the
rule engine's evidence as named features — every lexicon cue tag found, the question
shape, price/size/link-number patterns, and the moderation reason if a rule matched.
The cues carry what generalises across verticals (吗, 还没, 已拍, 退款); the n-grams
learn what the cue lists do not know (emoji diversion, slang, new insults).

Three softmax heads (multinomial logistic regression) share the features. Scoring is
pure Python and fast: each feature's 15 weights (6 kinds, 6 topics, 3 sentiments) are
quantised and packed into one Python integer (32 bits a field, offset so every field is
non-negative), so the sum over a comment's features is one `sum(map(dict.get, ...))` in
C, and the 15 scores are read back with shifts. ~60 n-grams a comment cost a few µs.

The weights are `app/text/data/model.json.gz`, written by `python -m app.text.train`
from the labelled data in the repository (reproducible: fixed seed, fixed order).
"""

from __future__ import annotations

import gzip
import math
import re
import struct
from functools import lru_cache
from itertools import repeat
from operator import add
from pathlib import Path
from typing import NamedTuple

import orjson

from app.text.normalize import Normalized

KINDS = ("question", "complaint", "purchase", "praise", "chitchat", "spam")
TOPICS = ("product", "promo", "logistics", "after_sales", "order", "none")
SENTIMENTS = ("positive", "neutral", "negative")
HEADS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kind", KINDS),
    ("topic", TOPICS),
    ("sentiment", SENTIMENTS),
)
N_OUT = len(KINDS) + len(TOPICS) + len(SENTIMENTS)
MODEL_PATH = Path(__file__).parent / "data" / "model.json.gz"

SCALE = 1000  # weights are stored in thousandths
_BITS = 32
_MASK = (1 << _BITS) - 1
_OFFSET = 1 << 20  # |weight| < 1048 after scaling; up to 2,047 features a comment
MAX_FEATURES = 2000
BIAS = "\x00bias"


_LATIN = re.compile(r"[a-z]+")
_DIGITS = re.compile(r"[0-9]+")


def ngrams(text: str) -> list[str]:
    """Character 1-3-grams, with every Latin word folded to `A` and every digit run to `9`
    (English and pinyin words become word features instead: letters one by one would
    only learn that spam is written with `v`, `x` and `w`)."""
    text = text[:400]
    words = _LATIN.findall(text)
    if words:
        text = _LATIN.sub("A", text)
    if _DIGITS.search(text):
        text = _DIGITS.sub("9", text)
    t = "^" + text + "$"
    grams = list(text.replace(" ", ""))
    bigrams = list(map(add, t, t[1:]))
    grams += bigrams
    grams += map(add, bigrams, t[2:])
    if words:
        grams += map(add, repeat("\x03"), words)
    return grams


def features(n: Normalized, cues: list[str]) -> list[str]:
    """The comment's n-grams plus the rule cues (already prefixed, e.g. `\x01q`)."""
    out = ngrams(n.text)
    out.extend(cues)
    out.append(BIAS)
    if len(out) > MAX_FEATURES:
        out = [*out[: MAX_FEATURES - 1], BIAS]
    return out


def pack(weights: list[float]) -> int:
    value = 0
    for i, w in enumerate(weights):
        q = round(w * SCALE)
        q = max(-_OFFSET + 1, min(_OFFSET - 1, q))
        value |= (q + _OFFSET) << (_BITS * i)
    return value


_ZERO = pack([0.0] * N_OUT)
_K, _T = len(KINDS), len(KINDS) + len(TOPICS)
_BYTES = N_OUT * _BITS // 8
_UNPACK = struct.Struct(f"<{N_OUT}I").unpack


class Scores(NamedTuple):
    """Per-class scores in thousandths, each head's shifted by the same constant (only
    their order and differences are used: argmax, softmax)."""

    kind: tuple[int, ...]
    topic: tuple[int, ...]
    sentiment: tuple[int, ...]


def softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


class LinearModel:
    def __init__(self, packed: dict[str, int]) -> None:
        self._packed = packed
        self._get = packed.get

    @classmethod
    def from_weights(cls, weights: dict[str, list[float]]) -> LinearModel:
        return cls({f: pack(w) for f, w in weights.items()})

    def __len__(self) -> int:
        return len(self._packed)

    def raw(self, feats: list[str]) -> list[int]:
        total = sum(map(self._get, feats, repeat(_ZERO)))
        base = _OFFSET * len(feats)
        fields = _UNPACK(total.to_bytes(_BYTES, "little"))
        return [f - base for f in fields]  # thousandths

    def scores(self, feats: list[str]) -> Scores:
        # Not shifted back by the offsets (`raw`): every field carries the same one.
        r = _UNPACK(sum(map(self._get, feats, repeat(_ZERO))).to_bytes(_BYTES, "little"))
        return Scores(r[:_K], r[_K:_T], r[_T:])


def load_weights(path: Path = MODEL_PATH) -> dict[str, list[float]]:
    data = orjson.loads(gzip.decompress(path.read_bytes()))
    return {f: [q / SCALE for q in w] for f, w in data["weights"].items()}


@lru_cache(maxsize=1)
def default_model() -> LinearModel:
    return LinearModel.from_weights(load_weights())
