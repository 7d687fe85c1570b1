"""Errors answered as ``{"error": "<French text>", "code": "<english_code>"}``, and the
checks every public input goes through before anything else sees it.

    read_json_object(request)  the one JSON-body parser of the gateway's routes
    parse_json_object(data)    the same for a WebSocket frame
    check_text(value, name) no NUL, no lone surrogate (PostgreSQL and UTF-8 refuse them)
    bounded_int(value, ...) a non-negative integer that fits the database's BIGINT

One code per fault: ``invalid_json`` (not JSON, not UTF-8, NaN / Infinity, a number
beyond Python's digit limit), ``too_deep`` (nesting beyond ``MAX_DEPTH``),
``invalid_characters`` (NUL or lone surrogate anywhere, keys included), ``invalid_body``
(JSON, but not an object).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

# Deeper than any message or Telegram update; far below Python's recursion limit.
MAX_DEPTH = 32
# Largest id a database integer column holds (BIGINT, SQLite's INTEGER).
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
# NUL, and UTF-16 surrogates, which a str holds only when it came from broken input.
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


class ApiError(Exception):
    """A client error with its HTTP status, a stable English code and a French reason."""

    def __init__(
        self, status: int, code: str, error: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {error}")
        self.status = status
        self.code = code
        self.error = error
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return web.json_response(
            {"error": self.error, "code": self.code}, status=self.status, headers=self.headers
        )


def bad_request(code: str, error: str) -> ApiError:
    return ApiError(400, code, error)


def too_large(error: str) -> ApiError:
    return ApiError(413, "payload_too_large", error)


def check_text(value: str, name: str = "le texte") -> str:
    """``value`` unchanged, or 400 when it holds a NUL or a lone surrogate."""
    if _FORBIDDEN.search(value):
        raise bad_request(
            "invalid_characters",
            f"{name} contient des caractères interdits (caractère nul ou Unicode invalide).",
        )
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(data: str | bytes) -> Any:
    """Parse a request body or a WebSocket frame; :class:`ApiError` for any bad input."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as err:
        raise bad_request("invalid_json", "Le corps doit être du JSON encodé en UTF-8.") from err
    check_text(text, "La requête")  # a raw NUL; escaped ones are checked below
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as err:
        raise bad_request("invalid_json", f"JSON invalide : {err.msg}.") from err
    except RecursionError as err:
        raise _too_deep() from err
    except ValueError as err:  # NaN, Infinity, an integer of thousands of digits
        raise bad_request("invalid_json", "JSON invalide : nombre non accepté.") from err
    _check_tree(value)
    return value


def _too_deep() -> ApiError:
    return bad_request("too_deep", f"JSON trop imbriqué (au plus {MAX_DEPTH} niveaux).")


def _check_tree(value: Any) -> None:
    """Depth and characters of every string (keys too), without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, "La requête")
        elif isinstance(item, float) and not math.isfinite(item):
            raise bad_request("invalid_json", "JSON invalide : nombre non accepté.")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise _too_deep()
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def parse_json_object(data: str | bytes) -> dict[str, Any]:
    """A JSON object (request body or WebSocket frame), checked (see :func:`parse_json`)."""
    body = parse_json(data)
    if not isinstance(body, dict):
        raise bad_request("invalid_body", "Le corps doit être un objet JSON.")
    return body


async def read_json_object(
    request: web.Request, empty: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The request's JSON object body; ``empty`` when given stands for a body of nothing
    (or only white space), which is otherwise ``invalid_json``."""
    data = await request.read()
    if empty is not None and not data.strip():
        return empty
    return parse_json_object(data)


def bounded_int(value: Any, name: str, minimum: int = 0) -> int:
    """A JSON number or a string of ASCII digits, between ``minimum`` and ``MAX_ID``."""
    reason = f"« {name} » doit être un entier entre {minimum} et {MAX_ID}."
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            raise bad_request(f"invalid_{name}", reason)
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_ID:
        raise bad_request(f"invalid_{name}", reason)
    return value
