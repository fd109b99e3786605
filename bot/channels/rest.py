"""Rasa-compatible REST channel: ``POST /webhooks/rest/webhook`` {"sender", "message", "message_id"?} → list of replies."""
from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot import router
from bot.settings import get_settings
from knowledge_base.conversations import CLIENT_MESSAGE_ID, EXTERNAL_ID_MAX, SENDER_MAX
from knowledge_base.textfold import UNSTORABLE

CHANNEL = "rest"


def _error(reason: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


async def _body(request: Request) -> bytes | None:
    """The request body, or None once it exceeds the configured limit (read no further)."""
    limit = get_settings().max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def webhook(request: Request) -> JSONResponse:
    body = await _body(request)
    if body is None:
        return _error(f"Nội dung yêu cầu quá lớn (tối đa {get_settings().max_body_bytes} byte).", 413)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error("Yêu cầu không phải JSON hợp lệ.")
    if not isinstance(data, dict):
        return _error('Yêu cầu phải là một đối tượng JSON {"sender": ..., "message": ...}.')
    sender, message = data.get("sender"), data.get("message")
    if not isinstance(sender, str) or not sender.strip():
        return _error('Thiếu trường "sender" (chuỗi định danh người gửi).')
    if len(sender) > SENDER_MAX:
        return _error(f'Trường "sender" dài quá {SENDER_MAX} ký tự.')
    if UNSTORABLE.search(sender):
        return _error('Trường "sender" chứa ký tự không hợp lệ.')
    if not isinstance(message, str):
        return _error('Thiếu trường "message" (chuỗi nội dung tin nhắn).')
    message_id = data.get("message_id")
    if message_id is not None and (not isinstance(message_id, str) or not CLIENT_MESSAGE_ID.fullmatch(message_id)):
        return _error(f'Trường "message_id" phải gồm 1–{EXTERNAL_ID_MAX} ký tự chữ, số, "-" hoặc "_".')
    try:
        client_ip = request.client.host if request.client else None
        turn = await router.handle(CHANNEL, sender, message, external_id=message_id, client_ip=client_ip)
    except router.StorageUnavailable:
        return _error(router.storage_unavailable_text(), 503)
    # A resend of a message answered before gets that answer again: the client may retry without fear.
    return JSONResponse(turn.replies or turn.answered_before)


routes = [Route("/webhooks/rest/webhook", webhook, methods=["POST"])]
