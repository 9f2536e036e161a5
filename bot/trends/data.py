"""Trend numbers read from the store: each company's relevant stories per UTC day of a window.

The store counts stories per company and UTC day (a story once, on the day of its first
article); `counts_by_day` lays those counts out over the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.trends.series import CompanySeries, TrendData

if TYPE_CHECKING:
    from bot.store.repo import Store

DayCount = tuple[str, str, int]  # company id, UTC day "YYYY-MM-DD", stories


def window_days(today: date, days: int) -> tuple[date, ...]:
    """The `days` UTC days ending with `today`, oldest first."""
    return tuple(today - timedelta(days=offset) for offset in range(days - 1, -1, -1))


def window_bounds(days: Sequence[date]) -> tuple[datetime, datetime]:
    """[midnight UTC of the first day, midnight UTC after the last)."""
    start = datetime.combine(days[0], time(), tzinfo=UTC)
    return start, datetime.combine(days[-1] + timedelta(days=1), time(), tzinfo=UTC)


def counts_by_day(
    rows: Iterable[DayCount], days: Sequence[date], company_ids: Sequence[str]
) -> dict[str, tuple[int, ...]]:
    """Each company's stories per day of the window, 0 where the store had none."""
    position = {day.isoformat(): index for index, day in enumerate(days)}
    counts = {company: [0] * len(days) for company in company_ids}
    for company, day, stories in rows:
        if company in counts and day in position:
            counts[company][position[day]] += stories
    return {company: tuple(values) for company, values in counts.items()}


async def trend_data(
    store: Store,
    names: Mapping[str, str],
    company_ids: Sequence[str],
    *,
    days: int,
    today: date,
    min_score: float,
) -> TrendData:
    """Daily relevant-story counts of the companies over the `days` UTC days ending `today`."""
    window = window_days(today, days)
    since, until = window_bounds(window)
    rows, sources = await store.trend_counts(company_ids, since, until, min_score=min_score)
    counts = counts_by_day(rows, window, company_ids)
    series = tuple(
        CompanySeries(company, names.get(company, company), counts[company])
        for company in company_ids
    )
    return TrendData(days=window, series=series, source_count=sources)
