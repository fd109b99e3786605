"""The center's clock: office hours and working days in its time zone; the database keeps naive UTC."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.settings import Settings, get_settings
from knowledge_base.lunar import solar_date

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")))
EXAMPLE = "mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30"
_DAY_SPAN = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

HOLIDAYS_EXAMPLE = "01-01, 04-30, 05-01, 09-02, AL12-30..AL01-04, AL03-10, 2027-02-05..2027-02-11"
_DATED, _YEARLY = re.compile(r"^\d{4}-\d{2}-\d{2}$"), re.compile(r"^(\d{2})-(\d{2})$")
_LUNAR = re.compile(r"^al(\d{2})-(\d{2})$", re.IGNORECASE)  # âm lịch: month-day of the lunar calendar
MAKE_UP_WINDOW = 21  # days looked back for weekend holidays still owed: longer than any run of holidays

OpeningHours = dict[int, tuple[tuple[time, time], ...]]


class Lunar(tuple):
    """A lunar (month, day), told apart from a solar one by its type."""


# Every year's solar (month, day)s; dated days; every lunar year's spans, first and last lunar day.
Holidays = tuple[frozenset[tuple[int, int]], frozenset[date], frozenset[tuple[Lunar, Lunar]]]


def utc_naive(moment: datetime | None = None) -> datetime:
    """``moment`` (aware, or naive meaning UTC; default now) as the naive UTC the models store."""
    if moment is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def local(moment: datetime | None = None, settings: Settings | None = None) -> datetime:
    """``moment`` (as for utc_naive) as an aware datetime on the center's wall clock."""
    zone = ZoneInfo((settings or get_settings()).timezone)
    return utc_naive(moment).replace(tzinfo=timezone.utc).astimezone(zone)


@lru_cache(maxsize=8)
def parse_office_hours(text: str) -> OpeningHours:
    """'mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30' → weekday (0 = Monday) → [start, end) ranges."""
    hours: dict[int, list[tuple[time, time]]] = {}
    for group in filter(None, (part.strip().lower() for part in text.split(";"))):
        days_text, _, ranges_text = group.partition(" ")
        ranges = [_time_range(item.replace(" ", ""), text) for item in ranges_text.split(",")]
        for day in _days(days_text, text):
            hours.setdefault(day, []).extend(ranges)
    if not hours:
        raise _bad_setting(text)
    return {day: tuple(sorted(ranges)) for day, ranges in hours.items()}


def _days(text: str, setting: str) -> list[int]:
    days = []
    for item in text.split(","):
        match = _DAY_SPAN.match(item)
        if not match or not set(filter(None, match.groups())) <= set(DAYS):
            raise _bad_setting(setting)
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2) or match.group(1))
        if last < first:
            raise _bad_setting(setting)
        days.extend(range(first, last + 1))
    return days


def _time_range(text: str, setting: str) -> tuple[time, time]:
    match = _RANGE.match(text)
    try:
        start_h, start_m, end_h, end_m = map(int, match.groups())  # type: ignore[union-attr]
        start, end = time(start_h, start_m), time(end_h, end_m)
    except (AttributeError, ValueError):
        raise _bad_setting(setting) from None
    if not start < end:
        raise _bad_setting(setting)
    return start, end


def _bad_setting(text: str) -> ValueError:
    return ValueError(f"HCC_OFFICE_HOURS không hợp lệ: {text!r} (ví dụ: {EXAMPLE!r})")


@lru_cache(maxsize=8)
def parse_holidays(text: str) -> Holidays:
    """'01-01, 09-01..09-02, AL12-30..AL01-04, 2027-02-05..2027-02-11' → days closed every year, lunar spans
    closed every lunar year (a span may run into the next year: New Year's Eve to the 4th), and dated days;
    'none' → none."""
    yearly: set[tuple[int, int]] = set()
    dated: set[date] = set()
    lunar: set[tuple[Lunar, Lunar]] = set()
    if text.strip().lower() == "none":
        return frozenset(), frozenset(), frozenset()
    for item in filter(None, (part.strip() for part in text.split(","))):
        first, _, last = item.partition("..")
        start, end = _holiday(first.strip(), text), _holiday((last or first).strip(), text)
        # Only a lunar span from the 12th month may run on into the next year: across Tết, never a reversed typo.
        across_tet = isinstance(start, Lunar) and start[0] == 12 and end[0] != 12
        if type(start) is not type(end) or (end < start and not across_tet):
            raise _bad_holidays(text)
        if isinstance(start, Lunar):
            lunar.add((start, end))
            continue
        if isinstance(start, date):
            dated.update(start + timedelta(days=n) for n in range((end - start).days + 1))
            continue
        day = date(2000, *start)  # a leap year: 02-29 is a day
        while day.year == 2000 and (day.month, day.day) <= end:
            yearly.add((day.month, day.day))
            day += timedelta(days=1)
    return frozenset(yearly), frozenset(dated), frozenset(lunar)


