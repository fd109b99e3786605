"""Reading a staff API's JSON body: a dict of the fields, or a Vietnamese 400 answer."""
from __future__ import annotations

import json
from typing import Iterator

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.settings import get_settings
from knowledge_base.textfold import UNSTORABLE as UNSTORABLE_CHARACTER

BAD = "Dữ liệu gửi lên không hợp lệ (cần JSON)."
UNSTORABLE = "Dữ liệu gửi lên chứa ký tự không hợp lệ."
TOO_LARGE = "Nội dung gửi lên quá dài."


class BadBody(Exception):
    def response(self) -> JSONResponse:
        return JSONResponse({"error": str(self) or BAD}, status_code=400)


async def json_body(request: Request, limit: int | None = None, too_large: str = TOO_LARGE) -> dict:
    """The body as a dict; raises BadBody (``too_large`` past ``limit`` bytes, by default the settings'
    max_body_bytes) when it is too large, not JSON, or not an object."""
    raw = await request.body()
    if len(raw) > (get_settings().max_body_bytes if limit is None else limit):
        raise BadBody(too_large)
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise BadBody(BAD) from None
    if not isinstance(body, dict):
        raise BadBody(BAD)
    if not storable(body):
        raise BadBody(UNSTORABLE)
    return body


def storable(body: dict) -> bool:
    """False when a key or a text holds a character no database column keeps: a lone surrogate (from a
    "\\ud800"-style escape) anywhere, or a NUL, which PostgreSQL refuses."""
    return not any(UNSTORABLE_CHARACTER.search(text) for text in _texts(body))


def _texts(value: object) -> Iterator[str]:
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def text_field(body: dict, name: str) -> str | None:
    """A string field (numbers and other types count as absent)."""
    value = body.get(name)
    return value if isinstance(value, str) else None
