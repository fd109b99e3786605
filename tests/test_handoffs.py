"""Escalation: office hours at their boundaries, the hotline queue, callbacks, operator hold."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.settings import Settings, get_settings
from knowledge_base.conversations import get_or_create
from knowledge_base.db import session_factory
from knowledge_base.handoffs import is_held_by_operator, office_open, request_callback, request_handoff, waiting_place
from knowledge_base.lunar import solar_date
from knowledge_base.models import Conversation, Handoff, Ticket
from knowledge_base.office_time import add_working_days, is_holiday, parse_holidays, parse_office_hours

VIETNAM = timezone(timedelta(hours=7))
DEFAULT = Settings()


def monday(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, second, tzinfo=VIETNAM)


@pytest.mark.parametrize("moment, expected", [
    (monday(7, 29, 59), False),
    (monday(7, 30), True),
    (monday(11, 29, 59), True),
    (monday(11, 30), False),
    (monday(12, 45), False),
    (monday(13, 30), True),
    (monday(16, 59, 59), True),
    (monday(17, 0), False),
    (monday(7, 30) + timedelta(days=4), True),  # Friday
    (monday(9, 0) + timedelta(days=5), False),  # Saturday
    (monday(9, 0) + timedelta(days=6), False),  # Sunday
    (datetime(2026, 11, 23, 0, 30), True),  # naive means UTC: 07:30 in Việt Nam
    (datetime(2026, 11, 23, 0, 29), False),
    (datetime(2026, 11, 23, 10, 0), False),  # 17:00 in Việt Nam
    (datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc), True),
])
def test_office_hours_boundaries(moment, expected):
    assert office_open(moment, DEFAULT) is expected


def test_office_hours_from_the_environment(monkeypatch):
    monkeypatch.setenv("HCC_OFFICE_HOURS", "mon-fri 08:00-17:00; sat 08:00-11:30")
    get_settings.cache_clear()
    try:
        assert office_open(monday(12, 0))
        assert office_open(monday(8, 0) + timedelta(days=5))
        assert not office_open(monday(11, 30) + timedelta(days=5))
    finally:
        get_settings.cache_clear()


def test_office_hours_in_another_time_zone():
    tokyo = replace(DEFAULT, timezone="Asia/Tokyo")
    assert office_open(datetime(2026, 11, 22, 22, 30), tokyo)  # 07:30 Monday in Tokyo
    assert not office_open(datetime(2026, 11, 22, 22, 30), DEFAULT)  # 05:30 Monday here


def test_office_hours_parser():
    assert monday(0, 0).weekday() == 0  # the boundary cases above rely on it
    assert parse_office_hours("mon,wed-thu 13:30-17:00, 07:30 - 11:30")[2][0][0].hour == 7
    assert set(parse_office_hours("mon,wed-thu 13:30-17:00")) == {0, 2, 3}


@pytest.mark.parametrize("text", ["", "mon-fri", "fri-mon 08:00-17:00", "mon 17:00-08:00", "mon 8h-17h", "xyz 08:00-09:00", "mon 25:00-26:00"])
def test_bad_office_hours_are_refused(text):
    with pytest.raises(ValueError, match="HCC_OFFICE_HOURS"):
        parse_office_hours(text)


def test_the_hotline_is_closed_on_holidays_whatever_the_hours():
    # National Day 2026 is a Wednesday; Labor Code's fixed holidays are closed by default.
    assert not office_open(datetime(2026, 9, 2, 9, 0, tzinfo=VIETNAM), DEFAULT)
    assert office_open(datetime(2026, 9, 3, 9, 0, tzinfo=VIETNAM), DEFAULT)
    tet = replace(DEFAULT, holidays="01-01, 2027-02-05..2027-02-11", office_hours="mon-sun 00:00-23:59")
    assert not office_open(datetime(2027, 2, 9, 10, 0, tzinfo=VIETNAM), tet)  # Tết, a Tuesday
    assert office_open(datetime(2027, 2, 12, 10, 0, tzinfo=VIETNAM), tet)
    assert not office_open(datetime(2027, 1, 1, 10, 0, tzinfo=VIETNAM), tet)
    # The day is the center's: 17:30 UTC on 1 September is already 2 September in Việt Nam.
    assert not office_open(datetime(2026, 9, 1, 17, 30), replace(DEFAULT, office_hours="mon-sun 00:00-23:59"))
    assert office_open(datetime(2027, 1, 1, 10, 0, tzinfo=VIETNAM), replace(DEFAULT, holidays="none"))


@pytest.mark.parametrize("lunar, solar", [
    ((1985, 1, 1), "1985-01-21"),  # China's Tết was 20 February: its months are reckoned at UTC+8
    ((2007, 1, 1), "2007-02-17"),  # China's: 18 February
    ((2023, 3, 10), "2023-04-29"),  # after a leap 2nd month
    ((2024, 1, 1), "2024-02-10"), ((2024, 3, 10), "2024-04-18"),
    ((2023, 12, 30), "2024-02-09"), ((2023, 12, 29), "2024-02-08"),
    ((2024, 12, 30), "2025-01-28"), ((2024, 12, 29), "2025-01-28"),  # a 29-day 12th month: "30 Tết" is its last day
    ((2025, 1, 1), "2025-01-29"), ((2025, 3, 10), "2025-04-07"),
    ((2026, 1, 1), "2026-02-17"), ((2026, 3, 10), "2026-04-26"),
    ((2027, 1, 1), "2027-02-06"), ((2027, 3, 10), "2027-04-16"),
])
def test_lunar_dates_are_vietnamese(lunar, solar):
    assert solar_date(*lunar) == date.fromisoformat(solar)


def test_tet_and_gio_to_are_holidays_by_default_every_year():
    for year in range(2025, 2041):
        eve = solar_date(year - 1, 12, 30)
        assert solar_date(year, 1, 1) == eve + timedelta(days=1)
        # Tết's five days by the Labor Code, those on a weekend made up on the next working days: always five
        # working days closed, none before New Year's Eve.
        around = [eve + timedelta(days=n) for n in range(-3, 14)]
        closed = [day for day in around if day.weekday() < 5 and is_holiday(day, DEFAULT)]
        assert len(closed) == 5 and closed[0] >= eve, year
        assert is_holiday(eve, DEFAULT) and is_holiday(eve + timedelta(days=4), DEFAULT)
        gio_to = solar_date(year, 3, 10)
        assert is_holiday(gio_to, DEFAULT) and not is_holiday(gio_to - timedelta(days=1), DEFAULT)
    # Tết 2027: New Year's Eve is Friday 5 February, the 4th Tuesday 9 February; the 1st and 2nd fall on the
    # weekend and are made up on Wednesday 10 and Thursday 11.
    assert not office_open(datetime(2027, 2, 5, 10, 0, tzinfo=VIETNAM), DEFAULT)
    assert not office_open(datetime(2027, 2, 11, 10, 0, tzinfo=VIETNAM), DEFAULT)
    assert office_open(datetime(2027, 2, 12, 10, 0, tzinfo=VIETNAM), DEFAULT)
    thursday = datetime(2027, 2, 4, 9, 0, tzinfo=VIETNAM)
    assert add_working_days(thursday, 1, DEFAULT) == datetime(2027, 2, 12, 9, 0, tzinfo=VIETNAM)
    assert add_working_days(thursday, 1, replace(DEFAULT, holidays="01-01")) == datetime(2027, 2, 5, 9, 0, tzinfo=VIETNAM)


def test_holidays_on_a_weekend_are_made_up_on_the_next_working_days():
    def closed(first: str, last: str, settings: Settings = DEFAULT) -> list[str]:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
        days = (start + timedelta(days=n) for n in range((end - start).days + 1))
        return [day.isoformat() for day in days if is_holiday(day, settings)]

    # 2023: Giỗ Tổ on Saturday 29 April, 30 April a Sunday: made up on Tuesday 2 and Wednesday 3 May.
    assert closed("2023-04-27", "2023-05-05") == ["2023-04-29", "2023-04-30", "2023-05-01", "2023-05-02", "2023-05-03"]
    # National Day 2023 on a Saturday: Monday 4 September.
    assert closed("2023-08-31", "2023-09-06") == ["2023-09-02", "2023-09-04"]
    # A year's decision listed by its dates already counts the days made up: nothing more after it.
    decided = replace(DEFAULT, holidays=f"{DEFAULT.holidays}, 2027-02-05..2027-02-11")
    assert closed("2027-02-03", "2027-02-16", decided) == [f"2027-02-{day:02d}" for day in range(5, 12)]
    # A day listed only by its date is that day alone.
    assert closed("2023-08-31", "2023-09-06", replace(DEFAULT, holidays="2023-09-02")) == ["2023-09-02"]


def test_working_days_skip_holidays():
    friday = datetime(2026, 4, 24, 9, 0, tzinfo=VIETNAM)
    # Giỗ Tổ falls on Sunday 26 April and is made up on Monday 27; 30 April and 1 May are a Thursday and a
    # Friday: ten working days end on Wednesday 13 May.
    assert add_working_days(friday, 10, DEFAULT) == datetime(2026, 5, 13, 9, 0, tzinfo=VIETNAM)
    assert add_working_days(friday, 10, replace(DEFAULT, holidays="04-30, 05-01")) == datetime(2026, 5, 12, 9, 0, tzinfo=VIETNAM)
    assert add_working_days(friday, 10, replace(DEFAULT, holidays="none")) == datetime(2026, 5, 8, 9, 0, tzinfo=VIETNAM)


def test_holidays_parser():
    yearly, dated, lunar = parse_holidays("01-01, 09-01..09-02 , 2027-02-05..2027-02-07,2027-04-16, al12-30..AL01-04")
    assert yearly == {(1, 1), (9, 1), (9, 2)}
    assert {day.isoformat() for day in dated} == {"2027-02-05", "2027-02-06", "2027-02-07", "2027-04-16"}
    assert lunar == {((12, 30), (1, 4))}
    assert parse_holidays("02-29")[0] == {(2, 29)}
    assert parse_holidays("none") == parse_holidays("NONE ") == (set(), set(), set())
    assert is_holiday(datetime(2030, 9, 1).date(), replace(DEFAULT, holidays="09-01..09-02"))
    assert parse_holidays("12-30..12-31")[0] == {(12, 30), (12, 31)}  # the year's last days end the range


@pytest.mark.parametrize("text", ["tet", "2027-13-01", "02-30", "2027-02-11..2027-02-05", "01-01..2027-01-02",
                                  "1-1", "2027/02/05", "12-31..01-01", "AL13-01", "AL01-31", "AL1-1",
                                  "AL01-04..AL01-01", "AL03-10..03-12", "AL11-30..AL01-04", "AL12-20..AL12-10"])
def test_bad_holidays_are_refused(text):
    with pytest.raises(ValueError, match="HCC_HOLIDAYS"):
        parse_holidays(text)


def test_queue_positions_reuse_and_expected_wait(session):
    first, second, third = (get_or_create(session, "telegram", str(n)) for n in (1, 2, 3))
    a = request_handoff(session, first, "request")
    b = request_handoff(session, second, "fallback")
    assert (a.position, a.expected_wait_minutes, a.reused) == (1, 5, False)
    assert (b.position, b.expected_wait_minutes, b.reused) == (2, 10, False)
    again = request_handoff(session, second, "complaint")
    assert (again.handoff_id, again.position, again.reused) == (b.handoff_id, 2, True)
    assert first.state == second.state == "queued" and third.state == "bot"
    session.commit()
    assert session.scalar(select(func.count()).select_from(Handoff)) == 2
    assert session.get(Handoff, b.handoff_id).reason == "fallback"

    # The first is taken by an operator: the second moves up; the first is told it is being served.
    taken = session.get(Handoff, a.handoff_id)
    taken.status, first.state = "active", "operator"
    session.commit()
    assert request_handoff(session, second, "request").position == 1
    held = request_handoff(session, first, "request")
    assert (held.handoff_id, held.position, held.expected_wait_minutes, held.reused) == (a.handoff_id, 0, 0, True)
    assert first.state == "operator"

    taken.status = "closed"
    first.state = "bot"
    session.commit()
    fresh = request_handoff(session, first, "low_rating")
    assert not fresh.reused and fresh.handoff_id != a.handoff_id and fresh.position == 2


def test_expected_wait_follows_the_settings(session, monkeypatch):
    monkeypatch.setenv("HCC_AVERAGE_HANDLE_MINUTES", "7")
    get_settings.cache_clear()
    for n in range(3):
        ticket = request_handoff(session, get_or_create(session, "zalo", str(n)), "request")
    assert (ticket.position, ticket.expected_wait_minutes) == (3, 21)


def test_a_bad_reason_changes_nothing(session):
    conversation = get_or_create(session, "widget", "w")
    with pytest.raises(ValueError, match="Lý do"):
        request_handoff(session, conversation, "bored")
    with pytest.raises(ValueError, match="Lý do"):
        request_callback(session, conversation, "0912345678", "bored")
    session.commit()
    assert conversation.state == "bot"
    assert session.scalar(select(func.count()).select_from(Handoff)) == 0
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_concurrent_requests_of_one_conversation_queue_it_once(hcc_env):
    factory = session_factory(hcc_env)
    with factory() as session, session.begin():
        conversation_id = get_or_create(session, "telegram", "42").id
    barrier = threading.Barrier(5)
    results, errors = [], []

    def worker():
        try:
            with factory() as session, session.begin():
                conversation = session.get(Conversation, conversation_id)
                barrier.wait(timeout=10)
                results.append(request_handoff(session, conversation, "request"))
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len({r.handoff_id for r in results}) == 1
    assert sorted(r.reused for r in results) == [False, True, True, True, True]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Handoff)) == 1


def test_the_waiting_place_is_known_only_while_the_conversation_waits(session):
    first, second = (get_or_create(session, "widget", f"cho-{n}") for n in (1, 2))
    assert waiting_place(session, first) is None
    a = request_handoff(session, first, "request")
    request_handoff(session, second, "request")
    session.commit()
    assert (waiting_place(session, second).position, waiting_place(session, second).expected_wait_minutes) == (2, 10)
    session.get(Handoff, a.handoff_id).status, first.state = "active", "operator"
    session.commit()
    assert waiting_place(session, first) is None and waiting_place(session, second).position == 1
    request_callback(session, second, "0912345678", "request")  # a callback is not a wait in the queue
    session.commit()
    assert waiting_place(session, second) is None


def test_callback_turns_the_waiting_handoff_into_a_callback_ticket(session):
    conversation = get_or_create(session, "telegram", "9")
    queued = request_handoff(session, conversation, "request")
    ticket = request_callback(session, conversation, "0203 3 123 456", "request")
    session.commit()
    assert ticket.kind == "callback" and ticket.contact_phone == "02033123456"
    assert ticket.number.startswith("PA-") and ticket.conversation_id == conversation.id
    assert "gặp tổng đài viên" in ticket.content
    handoff = session.scalars(select(Handoff)).one()
    assert (handoff.id, handoff.status, handoff.callback_phone) == (queued.handoff_id, "callback", "02033123456")
    assert conversation.state == "queued"

    other = get_or_create(session, "zalo", "9")
    request_callback(session, other, "+84 912 345 678", "fallback")
    session.commit()
    created = session.scalars(select(Handoff).where(Handoff.conversation_id == other.id)).one()
    assert (created.status, created.reason, created.callback_phone) == ("callback", "fallback", "0912345678")


def test_a_bad_callback_phone_changes_nothing(session):
    conversation = get_or_create(session, "telegram", "9")
    with pytest.raises(ValueError, match="Số điện thoại"):
        request_callback(session, conversation, "0912", "request")
    session.commit()
    assert conversation.state == "bot"
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert session.scalar(select(func.count()).select_from(Handoff)) == 0


def test_the_bot_is_silent_only_while_an_operator_holds_the_conversation(session):
    conversation = get_or_create(session, "telegram", "77")
    request_handoff(session, conversation, "request")
    session.commit()
    assert not is_held_by_operator(session, "telegram", "77")
    conversation.state = "operator"
    session.commit()
    assert is_held_by_operator(session, "telegram", "77")
    assert not is_held_by_operator(session, "zalo", "77")
    assert not is_held_by_operator(session, "telegram", "unknown")
