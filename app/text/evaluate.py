"""Honest evaluation of the comment classifier: each part of the data on its own.

`python -m app.text.evaluate` prints accuracy, macro-F1 and per-class precision/recall
for kind, topic, sentiment and blocked on:

* the train batches and the development set (what the model learnt from: optimistic);
* the dev batches (looked at while choosing features and training settings);
* the held-out batches (never trained or tuned on: the honest figure);
* the three small other-vertical sets of tests/text/data (never trained on).

`--errors dev` lists the dev part's mistakes; the held-out part's are never printed.
How the batches are split: `app.text.dataset`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from app.text.classifier import classify
from app.text.dataset import (
    DEV_SET,
    EXTRA_DIR,
    EXTRA_SETS,
    Row,
    load_jsonl,
    load_part,
    split_batches,
    training_rows,
)
from app.text.model import KINDS, SENTIMENTS, TOPICS
from app.text.normalize import normalize

FIELDS = {"kind": KINDS, "topic": TOPICS, "sentiment": SENTIMENTS, "blocked": (True, False)}


def load(path: Path = DEV_SET) -> list[Row]:
    return load_jsonl(path)


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


def evaluate(rows: list[Row]) -> dict[str, FieldReport]:
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


def format_report(title: str, rows: list[Row]) -> str:
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


def errors(rows: list[Row]) -> list[str]:
    out = []
    for r in rows:
        p = classify(str(r["text"])).as_dict()
        wrong = [f"{f}:{r[f]}→{p[f]}" for f in FIELDS if r[f] != p[f]]
        if wrong:
            out.append(f"{r['text']}  [{', '.join(wrong)}]")
    return out


def unseen(rows: list[Row]) -> list[Row]:
    """The rows whose normalised text is not also a training text (「拍了」 recurs)."""
    seen = {normalize(str(r["text"])).compact for r in training_rows()}
    return [r for r in rows if normalize(str(r["text"])).compact not in seen]


def parts() -> list[tuple[str, list[Row]]]:
    held = load_part("held_out")
    named = [
        ("train batches + comments_dev (trained on)", load_part("train") + load_jsonl(DEV_SET)),
        ("dev batches (used for choices)", load_part("dev")),
        ("held-out batches (never trained or tuned on)", held),
        ("held-out batches, texts not also in training", unseen(held)),
    ]
    for name in EXTRA_SETS:
        path = EXTRA_DIR / f"{name}.jsonl"
        if path.exists():
            named.append((f"{name} (tests/text/data, not trained on)", load_jsonl(path)))
    return named


def main() -> None:
    split = split_batches()
    for part, paths in split.items():
        print(f"{part}: {', '.join(p.stem for p in paths)}")
    for title, rows in parts():
        print(format_report(title, rows))
    if "--errors" in sys.argv:
        for line in errors(load_part("dev")):
            print(line)


if __name__ == "__main__":
    main()
