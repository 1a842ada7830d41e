"""Reading a JSON answer as the shape it must have: an array, or an object a pydantic model (or a
parser) accepts; anything else is an `UnexpectedResponseError` naming the first problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from trading_automation.clients.errors import REQUEST_ID_HEADER, UnexpectedResponseError

M = TypeVar("M", bound=BaseModel)


def json_array(body: Any, path: str, *, service: str) -> list[Any]:
    """`body` when it is a JSON array."""
    if not isinstance(body, list):
        raise UnexpectedResponseError(
            f"expected a JSON array, got {_kind(body)}", service=service, method="GET", path=path
        )
    return body


def parse_model(
    model: type[M],
    body: Any,
    path: str,
    *,
    service: str,
    method: str = "GET",
    response: httpx.Response | None = None,
    parse: Callable[[dict[str, Any]], M] | None = None,
) -> M:
    """`body`, a JSON object, read as `model` (by `parse` when given)."""
    if not isinstance(body, dict):
        raise UnexpectedResponseError(
            f"expected a JSON object for {model.__name__}, got {_kind(body)}",
            service=service,
            method=method,
            path=path,
        )
    try:
        return (parse or model.model_validate)(body)
    except ValidationError as error:
        raise UnexpectedResponseError(
            f"unreadable {model.__name__}: {_first_problem(error)}",
            service=service,
            method=method,
            path=path,
            request_id=response.headers.get(REQUEST_ID_HEADER) if response else None,
        ) from None


def _kind(body: Any) -> str:
    if body is None:
        return "an empty body"
    if isinstance(body, dict):
        return "an object"
    if isinstance(body, list):
        return "an array"
    return type(body).__name__


def _first_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first.get("loc", ())) or "body"
    return f"{location}: {first.get('msg', 'invalid')}"
