"""`trend` and `share`: how much relevant news each company drew, day by day, as charts.

The store counts stories per company and UTC day (a story once, on the day of its first
article); `counts_by_day` lays those counts out over the window, and the rendering
(bot/trends/chart.py) runs off the event loop through the chart cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.models import Attachment
from bot.store import queries
from bot.trends.cache import ChartCache, ChartKey
from bot.trends.series import (
    CompanySeries,
    ShareRow,
    TrendData,
    caption,
    colours_for,
    share_lines,
    share_of_voice,
)

if TYPE_CHECKING:
    from bot.store.repo import Store

DEFAULT_TREND_DAYS = 30
DEFAULT_SHARE_DAYS = 7
MAX_CHART_DAYS = 365
MAX_TREND_COMPANIES = 8
SHARE_SHOWN = 10

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
    async with store.engine.connect() as conn:
        rows = await conn.run_sync(
            queries.first_day_counts, company_ids, since, until, min_score=min_score
        )
        sources = await conn.run_sync(
            queries.source_count, company_ids, since, until, min_score=min_score
        )
    counts = counts_by_day(rows, window, company_ids)
    series = tuple(
        CompanySeries(company, names.get(company, company), counts[company])
        for company in company_ids
    )
    return TrendData(days=window, series=series, source_count=sources)


def trend_title(data: TrendData) -> str:
    names = [s.name for s in data.series]
    shown = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return f"{shown}: relevant stories per day, last {data.window_days} days"


def trend_lines(data: TrendData) -> tuple[str, ...]:
    totals = " · ".join(f"{s.name} {s.total:,}" for s in data.series)
    return (caption(data) + " (UTC days; the last is today so far).", f"Totals: {totals}.")


def share_title(days: int) -> str:
    return f"Share of voice, last {days} days"


def chart_filename(kind: str, company_ids: Sequence[str], days: int) -> str:
    about = "-".join(company_ids[:4]) + ("-more" if len(company_ids) > 4 else "")
    return f"{kind}-{about}-{days}d.png" if about else f"{kind}-{days}d.png"


async def trend_chart(
    data: TrendData, catalog_ids: Sequence[str], charts: ChartCache | None
) -> Attachment:
    from bot.trends.chart import render_trend_png

    ids = tuple(s.company_id for s in data.series)
    colours = colours_for(data.series, catalog_ids)
    title = trend_title(data)
    png = await _render(
        charts,
        ChartKey("trend", ids, data.window_days, data.last_day),
        lambda: render_trend_png(data, colours, title),
    )
    return Attachment(chart_filename("trend", ids, data.window_days), png, title)


async def share_chart(
    data: TrendData, catalog_ids: Sequence[str], charts: ChartCache | None
) -> Attachment:
    from bot.trends.chart import render_share_png

    rows = covered(data)[:SHARE_SHOWN]
    colours = colours_for(rows, catalog_ids)
    title = share_title(data.window_days)
    text = share_caption(data)
    png = await _render(
        charts,
        ChartKey("share", (), data.window_days, data.last_day),
        lambda: render_share_png(rows, colours, title, text),
    )
    return Attachment(chart_filename("share", (), data.window_days), png, title)


def covered(data: TrendData) -> list[ShareRow]:
    """Share of voice of the companies with stories in the window, most first."""
    return [row for row in share_of_voice(data) if row.stories]


def top_companies(data: TrendData, limit: int) -> list[str]:
    return [row.company_id for row in covered(data)][:limit]


async def _render(charts: ChartCache | None, key: ChartKey, render: Callable[[], bytes]) -> bytes:
    if charts is None:  # a one-off (chipwire trend, ask): no cache to keep
        return await asyncio.to_thread(render)
    return await charts.get(key, render)


def share_caption(data: TrendData) -> str:
    """The trend caption without "per day": a share counts the whole window."""
    return caption(data).replace(" per day", "", 1) + " (UTC days)"


def share_reply_lines(data: TrendData) -> tuple[str, ...]:
    return (*share_lines(covered(data), SHARE_SHOWN), share_caption(data) + ".")
