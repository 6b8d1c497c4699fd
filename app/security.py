"""Password hashing (argon2) and access tokens (PyJWT, with a cache of verified tokens)."""

from __future__ import annotations

import contextlib
import os
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
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

    Verification is PyJWT's, and a pure function of (secret, token) and the clock; tokens
    carry no revocation (a staff token's user is checked against the database by the
    caller), so verified claims are remembered in a small LRU keyed by the raw token: a
    viewer who taps "buy" again, or a request that passes the flash-sale fast path and
    then the endpoint, is verified once. A remembered token still expires at its `exp`.
    """
    claims = _verified(secret, token)
    if claims is None or claims.get("typ") != kind:
        return None
    return dict(claims)


TOKEN_CACHE_SIZE = 8192
_cache: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()


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
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "typ"]}
        )
    except jwt.PyJWTError:
        return None
    if type(claims.get("exp")) is not int:
        return claims  # valid per PyJWT but of an odd shape: not remembered
    _cache[cache_key] = claims
    if len(_cache) > TOKEN_CACHE_SIZE:
        _cache.popitem(last=False)
    return claims
