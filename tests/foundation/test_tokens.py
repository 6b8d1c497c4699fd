"""Token verification (app/security.py): PyJWT verifies, the cache of verified tokens
answers exactly what PyJWT answers, and a remembered token still expires."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from app import security
from app.security import create_token, decode_token

SECRET = "test-secret-key-0123456789abcdef0123456789abcdef0123456789abcdef"
OTHER = "another-secret-key-0123456789abcdef0123456789abcdef0123456789ab"


def _pyjwt(secret: str, token: str, kind: str) -> dict[str, Any] | None:
    """The reference: what decode_token answered before it had a verifier or a cache."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "typ"]}
        )
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == kind else None


def _encode(payload: dict[str, Any], secret: str | None = SECRET, **kw: Any) -> str:
    return jwt.encode(payload, secret, algorithm=kw.pop("algorithm", "HS256"), **kw)


def _tokens() -> list[tuple[str, str]]:
    now = int(time.time())
    base = {"sub": "v-1", "typ": "viewer", "iat": now, "exp": now + 600, "stream_id": 5}
    valid = _encode(base)
    head, payload, sig = valid.split(".")
    cases = [
        ("ours", valid),
        ("ours, access", create_token(SECRET, "7", "access", timedelta(minutes=5))[0]),
        ("expired", _encode({**base, "exp": now - 1})),
        ("expires now", _encode({**base, "exp": now})),
        ("issued in the future", _encode({**base, "iat": now + 600})),
        ("not before, future", _encode({**base, "nbf": now + 600})),
        ("not before, past", _encode({**base, "nbf": now - 60})),
        ("audience", _encode({**base, "aud": "someone"})),
        ("issuer", _encode({**base, "iss": "someone"})),
        ("jti not a string", _encode({**base, "jti": 5})),
        ("sub not a string", _encode({**base, "sub": 5})),
        ("sub missing", _encode({k: v for k, v in base.items() if k != "sub"})),
        ("typ missing", _encode({k: v for k, v in base.items() if k != "typ"})),
        ("typ null", _encode({**base, "typ": None})),
        ("exp missing", _encode({k: v for k, v in base.items() if k != "exp"})),
        ("exp a string", _encode({**base, "exp": str(now + 600)})),
        ("exp a float", _encode({**base, "exp": now + 600.5})),
        ("iat a float", _encode({**base, "iat": now - 0.5})),
        ("extra claim", _encode({**base, "role": "admin"})),
        ("other secret", _encode(base, OTHER)),
        ("HS384", _encode(base, algorithm="HS384")),
        ("kid header", _encode(base, headers={"kid": "1"})),
        ("alg none", _encode(base, None, algorithm="none")),
        ("signature cut", f"{head}.{payload}.{sig[:-2]}"),
        ("signature padded", f"{head}.{payload}.{sig}="),
        ("payload tampered", f"{head}.{payload[:-2]}xx.{sig}"),
        ("four parts", f"{valid}.x"),
        ("garbage", "not-a-token"),
        ("empty", ""),
        ("payload not json", f"{head}.{'bm90IGpzb24'}.{sig}"),
    ]
    return cases


@pytest.mark.parametrize(("name", "token"), _tokens())
def test_decode_token_answers_what_pyjwt_answers(name: str, token: str) -> None:
    security._cache.clear()
    for kind in ("viewer", "access"):
        for secret in (SECRET, OTHER):
            expected = _pyjwt(secret, token, kind)
            assert decode_token(secret, token, kind) == expected, (name, kind, secret)
            # and again, from the cache if it was remembered
            assert decode_token(secret, token, kind) == expected, (name, kind, secret)


def test_a_token_is_verified_by_pyjwt_once(monkeypatch: pytest.MonkeyPatch) -> None:
    token, _ = create_token(SECRET, "v-2", "viewer", timedelta(minutes=5), stream_id=3)
    calls: list[str] = []
    real = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    security._cache.clear()
    for _ in range(3):
        claims = decode_token(SECRET, token, "viewer")
        assert claims is not None and claims["sub"] == "v-2" and claims["stream_id"] == 3
    assert calls == [token]
    assert decode_token("another-secret-0123456789abcdef", token, "viewer") is None


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    security._cache.clear()
    token, expires = create_token(SECRET, "v-3", "viewer", timedelta(seconds=30), stream_id=3)
    assert decode_token(SECRET, token, "viewer") is not None
    assert (SECRET, token) in security._cache
    later = expires.timestamp() + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert decode_token(SECRET, token, "viewer") is None
    assert (SECRET, token) not in security._cache
    # and the callers' view: an expired viewer token is 401, not a cached success
    assert datetime.fromtimestamp(later, UTC) > expires


def test_the_cache_is_bounded_and_keyed_by_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "TOKEN_CACHE_SIZE", 50)
    security._cache.clear()
    tokens = [
        create_token(SECRET, f"v-{i}", "viewer", timedelta(minutes=5), stream_id=1)[0]
        for i in range(120)
    ]
    for t in tokens:
        assert decode_token(SECRET, t, "viewer") is not None
    assert len(security._cache) == 50
    assert (SECRET, tokens[-1]) in security._cache and (SECRET, tokens[0]) not in security._cache
    # the same token under another secret is not taken from the cache
    assert decode_token(OTHER, tokens[-1], "viewer") is None
    # a caller changing its copy of the claims does not change the cache
    claims = decode_token(SECRET, tokens[-1], "viewer")
    assert claims is not None
    claims["sub"] = "someone-else"
    assert (decode_token(SECRET, tokens[-1], "viewer") or {})["sub"] == "v-119"
