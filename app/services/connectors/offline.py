"""`controlroom connector test MAPPING SAMPLES`: a mapping against recorded samples,
offline (no server, no database).

SAMPLES is a JSON file (or a folder of them) holding a list of samples:
`{"name", "headers": {...}, "payload": {...} | "body": "<raw text>", "expect": [...] | null,
"reply": {...}}`. `expect` lists the events the payload must become (in the ingest shape,
`product_sku` still unresolved); `null` means "no rule may match" (kept as unmapped);
no `expect`: just print what it becomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from app.services.connectors.mapping import (
    MAPPINGS_DIR,
    Mapping,
    MappingError,
    PayloadError,
    apply_mapping,
    load_mapping,
    shipped_mappings,
)


@dataclass
class SampleResult:
    name: str
    ok: bool
    rule: str | None
    events: list[dict[str, Any]]
    message: str = ""


def resolve_mapping(name_or_path: str) -> Mapping:
    path = Path(name_or_path)
    if path.exists():
        return load_mapping(path)
    shipped = shipped_mappings()
    if name_or_path in shipped:
        return shipped[name_or_path]
    candidate = MAPPINGS_DIR / f"{name_or_path}.yaml"
    if candidate.exists():
        return load_mapping(candidate)
    raise MappingError(
        f"no mapping file or shipped mapping {name_or_path!r} "
        f"(shipped: {', '.join(sorted(shipped))})"
    )


def load_samples(path: Path) -> list[dict[str, Any]]:
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    samples: list[dict[str, Any]] = []
    for f in files:
        try:
            data = orjson.loads(f.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise MappingError(f"{f}: {exc}") from exc
        if not isinstance(data, list):
            raise MappingError(f"{f}: a samples file is a JSON list")
        for i, s in enumerate(data):
            if not isinstance(s, dict) or not ("payload" in s or "body" in s):
                raise MappingError(f"{f}: sample {i} needs `payload` or `body`")
            s.setdefault("name", f"{f.name}#{i}")
            samples.append(s)
    return samples


def run_samples(mapping: Mapping, samples: list[dict[str, Any]]) -> list[SampleResult]:
    results = []
    for s in samples:
        name = str(s["name"])
        payload = s.get("payload")
        if payload is None:
            try:
                payload = orjson.loads(str(s["body"]))
            except orjson.JSONDecodeError as exc:
                results.append(SampleResult(name, False, None, [], f"body is not JSON: {exc}"))
                continue
        try:
            mapped = apply_mapping(mapping, payload, dict(s.get("headers") or {}))
        except PayloadError as exc:
            results.append(SampleResult(name, False, None, [], f"invalid: {exc}"))
            continue
        ok, message = True, ""
        if "expect" in s:
            expect = s["expect"]
            if expect is None:
                ok = mapped.rule is None
                message = "" if ok else f"expected no rule to match, got {mapped.rule!r}"
            elif mapped.events != expect:
                ok = False
                message = "events differ from `expect`"
        if ok and "reply" in s and mapped.reply != s["reply"]:
            ok, message = False, f"reply {mapped.reply!r} differs from {s['reply']!r}"
        results.append(SampleResult(name, ok, mapped.rule, mapped.events, message))
    return results
