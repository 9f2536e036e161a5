"""Digest schedules: the forms people write, and the times they fire (APScheduler's triggers).

Pure time arithmetic; `bot/run.py` runs the clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"([01]?\d|2[0-3]):([0-5]\d)"
_FORMS = (
    (re.compile(rf"daily {_TIME}"), "{m} {h} * * *"),
    (re.compile(rf"weekdays {_TIME}"), "{m} {h} * * mon-fri"),
    (re.compile(rf"weekly ({'|'.join(DAYS)}) {_TIME}"), "{m} {h} * * {day}"),
)
HELP = (
    'use "daily HH:MM", "weekdays HH:MM", "weekly mon HH:MM" (mon … sun) '
    'or a 5-field cron expression such as "0 8 * * 1-5"'
)


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # any start will do: a date that exists recurs


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; the message says what would work."""


def parse_schedule(text: str) -> str:
    """'daily 08:00' → '0 8 * * *'; a 5-field cron expression is checked and kept."""
    cleaned = " ".join(text.lower().split())
    for pattern, template in _FORMS:
        match = pattern.fullmatch(cleaned)
        if match:
            *day, hour, minute = match.groups()
            return template.format(m=int(minute), h=int(hour), day=day[0] if day else "")
    if len(cleaned.split()) == 5:
        try:
            trigger = CronTrigger.from_crontab(apscheduler_crontab(cleaned), timezone="UTC")
        except ValueError as exc:
            message = f"schedule {text!r} is not a valid cron expression ({exc}); {HELP}"
            raise ScheduleError(message) from None
        if trigger.get_next_fire_time(None, _EPOCH) is None:  # e.g. 0 0 31 2 *: 31 February
            raise ScheduleError(f"schedule {text!r} can never fire (no such date); {HELP}")
        return cleaned
    raise ScheduleError(f"schedule {text!r} is not understood; {HELP}")


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"time zone {name!r} is unknown; use an IANA name such as Europe/Rome, "
            "Asia/Shanghai or UTC"
        ) from None
    return name


def _trigger(cron: str, timezone: str) -> CronTrigger:
    return CronTrigger.from_crontab(apscheduler_crontab(cron), timezone=ZoneInfo(timezone))


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMERIC_DAYS = re.compile(r"(\*|\d)(?:-(\d))?(?:/(\d+))?")


def apscheduler_crontab(cron: str) -> str:
    """APScheduler 3 counts weekdays from Monday = 0; cron from Sunday = 0 (and 7). Numeric
    weekdays are spelled out as names, which both read alike: "0 9 * * 1" fires on Mondays."""
    *rest, weekday = cron.split()
    return " ".join([*rest, ",".join(_weekday_names(part) for part in weekday.split(","))])


def _weekday_names(part: str) -> str:
    match = _NUMERIC_DAYS.fullmatch(part)
    if match is None:  # names (mon-fri) or something from_crontab will reject with a reason
        return part
    first, last, step = match.groups()
    if first == "*":
        start, end = 0, 6
    else:
        start, end = int(first), int(last) if last is not None else int(first)
        if last is None and step is not None:
            end = 6
    if not (0 <= start <= 7 and 0 <= end <= 7 and start <= end):
        return part
    days = sorted({day % 7 for day in range(start, end + 1, int(step or 1))})
    return ",".join(_DAY_NAMES[day] for day in days)


def fire_times(cron: str, timezone: str, after: datetime, until: datetime) -> list[datetime]:
    """Every fire time t with after < t <= until, in UTC (DST handled by the trigger)."""
    trigger = _trigger(cron, timezone)
    times: list[datetime] = []
    previous = None
    moment = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    while moment is not None and moment <= until:
        times.append(moment.astimezone(UTC))
        previous = moment
        moment = trigger.get_next_fire_time(previous, previous)
    return times


def last_fire(cron: str, timezone: str, now: datetime, lookback: timedelta) -> datetime | None:
    """The latest fire time at or before `now`, looking back at most `lookback`."""
    times = fire_times(cron, timezone, now - lookback, now)
    return times[-1] if times else None


_PERIOD_REACH = (timedelta(days=8), timedelta(days=32))  # a week and a weekend, then a month


def period_start(cron: str, timezone: str, end: datetime, lookback: timedelta) -> datetime:
    """Where the period ending at ``end`` starts when no digest of it came before: the schedule's
    previous fire time, so a weekly digest covers its week and a weekdays digest on Monday the
    weekend; at least ``lookback`` back (a daily digest keeps its day), at most 32 days."""
    floor = end - lookback
    following = _trigger(cron, timezone).get_next_fire_time(None, floor)
    if following is not None and following < end:
        return floor  # fired within the lookback: the lookback already covers the period
    for reach in _PERIOD_REACH:
        times = fire_times(cron, timezone, end - reach, floor)
        if times:
            return times[-1]
    return end - _PERIOD_REACH[-1]


def next_fire(cron: str, timezone: str, now: datetime) -> datetime:
    after = now + timedelta(microseconds=1)
    moment: datetime | None = _trigger(cron, timezone).get_next_fire_time(None, after)
    assert moment is not None  # a valid crontab always fires again
    return moment.astimezone(UTC)


def is_weekly(cron: str) -> bool:
    """Fires on one day of the week: "weekly mon 09:00" or a cron such as "0 9 * * 1"."""
    _minute, _hour, day, month, weekday = cron.split()
    return day == "*" and month == "*" and weekday.isalnum()


def trigger_for(cron: str, timezone: str) -> CronTrigger:
    """The trigger the running scheduler uses, so it fires exactly when these functions say."""
    return _trigger(cron, timezone)
