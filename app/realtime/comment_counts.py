"""Running counts of a stream's comments by sentiment, kept incrementally.

The alerts engine asks about once a second how many negative comments a stream has had
(`negative_spike`); counting rows in the comments table for that grows with the
stream. Instead intake adds each committed batch's negatives to a counter: one Redis
`INCRBY` per batch in production (shared by every instance, so any instance's ticker
reads the same number) and a dict in embedded mode (one process).

The count is cumulative; the evaluator keeps its own short history and takes the
difference over its window, so a counter that starts at 0 after an embedded restart
only means the first window after it is measured from then.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import redis.asyncio as aioredis

COUNT_TTL_SECONDS = 3 * 24 * 3600


class CommentCounts(ABC):
    @abstractmethod
    async def add_negative(self, stream_id: int, n: int) -> None: ...

    @abstractmethod
    async def negative(self, stream_id: int) -> int: ...


class MemoryCommentCounts(CommentCounts):
    def __init__(self) -> None:
        self._negative: dict[int, int] = {}

    async def add_negative(self, stream_id: int, n: int) -> None:
        if n:
            self._negative[stream_id] = self._negative.get(stream_id, 0) + n

    async def negative(self, stream_id: int) -> int:
        return self._negative.get(stream_id, 0)


class RedisCommentCounts(CommentCounts):
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, stream_id: int) -> str:
        return f"{self._prefix}live:{{{stream_id}}}:negative_comments"

    async def add_negative(self, stream_id: int, n: int) -> None:
        if not n:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(self._key(stream_id), n)
            pipe.expire(self._key(stream_id), COUNT_TTL_SECONDS)
            await pipe.execute()

    async def negative(self, stream_id: int) -> int:
        raw = await self._redis.get(self._key(stream_id))
        return int(raw) if raw else 0
