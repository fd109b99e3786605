"""The Vietnamese lunar calendar (âm lịch): the solar date of a lunar date, months reckoned at UTC+7.

Tết and Giỗ Tổ Hùng Vương are lunar dates. Vietnam reckons its months at UTC+7, China at UTC+8, so a
Chinese calendar is a month off in some years (Tết 1985: 21 January here, 20 February there). New moons
and the sun's longitude follow Meeus' series, as in Hồ Ngọc Đức's well-known algorithm; good to a day
for centuries around now."""
from __future__ import annotations

import math
from datetime import date, timedelta
from functools import lru_cache

TIME_ZONE = 7.0  # hours east of UTC
_EPOCH = 2415021.076998695  # Julian day of the new moon of 1 January 1900
_SYNODIC = 29.530588853  # days between new moons
_RADIAN = math.pi / 180


def solar_date(year: int, month: int, day: int) -> date:
    """The solar date of lunar ``day``/``month`` (not a leap month) of lunar ``year``; a day past the month's
    end (30 in a 29-day month) is the month's last day, so 12-30 is always New Year's Eve."""
    start, length = _month(year, month)
    return start + timedelta(days=min(day, length) - 1)


@lru_cache(maxsize=256)
def _month(year: int, month: int) -> tuple[date, int]:
    """The first solar day of lunar ``month`` of ``year``, and how many days it has."""
    before, after = (_month11(year - 1), _month11(year)) if month < 11 else (_month11(year), _month11(year + 1))
    k = int(0.5 + (before - _EPOCH) / _SYNODIC)
    offset = (month - 11) % 12
    if after - before > 365:  # thirteen months: the leap month comes after the month it repeats
        leap = _leap_offset(before)
        if offset >= leap:
            offset += 1
    first = _new_moon_day(k + offset)
    return _date(first), _new_moon_day(k + offset + 1) - first


def _month11(year: int) -> int:
    """Julian day number of the first day of the 11th lunar month, the one holding the winter solstice."""
    k = int((_julian_day(date(year, 12, 31)) - 2415021) / _SYNODIC)
    start = _new_moon_day(k)
    return _new_moon_day(k - 1) if _sun_sector(start) >= 9 else start


def _leap_offset(month11: int) -> int:
    """Months after the 11th until the first one with no major solar term (the leap month)."""
    k = int((month11 - _EPOCH) / _SYNODIC + 0.5)
    i, sector = 1, _sun_sector(_new_moon_day(k + 1))
    while True:
        i, last = i + 1, sector
        sector = _sun_sector(_new_moon_day(k + i))
        if sector == last or i >= 14:
            return i - 1


def _new_moon_day(k: int) -> int:
    """Julian day number, local time, of the ``k``-th new moon after 1 January 1900."""
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    jd = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * _RADIAN)
    sun = (359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3) * _RADIAN
    moon = (306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3) * _RADIAN
    latitude = (21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3) * _RADIAN
    correction = ((0.1734 - 0.000393 * t) * math.sin(sun) + 0.0021 * math.sin(2 * sun)
                  - 0.4068 * math.sin(moon) + 0.0161 * math.sin(2 * moon) - 0.0004 * math.sin(3 * moon)
                  + 0.0104 * math.sin(2 * latitude) - 0.0051 * math.sin(sun + moon) - 0.0074 * math.sin(sun - moon)
                  + 0.0004 * math.sin(2 * latitude + sun) - 0.0004 * math.sin(2 * latitude - sun)
                  - 0.0006 * math.sin(2 * latitude + moon) + 0.0010 * math.sin(2 * latitude - moon)
                  + 0.0005 * math.sin(2 * moon + sun))
    if t < -11:
        delta = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        delta = -0.000278 + 0.000265 * t + 0.000262 * t2
    return int(jd + correction - delta + 0.5 + TIME_ZONE / 24)


def _sun_sector(day: int) -> int:
    """Which twelfth of the ecliptic (0 from the spring equinox) the sun is in at local midnight starting ``day``."""
    t = (day - 0.5 - TIME_ZONE / 24 - 2451545.0) / 36525
    t2 = t * t
    anomaly = (357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2) * _RADIAN
    longitude = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    longitude += ((1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(anomaly)
                  + (0.019993 - 0.000101 * t) * math.sin(2 * anomaly) + 0.000290 * math.sin(3 * anomaly))
    longitude = (longitude * _RADIAN) % (2 * math.pi)
    return int(longitude / math.pi * 6)


def _julian_day(day: date) -> int:
    return day.toordinal() + 1721425


def _date(julian_day: int) -> date:
    return date.fromordinal(julian_day - 1721425)
