"""The text engine of the service queue: normalisation, moderation, classification.

Pure Python over two C pieces (pyahocorasick automata and `re`), no I/O, nothing
downloaded; importing it builds the automata once (a few milliseconds).
"""

from app.text.classifier import (
    KINDS,
    SENTIMENTS,
    TOPICS,
    Classification,
    classify,
    classify_many,
)
from app.text.moderation import ModerationResult, Moderator, default_moderator, moderate
from app.text.normalize import Normalized, normalize

__all__ = [
    "KINDS",
    "SENTIMENTS",
    "TOPICS",
    "Classification",
    "ModerationResult",
    "Moderator",
    "Normalized",
    "classify",
    "classify_many",
    "default_moderator",
    "moderate",
    "normalize",
]
