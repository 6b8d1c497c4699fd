"""All ORM models, imported here so Alembic and the app see the whole metadata."""

from app.db import Base
from app.models.aftersales import (
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    ReturnKind,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    ShipmentStatus,
    Survey,
    SurveyResponse,
)
from app.models.alerts import Alert, AlertLevel, AlertThresholds
from app.models.checklist import ChecklistItem, ChecklistKind, CheckStatus
from app.models.comments import BlockedWord, Comment, ViewerMute, WatchPin
from app.models.contingency import ContingencyPlan, Scenario
from app.models.controls import (
    ControlAction,
    Cue,
    CuePriority,
    Incident,
    IncidentType,
    SegmentCursor,
)
from app.models.events import IngestKey, StreamEvent, StreamMinute, StreamViewer
from app.models.lineup import LineupItem, ListingStatus
from app.models.lottery import Lottery, LotteryCondition, LotteryEntrant, LotteryStatus
from app.models.orders import (
    Coupon,
    CouponClaim,
    FlashSale,
    FlashSaleStatus,
    Order,
    OrderRequest,
    OrderRequestKind,
    OrderRequestStatus,
    OrderStatus,
)
from app.models.product import Product, QCStatus
from app.models.queue import FaqEntry, ItemStatus, QueueAsker, QueueItem, QuickReply
from app.models.review import (
    ActionStatus,
    FindingKind,
    Highlight,
    ReviewAction,
    ReviewFinding,
)
from app.models.rollups import (
    StreamOnlineMinute,
    StreamPresence,
    StreamProductMinute,
    StreamProductSecond,
    StreamSecond,
    StreamViewerPresence,
)
from app.models.script import ScriptSegment, SegmentKind
from app.models.selection import Criterion, ProductScore, SelectionWeight
from app.models.stream import (
    ALLOWED_TRANSITIONS,
    Campaign,
    GoalType,
    GoLiveOverride,
    Platform,
    Stream,
    StreamStatus,
)
from app.models.user import Role, TeamMember, User
from app.models.warmup import Channel, Reservation, WarmupCampaign

__all__ = [
    "ALLOWED_TRANSITIONS",
    "ActionStatus",
    "Alert",
    "AlertLevel",
    "AlertThresholds",
    "Base",
    "BlockedWord",
    "Campaign",
    "Channel",
    "CheckStatus",
    "ChecklistItem",
    "ChecklistKind",
    "Comment",
    "Complaint",
    "ComplaintCategory",
    "ComplaintStatus",
    "ContingencyPlan",
    "ControlAction",
    "Coupon",
    "CouponClaim",
    "Criterion",
    "Cue",
    "CuePriority",
    "FaqEntry",
    "FindingKind",
    "FlashSale",
    "FlashSaleStatus",
    "GoLiveOverride",
    "GoalType",
    "Highlight",
    "Incident",
    "IncidentType",
    "IngestKey",
    "ItemStatus",
    "LineupItem",
    "ListingStatus",
    "Lottery",
    "LotteryCondition",
    "LotteryEntrant",
    "LotteryStatus",
    "Order",
    "OrderRequest",
    "OrderRequestKind",
    "OrderRequestStatus",
    "OrderStatus",
    "Platform",
    "Product",
    "ProductScore",
    "QCStatus",
    "QueueAsker",
    "QueueItem",
    "QuickReply",
    "Reservation",
    "ReturnKind",
    "ReturnRequest",
    "ReturnStatus",
    "ReviewAction",
    "ReviewFinding",
    "Role",
    "Scenario",
    "ScriptSegment",
    "SegmentCursor",
    "SegmentKind",
    "SelectionWeight",
    "Shipment",
    "ShipmentStatus",
    "Stream",
    "StreamEvent",
    "StreamMinute",
    "StreamOnlineMinute",
    "StreamPresence",
    "StreamProductMinute",
    "StreamProductSecond",
    "StreamSecond",
    "StreamStatus",
    "StreamViewer",
    "StreamViewerPresence",
    "Survey",
    "SurveyResponse",
    "TeamMember",
    "User",
    "ViewerMute",
    "WarmupCampaign",
    "WatchPin",
]
