"""The OpenAPI's error schema says what the error bodies really are (issue #19).

FastAPI documents every 422 as `{"detail": [{"loc", "msg", "type"}]}`. This app's error
bodies (app/errors.py) are `{"detail": str | [problem], "code": str, ...}`: request
validation lists each problem with its `field`, while a 422 raised by a service (a bad
CSV row, a wrong current password) may say it in one sentence, and a bad ingest batch
lists `{"index", "reason"}` per event. The generated schema is
rewritten to that shape, so clients and schema checks (tests/security/test_schemathesis.py)
see what they get.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

FIELD_PROBLEM = {
    "title": "ValidationError",
    "type": "object",
    "required": ["loc", "msg", "type"],
    "properties": {
        "loc": {
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "description": "Where: body/query/path, then the field's path",
        },
        "field": {"type": "string", "description": "The field's dotted name"},
        "msg": {"type": "string"},
        "type": {"type": "string"},
    },
}
BATCH_PROBLEM = {
    "title": "BatchProblem",
    "type": "object",
    "required": ["index", "reason"],
    "properties": {
        "index": {"type": "integer", "description": "The bad event's index (-1: the batch)"},
        "reason": {"type": "string"},
    },
}
ERROR_BODY = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {
            "anyOf": [
                {"type": "string"},
                {
                    "type": "array",
                    "items": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/ValidationError"},
                            {"$ref": "#/components/schemas/BatchProblem"},
                        ]
                    },
                },
            ],
            "description": "What was wrong: a sentence, or one entry per field",
        },
        "code": {"type": "string", "description": "Machine-readable reason"},
    },
    "additionalProperties": True,
}


def document_error_bodies(app: FastAPI) -> None:
    """Make `app.openapi()` describe 422 bodies as they are."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["HTTPValidationError"] = ERROR_BODY
        schemas["ValidationError"] = FIELD_PROBLEM
        schemas["BatchProblem"] = BATCH_PROBLEM
        body = {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        }
        for item in schema.get("paths", {}).values():
            for op in item.values():
                answer = op.get("responses", {}).get("422") if isinstance(op, dict) else None
                if isinstance(answer, dict) and "content" not in answer:
                    answer["content"] = body  # a 422 declared with a description only
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
