"""Commands a citizen types on any channel because the bot's own texts say so ("Nhắn /huy để ngừng ...")."""
from __future__ import annotations

from knowledge_base.dossier_notifications import UNSUBSCRIBE_PAYLOAD
from knowledge_base.textfold import fold

# Rasa reads a message starting with "/" as an intent name, and knows no intent "huy".
_PAYLOADS = {"/huy": UNSUBSCRIBE_PAYLOAD}


def rasa_text(text: str) -> str:
    """What Rasa is sent for ``text``: the intent payload of a typed command, else the text itself."""
    return _PAYLOADS.get(fold(text.strip()), text)
