from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.deps import CurrentUser
from app.errors import JSONBody
from app.schemas.comments import ClassifyIn, ClassifyOut
from app.text import classify_many

router = APIRouter(prefix="/api/v1/comments", tags=["comments"])

# Below this many texts the work (≈40 µs each) is cheaper than a thread hop.
_THREAD_THRESHOLD = 200


@router.post(
    "/classify",
    response_model=ClassifyOut,
    summary="Classify comments: kind, topic, sentiment, blocked (any staff role)",
    description=(
        "Runs the service queue's text engine on up to 1000 texts and answers one result "
        "per text, in order. `kind` is question, complaint, purchase, praise, chitchat or "
        "spam; `topic` product, promo, logistics, after_sales, order or none; `sentiment` "
        "positive, neutral or negative; `blocked` says the global moderation filter would "
        "hide it (contact solicitation, links, phone numbers, ads, abuse, floods). "
        "More than 1000 texts or a non-string item → 422."
    ),
)
async def classify_comments(body: ClassifyIn, _: CurrentUser) -> JSONBody:
    texts = body.texts
    if len(texts) > _THREAD_THRESHOLD:
        results = await run_in_threadpool(classify_many, texts)
    else:
        results = classify_many(texts)
    return JSONBody({"results": [r.as_dict() for r in results]})
