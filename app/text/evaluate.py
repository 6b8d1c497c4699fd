"""Honest evaluation of the classifier: a fixed held-out split and per-class figures.

The development set is split by a hash of the comment text: about 30 % of it (`held_out`)
is never looked at while the cue lists are tuned; only `tuning` is. The split depends on
the text alone, so it is the same on every machine and run.

`python -m app.text.evaluate` prints the report for both parts and for the labelled
comments from other verticals in tests/text/data/.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson

from app.text.classifier import KINDS, SENTIMENTS, TOPICS, classify

DATA_DIR = Path(__file__).parent / "data"
DEV_SET = DATA_DIR / "comments_dev.jsonl"
FIELDS = {"kind": KINDS, "topic": TOPICS, "sentiment": SENTIMENTS, "blocked": (True, False)}


def load(path: Path = DEV_SET) -> list[dict[str, object]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(orjson.loads(line))
    return rows


def is_held_out(text: str) -> bool:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 10 < 3


def split(rows: list[dict[str, object]]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(tuning, held_out)"""
    tuning = [r for r in rows if not is_held_out(str(r["text"]))]
    held = [r for r in rows if is_held_out(str(r["text"]))]
    return tuning, held


@dataclass(frozen=True)
class ClassScore:
    label: str
    support: int
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


@dataclass(frozen=True)
class FieldReport:
    field: str
    accuracy: float
    classes: list[ClassScore]

    @property
    def macro_f1(self) -> float:
        scored = [c for c in self.classes if c.support]
        return sum(c.f1 for c in scored) / len(scored) if scored else 0.0


def evaluate(rows: list[dict[str, object]]) -> dict[str, FieldReport]:
    predictions = [classify(str(r["text"])).as_dict() for r in rows]
    reports = {}
    for field, labels in FIELDS.items():
        gold = [r[field] for r in rows]
        pred = [p[field] for p in predictions]
        correct = sum(g == p for g, p in zip(gold, pred, strict=True))
        classes = []
        for label in labels:
            tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
            n_pred = sum(p == label for p in pred)
            n_gold = sum(g == label for g in gold)
            classes.append(
                ClassScore(
                    str(label).lower(),
                    n_gold,
                    tp / n_pred if n_pred else (1.0 if not n_gold else 0.0),
                    tp / n_gold if n_gold else 1.0,
                )
            )
        reports[field] = FieldReport(field, correct / len(rows) if rows else 0.0, classes)
    return reports


def format_report(title: str, rows: list[dict[str, object]]) -> str:
    reports = evaluate(rows)
    lines = [f"## {title} ({len(rows)} comments)"]
    for report in reports.values():
        lines.append(
            f"{report.field}: accuracy {report.accuracy:.1%}, macro-F1 {report.macro_f1:.2f}"
        )
        for c in report.classes:
            lines.append(
                f"  {c.label:<12} n={c.support:<4} precision {c.precision:5.1%}"
                f"  recall {c.recall:5.1%}"
            )
    return "\n".join(lines)


def errors(rows: list[dict[str, object]]) -> list[str]:
    out = []
    for r in rows:
        p = classify(str(r["text"])).as_dict()
        wrong = [f"{f}:{r[f]}→{p[f]}" for f in FIELDS if r[f] != p[f]]
        if wrong:
            out.append(f"{r['text']}  [{', '.join(wrong)}]")
    return out


def main() -> None:
    tuning, held = split(load())
    print(format_report("dev set, tuning part", tuning))
    print(format_report("dev set, held-out part", held))
    extra = Path(__file__).parents[2] / "tests" / "text" / "data"
    for name in ("other_verticals", "fresh_verticals", "blind_verticals"):
        if (extra / f"{name}.jsonl").exists():
            print(format_report(f"{name} (hand-labelled)", load(extra / f"{name}.jsonl")))
    if "--errors" in sys.argv:
        for line in errors(tuning):
            print(line)


if __name__ == "__main__":
    main()
