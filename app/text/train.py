"""Train the comment model: `python -m app.text.train` writes app/text/data/model.json.gz.

Multinomial logistic regression, one softmax head each for kind, topic and sentiment,
over the features of `app.text.model.features`, trained by averaged stochastic gradient
descent (fixed seed and order: the same data gives the same file, byte for byte).
Classes are weighted by the inverse square root of their frequency so the rarer kinds
(praise, purchase) are not drowned by questions; features seen in fewer than two
training comments are dropped (they would only memorise one line).

Trains on the train batches and the development set only (`dataset.training_rows`);
the dev and held-out batches are never read here.
"""

from __future__ import annotations

import gzip
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

from app.text.classifier import cue_features
from app.text.dataset import Row, training_rows
from app.text.model import HEADS, MODEL_PATH, N_OUT, SCALE, features
from app.text.moderation import default_moderator
from app.text.normalize import normalize

SEED = 20261205
EPOCHS = 14
LEARNING_RATE = 0.25
MIN_COUNT = 2


def featurize(text: str) -> list[str]:
    n = normalize(text)
    return features(n, cue_features(n, default_moderator().check(text, n)))


def _class_weights(rows: list[Row]) -> list[dict[str, float]]:
    out = []
    for field, labels in HEADS:
        counts = Counter(str(r[field]) for r in rows)
        total = sum(counts.values())
        out.append(
            {
                lab: math.sqrt(total / (len(labels) * counts[lab])) if counts[lab] else 0.0
                for lab in labels
            }
        )
    return out


def train(rows: list[Row], epochs: int = EPOCHS, seed: int = SEED) -> dict[str, list[float]]:
    examples = []
    doc_freq: Counter[str] = Counter()
    for r in rows:
        feats = featurize(str(r["text"]))  # with repeats: scoring counts them too
        doc_freq.update(set(feats))
        examples.append((feats, r))
    keep = {f for f, c in doc_freq.items() if c >= MIN_COUNT}
    weights_by_head = _class_weights(rows)
    offsets = []
    start = 0
    for _field, labels in HEADS:
        offsets.append(start)
        start += len(labels)
    prepared = []
    for feats, r in examples:
        kept = [f for f in feats if f in keep]
        targets = []
        for (field, head_labels), off, head_weights in zip(
            HEADS, offsets, weights_by_head, strict=True
        ):
            label = str(r[field])
            targets.append((off, len(head_labels), head_labels.index(label), head_weights[label]))
        prepared.append((kept, targets))

    w: dict[str, list[float]] = {f: [0.0] * N_OUT for f in keep}
    u: dict[str, list[float]] = {f: [0.0] * N_OUT for f in keep}  # for the average
    rng = random.Random(seed)
    order = list(range(len(prepared)))
    step = 1
    for epoch in range(epochs):
        rng.shuffle(order)
        lr = LEARNING_RATE / (1 + epoch * 0.3)
        for i in order:
            kept, targets = prepared[i]
            rows_w = [w[f] for f in kept]
            logits = [0.0] * N_OUT
            for vec in rows_w:
                for j in range(N_OUT):
                    logits[j] += vec[j]
            grad = [0.0] * N_OUT
            for off, size, gold, weight in targets:
                head = logits[off : off + size]
                top = max(head)
                exps = [math.exp(x - top) for x in head]
                z = sum(exps)
                for j in range(size):
                    grad[off + j] = weight * ((exps[j] / z) - (1.0 if j == gold else 0.0))
            scale = lr / math.sqrt(len(kept))
            for f, vec in zip(kept, rows_w, strict=True):
                acc = u[f]
                for j in range(N_OUT):
                    g = grad[j]
                    if g:
                        d = scale * g
                        vec[j] -= d
                        acc[j] -= step * d
            step += 1
    averaged = {}
    for f in keep:
        vec = [wv - uv / step for wv, uv in zip(w[f], u[f], strict=True)]
        if any(abs(x) * SCALE >= 1 for x in vec):
            averaged[f] = vec
    return averaged


def save(weights: dict[str, list[float]], path: Path = MODEL_PATH) -> None:
    data = {
        "format": "lcr-comment-linear/1",
        "heads": [[field, list(labels)] for field, labels in HEADS],
        "scale": SCALE,
        "weights": {f: [round(x * SCALE) for x in weights[f]] for f in sorted(weights)},
    }
    raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


def main() -> None:
    rows = training_rows()
    started = time.process_time()
    weights = train(rows)
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL_PATH
    save(weights, out)
    print(
        f"trained on {len(rows)} comments: {len(weights)} features kept, "
        f"{time.process_time() - started:.1f} s CPU → {out}"
    )


if __name__ == "__main__":
    main()
