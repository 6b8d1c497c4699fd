"""Request and response shapes of the review: meeting, highlights, surveys."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictInt, StrictStr, model_validator

from app.bounds import INT_MAX, INT_MIN
from app.models.review import ActionStatus, FindingKind
from app.schemas.common import Schema, StrictInput


class MetricOut(BaseModel):
    key: str
    name: str
    name_zh: str
    unit: str
    formula: str
    notes: str


class FindingIn(StrictInput):
    kind: FindingKind
    text: str = Field(min_length=1, max_length=5000)
    diagnosis_code: str | None = Field(default=None, max_length=64)


class FindingOut(Schema):
    id: int
    stream_id: int
    kind: FindingKind
    text: str
    diagnosis_code: str | None
    created_by: int | None
    created_at: datetime


class ActionIn(StrictInput):
    title: str = Field(min_length=1, max_length=300)
    detail: str = Field(default="", max_length=5000)
    owner_id: int | None = Field(default=None, description="A user on the stream's team")
    due_date: date | None = None
    finding_id: int | None = None
    status: ActionStatus = ActionStatus.open


class ActionPatch(StrictInput):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    detail: str | None = Field(default=None, max_length=5000)
    owner_id: int | None = None
    due_date: date | None = None
    status: ActionStatus | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> ActionPatch:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        return self


class ActionOut(Schema):
    id: int
    stream_id: int
    finding_id: int | None
    title: str
    detail: str
    owner_id: int | None
    due_date: date | None
    status: ActionStatus
    overdue: bool = False
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None


class CarryOverOut(BaseModel):
    """Open actions of the team's earlier streams, shown when planning the next one."""

    stream_id: int
    actions: list[CarryOverAction]


class CarryOverAction(ActionOut):
    stream_title: str


class HighlightIn(StrictInput):
    at: AwareDatetime = Field(description="The moment, RFC 3339 with a zone")
    duration_seconds: int = Field(default=60, ge=1, le=3600)
    note: str = Field(default="", max_length=2000)


class HighlightOut(BaseModel):
    id: int | None = Field(description="None for automatic markers")
    kind: Literal["manual", "gmv_peak", "comment_peak"]
    at: datetime
    offset_seconds: int | None = Field(description="Seconds from the stream's start")
    duration_seconds: int
    note: str
    value: str | None = Field(default=None, description="The peak's figure (automatic)")
    created_by: int | None = None


class SurveyQuestion(StrictInput):
    text: str = Field(min_length=1, max_length=500)
    kind: Literal["score", "text"] = "score"


class SurveyIn(StrictInput):
    title: str = Field(min_length=1, max_length=200)
    questions: list[SurveyQuestion] = Field(min_length=1, max_length=50)


class SurveyOut(Schema):
    id: int
    stream_id: int
    title: str
    questions: list[dict[str, Any]]
    created_at: datetime


class SurveyAnswerIn(StrictInput):
    """A viewer's own answers (the viewer is the token's)."""

    order_id: int | None = Field(
        default=None, description="The order it is about: one of the respondent's on this stream"
    )
    # Strict: JSON true or 4.0 is not a score, "5" is not a number.
    answers: list[Annotated[StrictInt, Field(ge=INT_MIN, le=INT_MAX)] | StrictStr | None] = Field(
        description="One answer per question: 1–5 for score questions, text otherwise"
    )


class SurveyResponseIn(SurveyAnswerIn):
    """Answers entered by customer service for a viewer."""

    viewer_id: str = Field(min_length=1, max_length=128)


class SurveyResponseOut(Schema):
    id: int
    survey_id: int
    viewer_id: str
    order_id: int | None
    answers: list[Any]
    score: float | None
    source: str = Field(description="`viewer` (answered on the watch page) or `staff` (entered)")
    entered_by: int | None = Field(default=None, description="The staff user who entered it")
    created_at: datetime


class ViewerSurveyOut(BaseModel):
    """A survey as the watch page shows it, with the viewer's own response if any."""

    id: int
    title: str
    questions: list[dict[str, Any]]
    answered: bool
    response: SurveyResponseOut | None


class QuestionResult(BaseModel):
    index: int
    text: str
    kind: str
    responses: int
    average: float | None = Field(description="Mean score (2 places), score questions")
    distribution: dict[str, int] | None = Field(description="Count per score 1–5")


class SurveyResultsOut(BaseModel):
    survey_id: int
    title: str
    responses: int
    average_score: float | None = Field(description="Mean of all score answers (2 places)")
    questions: list[QuestionResult]


class SegmentCount(BaseModel):
    tag: str
    viewers: int = Field(description="Viewers carrying the tag")


class ViewerSegmentsOut(BaseModel):
    stream_id: int
    viewers: int = Field(description="Viewers seen on the stream")
    rules: dict[str, str] = Field(description="Each tag's rule, in words")
    segments: list[SegmentCount]


CarryOverOut.model_rebuild()


class SourceShare(BaseModel):
    source: str = Field(
        description="feed, short_video, follow, search, private, ads, other or unknown"
    )
    viewers: int
    share: float = Field(description="Of the stream's unique viewers, 0–1")


class AudienceOut(BaseModel):
    """Who is watching, while the stream runs: the control console's audience figures."""

    stream_id: int
    viewers: int = Field(description="Unique viewers so far (the review's `viewers`)")
    avg_watch_seconds: float = Field(
        description="Average stay: watch time so far (open sessions counted up to now) ÷ viewers"
    )
    sources: list[SourceShare] = Field(description="Traffic sources, most viewers first")
