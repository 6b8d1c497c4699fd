"""Secrets never reach the logs (issue #19).

SQLAlchemy's engine is created with `hide_parameters=True` (app/db.py), so a failed
statement's message no longer lists its parameters (a password hash, an ingest key
digest). On top of that every log line, ours (structlog) and the libraries' (uvicorn,
SQLAlchemy, asyncio: stdlib logging, tracebacks included), passes `redact`, which
replaces what looks like a password hash, an access or viewer token, an ingest key, a
webhook secret, a `token=` query value or a bearer credential with `[redacted]`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

REDACTED = "[redacted]"
_PATTERNS = [
    (re.compile(r"\$argon2(?:id|i|d)\$[^\s'\",)\]]+"), REDACTED),
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+"), REDACTED),
    (re.compile(r"lcr_ik_[A-Za-z0-9_-]+"), REDACTED),
    (re.compile(r"whsec_[A-Za-z0-9_-]+"), REDACTED),
    (re.compile(r"(?i)((?:^|[?&\s])(?:token|key|password)=)[^&\s'\"]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/-]+=*"), r"\1" + REDACTED),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    return value


def redact_event(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    """structlog processor (after `format_exc_info`, so tracebacks are text by then)."""
    return {k: _redact_value(v) for k, v in event_dict.items()}


class RedactingFilter(logging.Filter):
    """stdlib logging: the message and any traceback, redacted before formatting."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "asyncio", "app")


def install_log_redaction() -> None:
    """Add the filter to the loggers that emit and to every handler they have now (a
    logger's filters do not see records propagated from its children; handlers do)."""
    flt = RedactingFilter()
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(flt)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(flt)
