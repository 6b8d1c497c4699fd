"""Every integer that reaches the database is bounded by the schema (issue #19).

PostgreSQL's `integer` holds −2³¹ … 2³¹−1; a bigger number in a path, query or body used
to reach asyncpg and come back as a 500. One shared type says what fits, `DbInt`, and
`DbId` for ids (≥ 1). The app applies the same bounds to every integer path and query
parameter of every route (`bound_int_params`, run by `create_app` after the routers are
included, so a new endpoint's `thing_id: int` is covered without anyone remembering), and
request bodies get them from `StrictInput` (app/schemas/common.py). A number out of range
is then a 422 naming the field, and the OpenAPI documents the range;
tests/security/test_bounds.py checks every operation of the OpenAPI.

Text is the same: NUL (PostgreSQL cannot store it) and the other C0 control characters
but tab and line breaks (the XLSX exports cannot hold them) are refused in request
bodies (`TextChecked`, app/schemas/common.py), in the ingest parser, and in paths and
query strings (app/security_middleware.py), each with a 422 naming the field.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from typing import Annotated, Any

import annotated_types
from fastapi import APIRouter
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

DbInt = Annotated[int, Field(ge=INT_MIN, le=INT_MAX)]
DbId = Annotated[int, Field(ge=1, le=INT_MAX)]


def _is_int_annotation(annotation: Any) -> bool:
    """int, or int | None (the shapes path and query integers take here)."""
    if annotation is int:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args == [int]
    return False


def int_bounds_missing(metadata: list[Any]) -> list[Any]:
    """The constraints to add so an integer with this metadata fits `DbInt`."""
    has_lower = has_upper = False
    for item in metadata:
        lower = getattr(item, "ge", None)
        if lower is None:
            lower = getattr(item, "gt", None)
        upper = getattr(item, "le", None)
        if upper is None:
            upper = getattr(item, "lt", None)
        has_lower = has_lower or (lower is not None and lower >= INT_MIN)
        has_upper = has_upper or (upper is not None and upper <= INT_MAX + 1)
    extra: list[Any] = []
    if not has_lower:
        extra.append(annotated_types.Ge(INT_MIN))
    if not has_upper:
        extra.append(annotated_types.Le(INT_MAX))
    return extra


def bound_model_fields(model: type[BaseModel]) -> bool:
    """Give the model's integer fields (int, int | None, list[int]) the `DbInt` bounds
    they lack; True when something changed (the caller rebuilds the model)."""
    changed = False
    for field in model.model_fields.values():
        annotation = field.annotation
        if _is_int_annotation(annotation):
            extra = int_bounds_missing(list(field.metadata))
            if extra:
                field.metadata.extend(extra)
                changed = True
        else:
            origin: Any = typing.get_origin(annotation)
            args = typing.get_args(annotation)
            if origin in (list, set, frozenset) and args == (int,):
                field.annotation = origin[DbInt]
                changed = True
    return changed


def _bounded_annotation(annotation: Any) -> Any | None:
    """`annotation` with the `DbInt` bounds it lacks, or None when it needs none."""
    metadata: list[Any] = []
    base = annotation
    if typing.get_origin(annotation) is Annotated:
        base, *metadata = typing.get_args(annotation)
    if not _is_int_annotation(base):
        return None
    constraints: list[Any] = []
    for item in metadata:  # Query(ge=0) / Path(le=…) keep theirs in .metadata
        constraints.extend(getattr(item, "metadata", None) or [])
        constraints.append(item)
    extra = int_bounds_missing(constraints)
    if not extra:
        return None
    return Annotated[(base, *metadata, *extra)]


def _bound_callable(call: Any, done: set[int]) -> None:
    """Rewrite the signature FastAPI reads (`__signature__`) of one endpoint or
    dependency so its integer parameters carry the bounds."""
    if id(call) in done or not inspect.isfunction(call):
        return
    done.add(id(call))
    try:
        signature = inspect.signature(call, eval_str=True)
    except (NameError, TypeError, ValueError):
        return
    params = []
    changed = False
    for param in signature.parameters.values():
        bounded = _bounded_annotation(param.annotation)
        if bounded is not None:
            param = param.replace(annotation=bounded)
            changed = True
        params.append(param)
    if changed:
        call.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]


def _walk(dependant: Any, done: set[int]) -> None:
    if dependant.call is not None:
        _bound_callable(dependant.call, done)
    for sub in dependant.dependencies:
        _walk(sub, done)


def bound_int_params(router: APIRouter) -> None:
    """Give every integer path/query parameter of the router's endpoints (and of their
    dependencies) the `DbInt` bounds they lack. Run before `include_router`: FastAPI
    reads the endpoints' signatures when it builds the included routes. Done once per
    router: the signatures it rewrites belong to the functions, not to one app."""
    if getattr(router, "_lcr_int_bounds", False):
        return
    router._lcr_int_bounds = True  # type: ignore[attr-defined]
    done: set[int] = set()
    for route in router.routes:
        if isinstance(route, APIRoute):
            _walk(route.dependant, done)
            # the route's own copy, for the (rare) route used without inclusion
            route.dependant = get_dependant(path=route.path_format, call=route.endpoint)


# --------------------------------------------------------------------------- text

# What PostgreSQL's text (NUL) and the XLSX exports (the other C0 controls) cannot hold.
# Tab, line feed and carriage return stay allowed.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None."""
    found = CONTROL_CHARS.search(value)
    if found is None:
        return None
    return f"contains a control character (U+{ord(found.group()):04X}) at position {found.start()}"


def check_text(value: Any) -> Any:
    """Raise ValueError if a string anywhere in `value` holds a control character."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(problem)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)
    return value
