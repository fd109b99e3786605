"""What every messaging channel (Telegram, Zalo) says on its own, and how it cuts long texts."""
from __future__ import annotations

GREETING = "xin chào"  # /start or a follow is a greeting: the bot's own greeting answers it


def non_text_reply() -> str:
    return "Hiện em chỉ đọc được tin nhắn chữ. Anh/chị vui lòng nhập câu hỏi bằng chữ giúp em."


def chunks(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line breaks where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return pieces + ([text] if text else [])
