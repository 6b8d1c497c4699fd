"""The product catalog (商品库): CRUD, and CSV import/export.

A CSV import is all or nothing: every row is validated first, each bad row is reported
with its line number and reason, and a file with any bad row imports nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AppError, Conflict, Unprocessable
from app.i18n import validation_problem
from app.models import Product, QCStatus
from app.schemas.common import format_money
from app.schemas.products import ImportOut, ProductCreate, ProductUpdate
from app.services.exports import safe_cell, unquote_cell
from app.services.stream_rows import get_or_404
from app.services.streams import model_values

LIST_FIELDS = ("selling_points", "usage_scenes", "competitor_differences", "image_urls")
CSV_COLUMNS = (
    "sku",
    "name",
    "category",
    "list_price",
    "cost",
    "stock",
    "brand",
    "supplier",
    "licensed",
    "qc_status",
    *LIST_FIELDS,
    "description",
)
REQUIRED_COLUMNS = ("sku", "name", "list_price", "stock")
LIST_SEPARATOR = "|"
MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_CSV_ROWS = 10_000
TRUE_WORDS = {"true", "1", "yes", "y", "是"}
FALSE_WORDS = {"false", "0", "no", "n", "否"}


class PayloadTooLarge(AppError):
    status_code = 413
    code = "file_too_large"


async def create_product(session: AsyncSession, data: ProductCreate) -> Product:
    if await session.scalar(select(Product.id).where(Product.sku == data.sku)) is not None:
        raise Conflict(f"SKU '{data.sku}' already exists", code="sku_taken", sku=data.sku)
    product = Product(**model_values(data))
    try:
        # A savepoint: a concurrent insert of the same SKU is a 409, not a broken session.
        async with session.begin_nested():
            session.add(product)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"SKU '{data.sku}' already exists", code="sku_taken", sku=data.sku) from exc
    return product


async def get_product(session: AsyncSession, product_id: int) -> Product:
    return await get_or_404(session, Product, product_id, "product")


async def update_product(session: AsyncSession, product_id: int, data: ProductUpdate) -> Product:
    product = await get_product(session, product_id)
    changes = model_values(data, only_set=True)
    for name in ("name", "list_price", "stock", "licensed", "qc_status"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} cannot be null", code="field_required", field=name)
    for name, value in changes.items():
        if value is None and name in LIST_FIELDS:
            value = []
        elif value is None and name in ("category", "brand", "supplier", "description"):
            value = ""
        setattr(product, name, value)
    await session.flush()
    return product


async def list_products(
    session: AsyncSession,
    q: str | None = None,
    category: str | None = None,
    qc_status: QCStatus | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Product]:
    query = select(Product).order_by(Product.id)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Product.sku.ilike(like), Product.name.ilike(like)))
    if category:
        query = query.where(Product.category == category)
    if qc_status is not None:
        query = query.where(Product.qc_status == qc_status)
    return list((await session.scalars(query.limit(limit).offset(offset))).all())


# --------------------------------------------------------------------------- CSV


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_CSV_BYTES:
        raise PayloadTooLarge(f"the file is larger than {MAX_CSV_BYTES} bytes")
    # Spreadsheets saved on Chinese Windows often use GB18030 rather than UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unprocessable("the file is neither UTF-8 nor GB18030 text", code="csv_encoding")


def _cell_to_value(column: str, cell: str) -> Any:
    cell = unquote_cell(cell.strip())
    if column in LIST_FIELDS:
        return [part.strip() for part in cell.split(LIST_SEPARATOR) if part.strip()]
    if column == "licensed":
        word = cell.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        return cell  # let validation report it
    return cell


def _row_errors(line: int, sku: str | None, exc: ValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int)) or None
        code, params = validation_problem(err, field or "")
        out.append(
            {
                "line": line,
                "sku": sku,
                "field": field,
                "reason": err.get("msg", ""),
                "code": code,
                "params": params,
            }
        )
    return out


def _header_error(field: str | None, reason: str, code: str) -> dict[str, Any]:
    return {"line": 1, "field": field, "reason": reason, "code": code, "params": {}}


def parse_csv(raw: bytes) -> list[tuple[int, ProductCreate]]:
    """Validate the whole file; raise 422 listing every bad row, or return all rows."""
    text = _decode(raw)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise Unprocessable("the file is empty: a header row is needed", code="csv_invalid")
    reader.fieldnames = header
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise Unprocessable(
            "the header row is wrong",
            code="csv_invalid",
            errors=[_header_error(c, "unknown column", "csv.unknown_column") for c in unknown]
            + [_header_error(c, "missing required column", "csv.missing_column") for c in missing]
            + (
                [_header_error(None, "duplicate column", "csv.duplicate_column")]
                if len(set(header)) != len(header)
                else []
            ),
            columns=list(CSV_COLUMNS),
        )
    rows: list[tuple[int, ProductCreate]] = []
    errors: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if len(rows) + len(errors) >= MAX_CSV_ROWS:
            raise PayloadTooLarge(f"at most {MAX_CSV_ROWS} rows per file")
        if None in record:
            errors.append(
                {
                    "line": line,
                    "sku": None,
                    "field": None,
                    "reason": "too many cells",
                    "code": "csv.too_many_cells",
                    "params": {},
                }
            )
            continue
        if all(not (v or "").strip() for v in record.values()):
            continue  # blank line
        values = {
            k: _cell_to_value(k, v or "")
            for k, v in record.items()
            if (v or "").strip() or k in REQUIRED_COLUMNS
        }
        sku = str(values.get("sku") or "") or None
        try:
            data = ProductCreate.model_validate(values)
        except ValidationError as exc:
            errors.extend(_row_errors(line, sku, exc))
            continue
        if data.sku in first_line:
            errors.append(
                {
                    "line": line,
                    "sku": data.sku,
                    "field": "sku",
                    "reason": f"SKU repeated (first on line {first_line[data.sku]})",
                    "code": "csv.sku_repeated",
                    "params": {"first_line": first_line[data.sku]},
                }
            )
            continue
        first_line[data.sku] = line
        rows.append((line, data))
    if errors:
        bad_lines = sorted({e["line"] for e in errors})
        raise Unprocessable(
            f"{len(bad_lines)} bad row(s); nothing was imported",
            code="csv_invalid",
            errors=errors,
        )
    if not rows:
        raise Unprocessable("the file has no product rows", code="csv_invalid", errors=[])
    return rows


async def import_csv(session: AsyncSession, raw: bytes) -> ImportOut:
    """Create new SKUs and update existing ones, all in the request's transaction."""
    rows = parse_csv(raw)
    skus = [data.sku for _, data in rows]
    existing = {
        p.sku: p for p in (await session.scalars(select(Product).where(Product.sku.in_(skus))))
    }
    created = updated = 0
    products: list[Product] = []
    for _, data in rows:
        product = existing.get(data.sku)
        if product is None:
            product = Product(**model_values(data))
            session.add(product)
            created += 1
        else:
            for name, value in model_values(data).items():
                setattr(product, name, value)
            updated += 1
        products.append(product)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "another import created some of these SKUs meanwhile; nothing was imported, "
            "send the file again",
            code="sku_taken",
        ) from exc
    return ImportOut(
        rows=len(rows), created=created, updated=updated, product_ids=[p.id for p in products]
    )


def _cell(product: Product, column: str) -> str:
    value = getattr(product, column)
    if column in LIST_FIELDS:
        return LIST_SEPARATOR.join(value)
    if column in ("list_price", "cost"):
        return "" if value is None else format_money(value)
    if column == "licensed":
        return "true" if value else "false"
    return str(value)


def export_csv(products: Sequence[Product]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for product in products:
        writer.writerow([safe_cell(_cell(product, c)) for c in CSV_COLUMNS])
    # The BOM lets Excel open the Chinese names as UTF-8; our import strips it.
    return "\ufeff" + out.getvalue()


async def all_products(session: AsyncSession) -> list[Product]:
    return list((await session.scalars(select(Product).order_by(Product.id))).all())