def _holiday(text: str, setting: str) -> date | tuple[int, int]:
    try:
        if _DATED.match(text):
            return date.fromisoformat(text)
        lunar = _LUNAR.match(text)
        if lunar:
            month, day = map(int, lunar.groups())
            if not (1 <= month <= 12 and 1 <= day <= 30):
                raise ValueError(text)
            return Lunar((month, day))
        month, day = map(int, _YEARLY.match(text).groups())  # type: ignore[union-attr]
        date(2000, month, day)
        return month, day
    except (AttributeError, ValueError):
        raise _bad_holidays(setting) from None


def _bad_holidays(text: str) -> ValueError:
    return ValueError(f"HCC_HOLIDAYS không hợp lệ: {text!r} (ví dụ: {HOLIDAYS_EXAMPLE!r}, hoặc 'none')")


def is_holiday(day: date, settings: Settings | None = None) -> bool:
    """Whether the center is closed on ``day`` for a holiday (HCC_HOLIDAYS), whatever the weekday, or to make up
    for one that fell on a weekend (nghỉ bù)."""
    return _closed(day, (settings or get_settings()).holidays)


def holiday_today(settings: Settings | None = None) -> bool:
    """Whether the center is closed today (its own calendar day) for a holiday."""
    settings = settings or get_settings()
    return is_holiday(local(None, settings).date(), settings)


@lru_cache(maxsize=1024)
def _closed(day: date, text: str) -> bool:
    # Remembered: a day's answer looks three weeks back, and a deadline asks it of every day it spans.
    holidays = parse_holidays(text)
    return _listed(day, holidays) is not None or _made_up(day, holidays)


def _listed(day: date, holidays: Holidays) -> str | None:
    """"law" for a holiday every year (MM-DD, ALMM-DD), "dated" for a day listed only by its date, else None."""
    yearly, dated, lunar = holidays
    if (day.month, day.day) in yearly or any(_in_lunar_span(day, span) for span in lunar):
        return "law"
    return "dated" if day in dated else None


def _made_up(day: date, holidays: Holidays) -> bool:
    """Labor Code art. 111(3): a holiday falling on the weekly rest (Saturday, Sunday) is made up on the next
    working day. A day listed by its date pays one such debt: a year's decision, listed by its dates, already
    counts the days made up."""
    if day.weekday() >= 5 or _listed(day, holidays) is not None:
        return False
    owed = 0
    for back in range(MAKE_UP_WINDOW, 0, -1):
        earlier = day - timedelta(days=back)
        kind = _listed(earlier, holidays)
        if earlier.weekday() >= 5:
            owed += kind == "law"
        elif kind != "law":  # a working day, or a dated one, owed was paid on it
            owed = max(owed - 1, 0)
    return owed > 0


def _in_lunar_span(day: date, span: tuple[Lunar, Lunar]) -> bool:
    """Whether ``day`` falls in the span as kept in the lunar year ``day`` is in, or in the one before
    (whose 12th month ends in January or February)."""
    start, end = span
    for year in (day.year - 1, day.year):
        if solar_date(year, *start) <= day <= solar_date(year + (end < start), *end):
            return True
    return False


def office_open(now: datetime | None = None, settings: Settings | None = None) -> bool:
    """Whether the hotline is staffed at ``now`` (aware, or naive UTC; default now): office hours, not a holiday."""
    settings = settings or get_settings()
    moment = local(now, settings)
    if is_holiday(moment.date(), settings):
        return False
    ranges = parse_office_hours(settings.office_hours).get(moment.weekday(), ())
    return any(start <= moment.time() < end for start, end in ranges)


def add_working_days(start: datetime, days: int, settings: Settings | None = None) -> datetime:
    """``start`` (on the center's wall clock) moved ``days`` working days later, same time of day: Monday to
    Friday, holidays skipped."""
    settings = settings or get_settings()
    moment = start
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5 and not is_holiday(moment.date(), settings):
            days -= 1
    return moment


def office_hours_text(settings: Settings | None = None) -> str:
    """'mon-fri 07:30-11:30,13:30-17:00' → 'Thứ Hai–Thứ Sáu: 07:30–11:30, 13:30–17:00'."""
    hours = parse_office_hours((settings or get_settings()).office_hours)
    groups: list[tuple[list[int], tuple]] = []
    for day in sorted(hours):
        if groups and groups[-1][1] == hours[day] and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], hours[day]))
    parts = []
    for days, ranges in groups:
        names = DAY_NAMES[DAYS[days[0]]] + (f"–{DAY_NAMES[DAYS[days[-1]]]}" if len(days) > 1 else "")
        parts.append(f"{names}: " + ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in ranges))
    return "; ".join(parts)
