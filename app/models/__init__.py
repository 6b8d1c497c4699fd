"""All ORM models, imported here so Alembic and the app see the whole metadata."""

from app.db import Base
from app.models.lineup import LineupItem, ListingStatus
from app.models.product import Product, QCStatus
from app.models.stream import Stream, StreamStatus
from app.models.user import Role, TeamMember, User

__all__ = [
    "Base",
    "LineupItem",
    "ListingStatus",
    "Product",
    "QCStatus",
    "Role",
    "Stream",
    "StreamStatus",
    "TeamMember",
    "User",
]
