"""Schedules as people write them, and when they fire across time zones and DST changes."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.digest.schedules import (
    ScheduleError,
    check_timezone,
    fire_times,
    is_weekly,
    last_fire,
    parse_schedule,
    period_start,
)


@pytest.mark.parametrize(
    ("text", "cron"),
    [
        ("daily 08:00", "0 8 * * *"),
        ("Daily  7:30", "30 7 * * *"),
        ("weekdays 18:00", "0 18 * * mon-fri"),
        ("weekly mon 09:00", "0 9 * * mon"),
        ("0 8 * * 1-5", "0 8 * * 1-5"),
    ],
)
def test_forms_become_cron(text: str, cron: str) -> None:
    assert parse_schedule(text) == cron


@pytest.mark.parametrize(
    "text", ["every morning", "daily 25:00", "weekly funday 09:00", "0 99 * * *"]
)
def test_bad_schedules_say_what_works(text: str) -> None:
    with pytest.raises(ScheduleError, match="daily HH:MM"):
        parse_schedule(text)


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ScheduleError, match="IANA"):
        check_timezone("Europe/Atlantis")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_rome_daily_digest_follows_the_spring_dst_change() -> None:
    times = fire_times("0 8 * * *", "Europe/Rome", utc(2026, 3, 27), utc(2026, 3, 31))
    assert times == [
        utc(2026, 3, 27, 7),
        utc(2026, 3, 28, 7),
        utc(2026, 3, 29, 6),
        utc(2026, 3, 30, 6),
    ]


def test_rome_daily_digest_follows_the_autumn_dst_change() -> None:
    times = fire_times("0 8 * * *", "Europe/Rome", utc(2026, 10, 23), utc(2026, 10, 27))
    assert times == [
        utc(2026, 10, 23, 6),
        utc(2026, 10, 24, 6),
        utc(2026, 10, 25, 7),
        utc(2026, 10, 26, 7),
    ]


def test_shanghai_has_no_dst_so_eight_is_always_midnight_utc() -> None:
    times = fire_times("0 8 * * *", "Asia/Shanghai", utc(2026, 3, 26, 12), utc(2026, 3, 30, 12))
    assert times == [utc(2026, 3, 27), utc(2026, 3, 28), utc(2026, 3, 29), utc(2026, 3, 30)]


def test_last_fire_finds_the_missed_weekly_digest() -> None:
    monday_nine_rome = utc(2026, 11, 23, 8)
    now = utc(2026, 11, 28, 12)
    assert last_fire("0 9 * * mon", "Europe/Rome", now, timedelta(days=8)) == monday_nine_rome


@pytest.mark.parametrize(
    ("cron", "weekdays"),
    [
        ("0 9 * * 1", {"Mon"}),
        ("0 9 * * 0", {"Sun"}),
        ("0 9 * * 7", {"Sun"}),
        ("0 9 * * 1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
        ("0 9 * * 5-7", {"Fri", "Sat", "Sun"}),
        ("0 9 * * */2", {"Sun", "Tue", "Thu", "Sat"}),
        ("0 9 * * 1,3", {"Mon", "Wed"}),
        ("0 9 * * mon-fri", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
    ],
)
def test_numeric_weekdays_mean_what_they_mean_in_cron(cron: str, weekdays: set[str]) -> None:
    start = datetime(2026, 11, 28, 10, tzinfo=UTC)
    fired = fire_times(parse_schedule(cron), "UTC", start, start + timedelta(days=14))
    assert {moment.strftime("%a") for moment in fired} == weekdays


@pytest.mark.parametrize(
    ("schedule", "weekly"),
    [
        ("weekly mon 09:00", True),
        ("0 9 * * 1", True),
        ("daily 08:00", False),
        ("weekdays 18:00", False),
        ("0 9 1 * 1", False),
    ],
)
def test_weekly_schedules_are_told_apart(schedule: str, weekly: bool) -> None:
    assert is_weekly(parse_schedule(schedule)) is weekly


@pytest.mark.parametrize(
    ("cron", "end", "start"),
    [
        # a weekly digest covers its week, whatever the lookback
        (
            "0 9 * * mon",
            datetime(2026, 11, 23, 8, tzinfo=UTC),
            datetime(2026, 11, 16, 8, tzinfo=UTC),
        ),
        # Monday's weekdays digest covers the weekend from Friday's
        (
            "0 8 * * mon-fri",
            datetime(2026, 11, 23, 7, tzinfo=UTC),
            datetime(2026, 11, 20, 7, tzinfo=UTC),
        ),
        # Tuesday's covers one day: the lookback
        (
            "0 8 * * mon-fri",
            datetime(2026, 11, 24, 7, tzinfo=UTC),
            datetime(2026, 11, 23, 7, tzinfo=UTC),
        ),
        # more often than the lookback: the lookback still (a first digest is never thinner)
        (
            "0 */6 * * *",
            datetime(2026, 11, 24, 6, tzinfo=UTC),
            datetime(2026, 11, 23, 6, tzinfo=UTC),
        ),
        # a monthly digest covers its month
        ("0 9 1 * *", datetime(2026, 12, 1, 8, tzinfo=UTC), datetime(2026, 11, 1, 8, tzinfo=UTC)),
        # yearly: capped at 32 days
        ("0 9 1 1 *", datetime(2027, 1, 1, 8, tzinfo=UTC), datetime(2026, 11, 30, 8, tzinfo=UTC)),
    ],
)
def test_a_first_digest_covers_the_schedules_period(
    cron: str, end: datetime, start: datetime
) -> None:
    assert period_start(cron, "Europe/Rome", end, timedelta(hours=24)) == start
