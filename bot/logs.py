"""The gateway's logs: one JSON object per line, phone and ID-card numbers masked in every record."""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import TextIO

from nlu.phone import find_phone_numbers

# CCCD (12 digits) and the old CMND (9 digits), standing alone; tracking codes and amounts have dots or dashes.
ID_NUMBER = re.compile(r"(?<![\w.\-])(?:\d{12}|\d{9})(?!\w|[.\-]\d)")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
# A line per call to Rasa (httpx) or per migration step (alembic) would drown the gateway's own lines.
CHATTY_LOGGERS = ("httpx", "httpcore", "alembic")


def hide(digits: str) -> str:
    """'0912345678' → '09******78': enough to tell numbers apart in a log, not to call one."""
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]


def mask(text: str) -> str:
    """``text`` with every Vietnamese phone number and CCCD/CMND number hidden."""
    for phone in reversed(find_phone_numbers(text)):
        text = text[:phone.start] + hide(phone.digits) + text[phone.end:]
    return ID_NUMBER.sub(lambda match: hide(match.group()), text)


class MaskingFilter(logging.Filter):
    """Masks the formatted message, the trace and the stack of a record before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (as logging's last resort does), so redirections are followed."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # StreamHandler sets one; stderr stays whatever stderr is


def configure(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send every record (uvicorn's access log included) to one masked JSON-lines handler on ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler.setFormatter(JsonLinesFormatter())
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's own configuration (when one ran before in this process) gives its loggers their own handlers.
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # uvicorn.run(log_level=...) sets its own afterwards
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
