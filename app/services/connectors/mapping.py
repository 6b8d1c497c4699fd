"""Declarative, versioned mappings from a platform's webhook payload to our events.

A mapping is a small YAML file (see app/connectors/mappings/*.yaml):

    name: shopify.orders            # what a connector names
    version: 1
    signature:                      # how the platform signs its request
      header: X-Shopify-Hmac-Sha256
      method: hmac-sha256           # hmac-sha256 | hmac-sha1 | sha256 | sha1 | md5
      encoding: base64              # hex | base64
      message: "{body}"             # what is signed: {body} {secret} {param.NAME}
    decode: [content]               # fields holding JSON *text*, parsed first
    rules:                          # the first rule whose `when` holds is used
      - when: [{header: X-Shopify-Topic, equals: orders/create}]
        each: line_items            # one set of events per element ($item)
        events:
          - type: order_created     # or {path: ..., map: {...}}
            fields:
              user_id: customer.id                       # a path
              order_id: {template: "{id}-{$item.id}"}
              product_sku: $item.sku                     # resolved to our product
              amount: {path: $item.price, money: yuan, times: $item.quantity}
              ts: {path: created_at, time: iso8601}

A field is a path (`a.b.0.c`, `$item.x`, `$header.Name`), or an object with one of
`path`, `template`, `const`, and optionally `map` (value map), `default`, `time`
(`iso8601`, `unix`, `unix_ms` or a strptime format, with `tz` such as "+08:00" for
zone-less times), `money` (`yuan`: a decimal; `fen`: integer cents), `times` (a path
to multiply the money by) and `string: true`. The result of each event is checked by
the same rules as `POST /events` (app/schemas/events.parse_event).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson
import yaml  # type: ignore[import-untyped]

MAPPINGS_DIR = Path(__file__).resolve().parent.parent.parent / "connectors" / "mappings"
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_MISSING = object()


class MappingError(ValueError):
    """The mapping file itself is wrong."""


class PayloadError(ValueError):
    """This payload could not be turned into events (the reason is kept with it)."""


@dataclass(frozen=True)
class Signature:
    header: str
    method: str = "hmac-sha256"
    encoding: str = "hex"
    message: str = "{body}"
    prefix: str = ""


@dataclass(frozen=True)
class Mapping:
    name: str
    version: int
    platform: str
    docs: list[str]
    signature: Signature | None
    decode: list[str]
    rules: list[dict[str, Any]]
    source: Path | None = None
    # Replay guard: a signed time in the payload ({path, time, max_age_seconds}); a
    # payload whose time is further from now is refused as stale.
    freshness: dict[str, Any] | None = None


def required_params(mapping: Mapping) -> list[str]:
    """The connector parameters the mapping's signature uses (`{param.NAME}`), e.g. an
    app key that is signed along with the body."""
    if mapping.signature is None:
        return []
    names = (m.group(1) for m in _PLACEHOLDER.finditer(mapping.signature.message))
    return sorted({n[6:] for n in names if n.startswith("param.")})


@dataclass
class Mapped:
    """What one payload became: events in the ingest shape (product_sku unresolved),
    the rule that matched (None: unmapped) and an optional reply body."""

    rule: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] | None = None


# --------------------------------------------------------------------------- loading


def load_mapping(path: Path | str) -> Mapping:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: {exc}") from exc
    return parse_mapping(raw, path)


def parse_mapping(raw: Any, source: Path | None = None) -> Mapping:
    where = str(source or "mapping")
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: a mapping is a YAML object")
    for key in ("name", "version", "rules"):
        if key not in raw:
            raise MappingError(f"{where}: `{key}` is required")
    if not isinstance(raw["version"], int) or raw["version"] < 1:
        raise MappingError(f"{where}: `version` is a positive integer")
    rules = raw["rules"]
    if not isinstance(rules, list) or not rules:
        raise MappingError(f"{where}: `rules` is a non-empty list")
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not ("events" in rule or "reply" in rule):
            raise MappingError(f"{where}: rule {i} needs `events` or `reply`")
        for ev in rule.get("events", []):
            if not isinstance(ev, dict) or "type" not in ev or "fields" not in ev:
                raise MappingError(f"{where}: rule {i}: each event needs `type` and `fields`")
    sig = raw.get("signature")
    signature = None
    if sig is not None:
        if not isinstance(sig, dict) or "header" not in sig:
            raise MappingError(f"{where}: `signature.header` is required")
        signature = Signature(
            header=str(sig["header"]),
            method=str(sig.get("method", "hmac-sha256")),
            encoding=str(sig.get("encoding", "hex")),
            message=str(sig.get("message", "{body}")),
            prefix=str(sig.get("prefix", "")),
        )
        if signature.method not in _DIGESTS and signature.method.removeprefix("hmac-") not in (
            _DIGESTS
        ):
            raise MappingError(f"{where}: unknown signature method {signature.method!r}")
        if signature.encoding not in ("hex", "base64"):
            raise MappingError(f"{where}: signature encoding is hex or base64")
    return Mapping(
        name=str(raw["name"]),
        version=int(raw["version"]),
        platform=str(raw.get("platform", "")),
        docs=[str(d) for d in raw.get("docs", [])],
        signature=signature,
        decode=[str(d) for d in raw.get("decode", [])],
        rules=rules,
        source=source,
        freshness=_freshness(raw.get("freshness"), where),
    )


def _freshness(raw: Any, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or "path" not in raw or "max_age_seconds" not in raw:
        raise MappingError(f"{where}: `freshness` needs path and max_age_seconds")
    return raw


def shipped_mappings() -> dict[str, Mapping]:
    """The mappings shipped in app/connectors/mappings, by name."""
    out: dict[str, Mapping] = {}
    for path in sorted(MAPPINGS_DIR.glob("*.yaml")):
        m = load_mapping(path)
        out[m.name] = m
    return out


# --------------------------------------------------------------------------- signature

_DIGESTS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}


def expected_signature(sig: Signature, secret: str, body: bytes, params: dict[str, str]) -> str:
    message = _fill_bytes(sig.message, body, secret, params)
    if sig.method.startswith("hmac-"):
        digest = hmac.new(secret.encode(), message, _DIGESTS[sig.method[5:]]).digest()
    else:
        digest = _DIGESTS[sig.method](message).digest()
    text = digest.hex() if sig.encoding == "hex" else base64.b64encode(digest).decode()
    return sig.prefix + text


def _fill_bytes(template: str, body: bytes, secret: str, params: dict[str, str]) -> bytes:
    out = b""
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        out += template[pos : m.start()].encode()
        name = m.group(1)
        if name == "body":
            out += body
        elif name == "secret":
            out += secret.encode()
        elif name.startswith("param."):
            out += params.get(name[6:], "").encode()
        else:
            raise MappingError(f"unknown placeholder {{{name}}} in signature message")
        pos = m.end()
    return out + template[pos:].encode()


def signature_ok(
    mapping: Mapping, secret: str, body: bytes, headers: dict[str, str], params: dict[str, str]
) -> bool:
    if mapping.signature is None:
        return True
    given = _header(headers, mapping.signature.header)
    if not given:
        return False
    want = expected_signature(mapping.signature, secret, body, params)
    if mapping.signature.encoding == "hex":
        given, want = given.lower(), want.lower()
    return hmac.compare_digest(given.strip().encode(), want.encode())


def _header(headers: dict[str, str], name: str) -> str | None:
    lower = name.lower()
    for k, v in headers.items():
        if k.lower() == lower:
            return v
    return None


# --------------------------------------------------------------------------- mapping


def _decoded(mapping: Mapping, payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise PayloadError("the payload is not a JSON object")
    doc = dict(payload)
    for key in mapping.decode:
        value = doc.get(key)
        if isinstance(value, str):
            try:
                doc[key] = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise PayloadError(f"`{key}` is not JSON text: {exc}") from exc
    return doc


def stale_reason(
    mapping: Mapping, payload: Any, headers: dict[str, str], now: datetime
) -> str | None:
    """Why a (correctly signed) payload is too old to accept, or None. A payload without
    the time (e.g. a platform's URL check) passes: its signature still had to hold."""
    if mapping.freshness is None:
        return None
    spec = mapping.freshness
    try:
        doc = _decoded(mapping, payload)
    except PayloadError:
        return None  # the mapping step reports it
    value = _get(doc, str(spec["path"]), headers, None)
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(_time(value, str(spec.get("time", "unix")), None, "time"))
    except PayloadError as exc:
        return str(exc)
    age = abs((now - ts).total_seconds())
    if age > float(spec["max_age_seconds"]):
        return f"stale: signed time {ts.isoformat()} is {age:.0f} s from now"
    return None


def apply_mapping(mapping: Mapping, payload: Any, headers: dict[str, str]) -> Mapped:
    """The events of one payload; PayloadError when a matching rule cannot be applied."""
    doc = _decoded(mapping, payload)
    for i, rule in enumerate(mapping.rules):
        if not all(_holds(cond, doc, headers) for cond in rule.get("when", [])):
            continue
        name = str(rule.get("name", f"rule {i}"))
        out = Mapped(rule=name)
        if "reply" in rule:
            out.reply = {
                k: _value(spec, doc, headers, None, k) for k, spec in rule["reply"].items()
            }
        items: list[Any] = [None]
        if "each" in rule:
            found = _get(doc, str(rule["each"]), headers, None)
            if not isinstance(found, list):
                raise PayloadError(f"{name}: `{rule['each']}` is not a list")
            items = found
        for item in items:
            for ev in rule.get("events", []):
                kind = ev["type"]  # a literal type, or {path, map} read from the payload
                event = {
                    "type": kind
                    if isinstance(kind, str)
                    else _value(kind, doc, headers, item, "type")
                }
                for fname, spec in ev["fields"].items():
                    v = _value(spec, doc, headers, item, fname)
                    if v is not None:
                        event[fname] = v
                out.events.append(event)
        return out
    return Mapped(rule=None)


def _holds(cond: dict[str, Any], doc: Any, headers: dict[str, str]) -> bool:
    if "header" in cond:
        value: Any = _header(headers, str(cond["header"]))
    else:
        value = _get(doc, str(cond.get("path", "")), headers, None)
    if "equals" in cond:
        return value is not None and str(value) == str(cond["equals"])
    if "in" in cond:
        return value is not None and str(value) in {str(v) for v in cond["in"]}
    if "exists" in cond:
        return (value is not None) == bool(cond["exists"])
    raise MappingError(f"a condition needs equals, in or exists: {cond}")


def _get(doc: Any, path: str, headers: dict[str, str], item: Any) -> Any:
    if path.startswith("$header."):
        return _header(headers, path[8:])
    node = doc
    parts = path.split(".")
    if parts[0] == "$item":
        node, parts = item, parts[1:]
    for part in parts:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
        if node is None:
            return None
    return node


def _value(spec: Any, doc: Any, headers: dict[str, str], item: Any, name: str) -> Any:
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict):
        return spec  # a literal number or boolean
    if "const" in spec:
        value: Any = spec["const"]
    elif "template" in spec:
        value = _template(str(spec["template"]), doc, headers, item, name)
    elif "path" in spec:
        value = _get(doc, str(spec["path"]), headers, item)
    else:
        raise MappingError(f"field {name}: needs path, template or const")
    if "map" in spec and value is not None:
        table = {str(k): v for k, v in spec["map"].items()}
        value = table.get(str(value), spec.get("default"))
    if value is None:
        value = spec.get("default")
        if value is None:
            return None
    if "time" in spec:
        value = _time(value, str(spec["time"]), spec.get("tz"), name)
    if "money" in spec:
        value = _money(value, str(spec["money"]), spec.get("times"), doc, headers, item, name)
    if spec.get("string") or name in ("user_id", "order_id", "event_id", "product_sku"):
        if isinstance(value, bool):
            raise PayloadError(f"{name}: expected text or a number, got {value!r}")
        if isinstance(value, int | float | Decimal):
            value = str(value)
    return value


