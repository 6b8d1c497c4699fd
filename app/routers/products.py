"""The product catalog: create, read, update, CSV import and export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from app.deps import SessionDep, require_roles
from app.errors import AppError, Unprocessable
from app.models import QCStatus, Role, User
from app.schemas.products import ImportOut, ProductCreate, ProductOut, ProductUpdate
from app.services import products as products_service

router = APIRouter(prefix="/api/v1/products", tags=["catalog"])

CatalogWriter = Annotated[User, Depends(require_roles(Role.controller))]
CatalogReader = Annotated[
    User, Depends(require_roles(Role.controller, Role.host, Role.service, Role.analyst))
]
Exporter = Annotated[User, Depends(require_roles(Role.controller, Role.analyst))]


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"


@router.post(
    "",
    response_model=ProductOut,
    status_code=201,
    summary="Add a product to the catalog (admin, controller)",
    description="409 `sku_taken` when the SKU exists. `licensed: false` marks a 三无 "
    "product; QC-failed and unlicensed products cannot enter a lineup.",
)
async def create_product(body: ProductCreate, session: SessionDep, _: CatalogWriter) -> object:
    return await products_service.create_product(session, body)


@router.get(
    "",
    response_model=list[ProductOut],
    summary="List the catalog (staff)",
    description="`q` matches SKU or name; filters by category and QC status.",
)
async def list_products(
    session: SessionDep,
    _: CatalogReader,
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    qc_status: QCStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> object:
    return await products_service.list_products(session, q, category, qc_status, limit, offset)


CSV_DOC = (
    "Columns (header row required): "
    + ", ".join(products_service.CSV_COLUMNS)
    + ". Required: sku, name, list_price, stock. List cells separate items with `|`; "
    "`licensed` is true/false; money is a decimal such as 59.90. UTF-8 (with or without "
    "BOM) or GB18030."
)


@router.post(
    "/import",
    response_model=ImportOut,
    summary="Import products from CSV (admin, controller)",
    description="Send the file as `multipart/form-data` (field `file`) or as a `text/csv` "
    "body. New SKUs are created, known SKUs updated. Every row is validated first: any bad "
    'row → 422 `{"code": "csv_invalid", "errors": [{"line", "sku", "field", "reason"}]}` '
    "and nothing is imported. " + CSV_DOC,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def import_products(request: Request, session: SessionDep, _: CatalogWriter) -> object:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Unprocessable("the form needs a 'file' field with the CSV", code="csv_missing")
        raw = await upload.read(products_service.MAX_CSV_BYTES + 1)
    elif content_type in ("text/csv", "text/plain", "application/csv"):
        raw = await request.body()
    else:
        raise UnsupportedMediaType("send the CSV as text/csv or multipart/form-data (field 'file')")
    return await products_service.import_csv(session, raw)


@router.get(
    "/export",
    summary="Export the catalog as CSV (admin, controller, analyst)",
    description="The same columns the import reads, so an export can be edited and "
    "imported again. " + CSV_DOC,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_products(session: SessionDep, _: Exporter) -> Response:
    body = products_service.export_csv(await products_service.all_products(session))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="products.csv"'},
    )


@router.get("/{product_id}", response_model=ProductOut, summary="One product (staff)")
async def get_product(product_id: int, session: SessionDep, _: CatalogReader) -> object:
    return await products_service.get_product(session, product_id)


@router.patch(
    "/{product_id}",
    response_model=ProductOut,
    summary="Update a product (admin, controller)",
    description="Only the fields sent change.",
)
async def update_product(
    product_id: int, body: ProductUpdate, session: SessionDep, _: CatalogWriter
) -> object:
    return await products_service.update_product(session, product_id, body)
