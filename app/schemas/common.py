"""Shared field types: money as a two-place decimal string, aware datetimes."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.bounds import bound_model_fields, check_text

CENT = Decimal("0.01")
MAX_MONEY = Decimal("100000000")


def _money_error(kind: str, message: str) -> PydanticCustomError:
    """A money problem with its own error type, so it has a catalogue code
    (`validation.money_*` in app/i18n.py) and is worded in the reader's language."""
    return PydanticCustomError(kind, message)


def parse_money(value: Any) -> Decimal:
    """Accept "59.90", "59.9", "60" or 60; refuse floats, negatives and sub-cent values."""
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, bool | float):
        raise _money_error(
            "money_float", 'money must be a decimal string such as "59.90", not a float'
        )
    elif isinstance(value, int | str):
        try:
            dec = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise _money_error("money_not_decimal", "not a decimal amount") from exc
    else:
        raise _money_error("money_float", 'money must be a decimal string such as "59.90"')
    if not dec.is_finite():
        raise _money_error("money_not_decimal", "money must be finite")
    if dec < 0:
        raise _money_error("money_negative", "money must not be negative")
    if dec >= MAX_MONEY:
        raise _money_error("money_too_large", "amount too large")
    if dec != dec.quantize(CENT):
        raise _money_error("money_cents", "money has at most two decimal places")
    return dec.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal | int | str) -> str:
    return f"{Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP):.2f}"


Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(format_money, return_type=str, when_used="always"),
]

Timestamp = AwareDatetime


class Schema(BaseModel):
    """Base for response models read from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class TextChecked(BaseModel):
    """Strings anywhere in the body must not hold control characters (app/bounds.py)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return check_text(value)


class StrictInput(TextChecked):
    """Base for request bodies: unknown fields are an error, not silently dropped.

    Integer fields get the database's bounds (`DbInt`, app/bounds.py) unless they
    declare narrower ones.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if bound_model_fields(cls):
            cls.model_rebuild(force=True, raise_errors=False)