def _template(template: str, doc: Any, headers: dict[str, str], item: Any, name: str) -> str:
    def fill(m: re.Match[str]) -> str:
        v = _get(doc, m.group(1), headers, item)
        if v is None:
            raise PayloadError(f"{name}: `{m.group(1)}` is missing")
        return str(v)

    return _PLACEHOLDER.sub(fill, template)


def _time(value: Any, fmt: str, tz: Any, name: str) -> str:
    zone = UTC
    if tz:
        sign = -1 if str(tz).startswith("-") else 1
        hh, mm = str(tz).lstrip("+-").split(":")
        zone = timezone(sign * timedelta(hours=int(hh), minutes=int(mm)))
    try:
        if fmt in ("unix", "unix_ms"):
            seconds = float(value) / (1000 if fmt == "unix_ms" else 1)
            ts = datetime.fromtimestamp(seconds, UTC)
        elif fmt == "iso8601":
            ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        else:
            ts = datetime.strptime(str(value), fmt)
    except (ValueError, TypeError, OverflowError) as exc:
        raise PayloadError(f"{name}: {value!r} is not a {fmt} time") from exc
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=zone)
    return ts.astimezone(UTC).isoformat()


def _money(
    value: Any, unit: str, times: Any, doc: Any, headers: dict[str, str], item: Any, name: str
) -> str:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise PayloadError(f"{name}: {value!r} is not an amount") from exc
    if unit == "fen":
        amount = amount / 100
    elif unit != "yuan":
        raise MappingError(f"field {name}: money is yuan or fen")
    if times is not None:
        factor = _get(doc, str(times), headers, item)
        try:
            amount *= Decimal(str(factor))
        except InvalidOperation as exc:
            raise PayloadError(f"{name}: `{times}` is not a number") from exc
    return f"{amount.quantize(Decimal('0.01')):.2f}"
