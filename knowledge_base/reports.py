"""The director's weekly figures for a period: traffic, bot vs operators, procedures asked, satisfaction,
tickets and operator response times. Pure reads over a session; days are the center's local days.

Rows are read narrowed to the period and grouped here rather than in SQL, so local days (the stored
times are UTC) come out the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.settings import get_settings
from knowledge_base.models import Conversation, Handoff, Message, Procedure, Rating, Ticket, TicketEvent
from knowledge_base.ratings import FACTORS, LEVELS

SATISFIED = ("hai_long", "rat_hai_long")
NO_FIELD = "Chưa rõ lĩnh vực"
MAX_DAYS = 366
# A procedure answer names it on its first line as "Tên thủ tục (mã 1.001193)"; lists of choices do not.
CITED = re.compile(r"\(mã ([0-9A-Za-z][0-9A-Za-z.\-]*)\)")


class PeriodError(ValueError):
    """A period that cannot be reported on; the message is Vietnamese."""


@dataclass(frozen=True)
class Period:
    """Local days ``start``..``end``, both included."""

    start: date
    end: date
    zone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: date | None = None) -> "Period":
        """From ISO dates (default: the last 7 days up to today); bad or reversed dates raise PeriodError."""
        zone = get_settings().timezone
        today = today or datetime.now(ZoneInfo(zone)).date()
        try:
            last = date.fromisoformat(end) if end else today
            first = date.fromisoformat(start) if start else last - timedelta(days=6)
        except ValueError:
            raise PeriodError("Ngày không hợp lệ. Vui lòng chọn ngày theo dạng năm-tháng-ngày.") from None
        if first > last:
            raise PeriodError("Ngày bắt đầu phải trước hoặc trùng ngày kết thúc.")
        if (last - first).days >= MAX_DAYS:
            raise PeriodError(f"Khoảng thời gian dài nhất là {MAX_DAYS} ngày.")
        return cls(first, last, zone)

    def _utc(self, day: date) -> datetime:
        return datetime.combine(day, time(), ZoneInfo(self.zone)).astimezone(timezone.utc).replace(tzinfo=None)

    @property
    def since(self) -> datetime:
        return self._utc(self.start)

    @property
    def until(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return self._utc(self.end + timedelta(days=1))

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def day_of(self, moment: datetime) -> date:
        return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(self.zone)).date()

    def holds(self, column):
        return (column >= self.since) & (column < self.until)


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1)


def traffic(session: Session, period: Period) -> list[dict]:
    """Per day and channel: conversations with any message that day, and messages (all authors)."""
    rows = session.execute(select(Message.created_at, Message.conversation_id, Conversation.channel)
                           .join(Conversation, Conversation.id == Message.conversation_id)
                           .where(period.holds(Message.created_at)))
    counts: dict[tuple[date, str], list] = {}
    for created_at, conversation_id, channel in rows:
        entry = counts.setdefault((period.day_of(created_at), channel), [set(), 0])
        entry[0].add(conversation_id)
        entry[1] += 1
    channels = sorted({channel for _, channel in counts})
    return [{"day": day.isoformat(), "channel": channel, "conversations": len(counts.get((day, channel), [()])[0]),
             "messages": counts.get((day, channel), [(), 0])[1]} for day in period.days() for channel in channels]


def _citizen_conversations(session: Session, period: Period) -> dict[int, datetime]:
    """Conversations in which the citizen wrote during the period, with their first such message."""
    first: dict[int, datetime] = {}
    rows = session.execute(select(Message.conversation_id, Message.created_at)
                           .where(Message.author == "citizen", period.holds(Message.created_at)))
    for conversation_id, created_at in rows:
        if conversation_id not in first or created_at < first[conversation_id]:
            first[conversation_id] = created_at
    return first


def outcomes(session: Session, period: Period) -> list[dict]:
    """Per day (of the citizen's first message): conversations the bot answered alone, and those escalated."""
    first = _citizen_conversations(session, period)
    escalated = set(session.scalars(select(Handoff.conversation_id).where(period.holds(Handoff.created_at))))
    by_day = {day: [0, 0] for day in period.days()}
    for conversation_id, created_at in first.items():
        by_day[period.day_of(created_at)][conversation_id in escalated] += 1
    return [{"day": day.isoformat(), "conversations": bot + people, "answered_by_bot": bot, "escalated": people,
             "escalated_share": _share(people, bot + people)} for day, (bot, people) in by_day.items()]


def _asked_codes(session: Session, period: Period) -> dict[str, set[int]]:
    """Procedure code → conversations whose bot reply answered about it in the period."""
    rows = session.execute(select(Message.conversation_id, Message.text)
                           .where(Message.author == "bot", period.holds(Message.created_at),
                                  Message.text.contains("(mã ")))
    asked: dict[str, set[int]] = {}
    for conversation_id, text in rows:
        found = CITED.search(text.split("\n", 1)[0])
        if found:
            asked.setdefault(found.group(1), set()).add(conversation_id)
    return asked


def _procedures(session: Session, codes: Iterable[str]) -> dict[str, tuple[str, str]]:
    codes = list(codes)
    if not codes:
        return {}
    rows = session.execute(select(Procedure.code, Procedure.name, Procedure.field).where(Procedure.code.in_(codes)))
    return {code: (" ".join(name.split()), field or NO_FIELD) for code, name, field in rows}


def top_procedures(session: Session, period: Period, limit: int = 10) -> list[dict]:
    """The procedures most asked about (conversations answered about each), most first."""
    asked = _asked_codes(session, period)
    known = _procedures(session, asked)
    ranked = sorted(asked.items(), key=lambda pair: (-len(pair[1]), pair[0]))[:limit]
    return [{"code": code, "name": known.get(code, (code, NO_FIELD))[0], "field": known.get(code, (code, NO_FIELD))[1],
             "conversations": len(conversations)} for code, conversations in ranked]


def top_fields(session: Session, period: Period, limit: int = 10) -> list[dict]:
    """The fields (lĩnh vực) most asked about: conversations answered about any of their procedures."""
    asked = _asked_codes(session, period)
    known = _procedures(session, asked)
    fields: dict[str, set[int]] = {}
    for code, conversations in asked.items():
        fields.setdefault(known.get(code, (code, NO_FIELD))[1], set()).update(conversations)
    ranked = sorted(fields.items(), key=lambda pair: (-len(pair[1]), pair[0]))[:limit]
    return [{"field": field, "conversations": len(conversations)} for field, conversations in ranked]


def _ratings(session: Session, period: Period) -> list[Rating]:
    return list(session.scalars(select(Rating).where(period.holds(Rating.created_at))))


def satisfaction_by_day(session: Session, period: Period) -> list[dict]:
    """Per day: ratings, each level, and the satisfaction index (share Hài lòng + Rất hài lòng, %)."""
    by_day = {day: dict.fromkeys(LEVELS, 0) for day in period.days()}
    for rating in _ratings(session, period):
        by_day[period.day_of(rating.created_at)][rating.level] += 1
    rows = []
    for day, levels in by_day.items():
        total = sum(levels.values())
        rows.append({"day": day.isoformat(), "ratings": total, **levels,
                     "index": _share(sum(levels[level] for level in SATISFIED), total)})
    return rows


def satisfaction_by_field(session: Session, period: Period) -> list[dict]:
    """Per field of the rated procedure (ratings without one under «Chưa rõ lĩnh vực»), most rated first."""
    ratings = _ratings(session, period)
    known = _procedures(session, {r.procedure_code for r in ratings if r.procedure_code})
    fields: dict[str, list[int]] = {}
    for rating in ratings:
        field = known.get(rating.procedure_code, ("", NO_FIELD))[1] if rating.procedure_code else NO_FIELD
        counts = fields.setdefault(field, [0, 0])
        counts[0] += 1
        counts[1] += rating.level in SATISFIED
    ranked = sorted(fields.items(), key=lambda pair: (-pair[1][0], pair[0]))
    return [{"field": field, "ratings": total, "satisfied": happy, "index": _share(happy, total)}
            for field, (total, happy) in ranked]


def sipas_factors(session: Session, period: Period) -> list[dict]:
    """The average score (1–5) of each SIPAS factor over the ratings that gave it."""
    scores: dict[str, list[int]] = {key: [] for key in FACTORS}
    for rating in _ratings(session, period):
        for key, value in (rating.factors or {}).items():
            if key in scores and isinstance(value, (int, float)):
                scores[key].append(value)
    return [{"factor": key, "label": FACTORS[key], "answers": len(values),
             "average": round(statistics.fmean(values), 2) if values else None} for key, values in scores.items()]


def _resolutions(session: Session, until: datetime) -> dict[int, datetime]:
    """Ticket id → when it moved to «Đã giải quyết» (before ``until``)."""
    rows = session.execute(select(TicketEvent.ticket_id, TicketEvent.created_at, TicketEvent.details)
                           .where(TicketEvent.action == "status", TicketEvent.created_at < until))
    return {ticket_id: at for ticket_id, at, details in rows if (details or {}).get("to") == "da_giai_quyet"}


def tickets_by_day(session: Session, period: Period) -> list[dict]:
    """Per day: tickets opened and tickets resolved."""
    by_day = {day: [0, 0] for day in period.days()}
    for created_at in session.scalars(select(Ticket.created_at).where(period.holds(Ticket.created_at))):
        by_day[period.day_of(created_at)][0] += 1
    for resolved_at in _resolutions(session, period.until).values():
        if resolved_at >= period.since:
            by_day[period.day_of(resolved_at)][1] += 1
    return [{"day": day.isoformat(), "opened": opened, "resolved": resolved} for day, (opened, resolved) in by_day.items()]


def tickets_summary(session: Session, period: Period, now: datetime | None = None) -> dict:
    """Opened, resolved and overdue in the period, and the median hours from opening to resolution.

    Overdue: opened in the period and resolved after its due time, or still unresolved past it
    (judged at the period's end, or now if that is earlier).
    """
    judged_at = min(period.until, now or datetime.now(timezone.utc).replace(tzinfo=None))
    resolved = _resolutions(session, period.until)
    opened = list(session.scalars(select(Ticket).where(period.holds(Ticket.created_at))))
    overdue = sum(1 for ticket in opened if ticket.due_at is not None and ticket.status != "tu_choi"
                  and (resolved[ticket.id] > ticket.due_at if ticket.id in resolved else ticket.due_at < judged_at))
    closed = [(ticket_id, at) for ticket_id, at in resolved.items() if at >= period.since]
    created = dict(session.execute(select(Ticket.id, Ticket.created_at).where(Ticket.id.in_([t for t, _ in closed]))).all()) if closed else {}
    hours = [(at - created[ticket_id]).total_seconds() / 3600 for ticket_id, at in closed if ticket_id in created]
    return {"opened": len(opened), "resolved": len(closed), "overdue": overdue, "median_resolution_hours": _median(hours)}


def operator_response(session: Session, period: Period) -> list[dict]:
    """Per day of the request: handoffs, those taken, and the median / 90th-percentile seconds to be taken."""
    by_day: dict[date, list] = {day: [0, []] for day in period.days()}
    rows = session.execute(select(Handoff.created_at, Handoff.taken_at).where(period.holds(Handoff.created_at)))
    for created_at, taken_at in rows:
        entry = by_day[period.day_of(created_at)]
        entry[0] += 1
        if taken_at is not None:
            entry[1].append((taken_at - created_at).total_seconds())
    return [{"day": day.isoformat(), "handoffs": total, "taken": len(waits), "median_seconds": _median(waits),
             "p90_seconds": _p90(waits)} for day, (total, waits) in by_day.items()]


def response_summary(session: Session, period: Period) -> dict:
    """Over the whole period: handoffs, taken, median and 90th-percentile seconds to be taken."""
    rows = session.execute(select(Handoff.created_at, Handoff.taken_at).where(period.holds(Handoff.created_at))).all()
    waits = [(taken - created).total_seconds() for created, taken in rows if taken is not None]
    return {"handoffs": len(rows), "taken": len(waits), "median_seconds": _median(waits), "p90_seconds": _p90(waits)}
