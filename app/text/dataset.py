"""The labelled comments the model is trained and judged on, and how they are split.

`app/text/data/labelled/bNN_<verticals>.txt` are batches of comments written by hand for
this project, one batch per group of verticals, one comment a line: `KTS text`, where

* K is the kind: q question, c complaint, p purchase, r praise, h chit-chat, s spam;
* T the topic: p product, m promo, l logistics, a after_sales, o order, - none;
* S the sentiment: + positive, 0 neutral, - negative;

and `blocked` is true exactly for spam. Lines starting with `#` are comments.

The split is by **batch** (so by vertical and by writing session), never by line: near
duplicates written in one sitting cannot straddle train and test. A fixed seed picks the
held-out batches; they are never used to train, tune thresholds or choose features —
`python -m app.text.evaluate` is the only thing that reads them, and it prints their
figures, not their errors. The 420 comments of `comments_dev.jsonl` are training data
too; the three small sets in `tests/text/data/` are kept out of training as further
unseen checks.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson

DATA_DIR = Path(__file__).parent / "data"
LABELLED_DIR = DATA_DIR / "labelled"
DEV_SET = DATA_DIR / "comments_dev.jsonl"
EXTRA_DIR = Path(__file__).parents[2] / "tests" / "text" / "data"
EXTRA_SETS = ("other_verticals", "fresh_verticals", "blind_verticals")

SPLIT_SEED = 14
N_HELD_OUT = 3
N_DEV = 2

_KIND = {
    "q": "question",
    "c": "complaint",
    "p": "purchase",
    "r": "praise",
    "h": "chitchat",
    "s": "spam",
}
_TOPIC = {
    "p": "product",
    "m": "promo",
    "l": "logistics",
    "a": "after_sales",
    "o": "order",
    "-": "none",
}
_SENTIMENT = {"+": "positive", "0": "neutral", "-": "negative"}

Row = dict[str, object]


def parse_line(line: str) -> Row:
    code, _, text = line.partition(" ")
    if len(code) != 3 or not text.strip():
        raise ValueError(f"not a labelled line: {line!r}")
    kind = _KIND[code[0]]
    return {
        "text": text.strip(),
        "kind": kind,
        "topic": _TOPIC[code[1]],
        "sentiment": _SENTIMENT[code[2]],
        "blocked": kind == "spam",
    }


def load_batch(path: Path) -> list[Row]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            rows.append(parse_line(line))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path.name}:{number}: {exc}") from exc
    return rows


def load_jsonl(path: Path) -> list[Row]:
    return [
        orjson.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def batches() -> list[Path]:
    return sorted(LABELLED_DIR.glob("b*.txt"))


def split_batches() -> dict[str, list[Path]]:
    """{"train": [...], "dev": [...], "held_out": [...]} by a fixed seed over batch names."""
    names = batches()
    order = list(names)
    random.Random(SPLIT_SEED).shuffle(order)
    held = sorted(order[:N_HELD_OUT])
    dev = sorted(order[N_HELD_OUT : N_HELD_OUT + N_DEV])
    train = sorted(p for p in names if p not in held and p not in dev)
    return {"train": train, "dev": dev, "held_out": held}


def load_part(part: str) -> list[Row]:
    rows: list[Row] = []
    for path in split_batches()[part]:
        rows.extend(load_batch(path))
    return rows


def training_rows() -> list[Row]:
    """What the model learns from: the train batches and the development set."""
    return load_part("train") + load_jsonl(DEV_SET)
