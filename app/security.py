"""Password hashing (argon2) and access tokens (PyJWT, and a verifier for our own shape)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import orjson
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"


def _make_hasher() -> PasswordHash:
    """argon2 with the library's safe defaults.

    The test suite (and only it) sets LCR_FAST_PASSWORD_HASH=1 for cheap parameters:
    it creates hundreds of users on two shared cores. Hashes carry their parameters,
    so either kind verifies with either hasher.
    """
    if os.environ.get("LCR_FAST_PASSWORD_HASH") == "1":
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    return PasswordHash((Argon2Hasher(),))


_hasher = _make_hasher()
# Verifying against this keeps the timing of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:
        return False


def create_token(
    secret: str, subject: str, kind: str, ttl: timedelta, **claims: Any
) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires = now + ttl
    payload = {"sub": subject, "typ": kind, "iat": now, "exp": expires, **claims}
    return jwt.encode(payload, secret, algorithm=ALGORITHM), expires


def decode_token(secret: str, token: str, kind: str) -> dict[str, Any] | None:
    """The token's claims, or None when it is invalid, expired or of another kind.

    Decoding is a pure function of (secret, token) and the clock, and tokens carry no
    revocation (a staff token's user is checked against the database by the caller), so
    verified claims are remembered in a small LRU keyed by the raw token: a viewer who
    taps "buy" again, or a request that passes the flash-sale fast path and then the
    endpoint, is verified once. A remembered token still expires at its `exp`. Tokens
    shaped exactly like ours are verified without PyJWT (`_decode_ours`, ~5 µs instead
    of ~30 µs); anything else goes to PyJWT, which stays the reference.
    """
    claims = _verified(secret, token)
    if claims is None or claims.get("typ") != kind:
        return None
    return dict(claims)


TOKEN_CACHE_SIZE = 8192
_cache: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_DEFER = object()  # _decode_ours: "not a token of our exact shape, ask PyJWT"
# What PyJWT's encode writes for HS256: {"alg":"HS256","typ":"JWT"}
_OUR_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
# Claims whose every check _decode_ours repeats; a token with any other claim (nbf,
# aud, iss, jti, ...) is left to PyJWT.
_OUR_CLAIMS = frozenset({"sub", "typ", "iat", "exp", "stream_id", "stream"})
_hmac_keys: dict[str, Any] = {}


def _verified(secret: str, token: str) -> dict[str, Any] | None:
    """Claims of a validly signed, unexpired token (any kind), remembered."""
    cache_key = (secret, token)
    claims = _cache.get(cache_key)
    if claims is not None:
        if claims["exp"] <= time.time():  # PyJWT: expired when exp <= now
            _cache.pop(cache_key, None)
            return None
        with contextlib.suppress(KeyError):  # evicted meanwhile (a worker thread's)
            _cache.move_to_end(cache_key)
        return claims
    found = _decode_ours(secret, token)
    if found is _DEFER:
        try:
            claims = jwt.decode(
                token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "typ"]}
            )
        except jwt.PyJWTError:
            return None
    elif found is None:
        return None
    else:
        assert isinstance(found, dict)
        claims = found
    if type(claims.get("exp")) is not int:
        return claims  # valid per PyJWT but of an odd shape: not remembered
    _cache[cache_key] = claims
    if len(_cache) > TOKEN_CACHE_SIZE:
        _cache.popitem(last=False)
    return claims


def _decode_ours(secret: str, token: str) -> object:
    """A token exactly as `create_token` writes it: its claims, or None where PyJWT would
    refuse it too (bad signature, expired, not yet valid, missing claims); `_DEFER` for
    anything of another shape, so that PyJWT decides. Never accepts what PyJWT refuses."""
    header, dot, rest = token.partition(".")
    if header != _OUR_HEADER or not dot:
        return _DEFER
    payload, dot, signature = rest.partition(".")
    if not dot or "." in signature:
        return _DEFER
    mac = _hmac_keys.get(secret)
    if mac is None:
        mac = _hmac_keys[secret] = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    mac = mac.copy()
    mac.update(f"{header}.{payload}".encode())
    expected = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=")
    try:
        if not hmac.compare_digest(expected, signature.encode("ascii")):
            return _DEFER  # PyJWT decides (and refuses); also any odd base64 spelling
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = orjson.loads(raw)
    except (ValueError, UnicodeEncodeError, orjson.JSONDecodeError):
        return _DEFER
    if type(claims) is not dict or not claims.keys() <= _OUR_CLAIMS:
        return _DEFER
    exp, iat, sub = claims.get("exp"), claims.get("iat", 0), claims.get("sub")
    if type(exp) is not int or type(iat) is not int or type(sub) is not str:
        return _DEFER
    if claims.get("typ") is None:
        return None  # a required claim is missing
    now = time.time()
    if exp <= now or iat > now:  # expired, or issued in the future
        return None
    return claims
