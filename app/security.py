"""Password hashing (argon2) and access tokens (PyJWT)."""

from __future__ import annotations

import os
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
    """The token's claims, or None when it is invalid, expired or of another kind."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "typ"]}
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != kind:
        return None
    return claims
