"""What a trend looks like to a reader: titles, captions and chart attachments.

The rendering (bot/trends/chart.py) runs off the event loop through the chart cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from bot.models import Attachment
from bot.trends.cache import ChartCache, ChartKey
from bot.trends.series import ShareRow, TrendData, caption, colours_for, share_lines, share_of_voice

DEFAULT_TREND_DAYS = 30
DEFAULT_SHARE_DAYS = 7
MAX_CHART_DAYS = 365
MAX_TREND_COMPANIES = 8
SHARE_SHOWN = 10


def trend_title(data: TrendData) -> str:
    names = _listed([s.name for s in data.series])
    return f"{names}: relevant stories per day, {_last_days(data.window_days)}"


CHART_TITLE_NAMES = 3  # more names than this would not fit a chart's title line


def chart_title(data: TrendData) -> str:
    """The chart's own heading: short enough for one line (the legend or panels name the rest)."""
    names = [s.name for s in data.series]
    about = _listed(names) if len(names) <= CHART_TITLE_NAMES else f"{len(names)} companies"
    return f"{about}: relevant stories, {_last_days(data.window_days)}"


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def _last_days(days: int) -> str:
    return "today" if days == 1 else f"last {days} days"


def trend_lines(data: TrendData) -> tuple[str, ...]:
    totals = " · ".join(f"{s.name} {s.total:,}" for s in data.series)
    return (caption(data) + " (UTC days; the last is today so far).", f"Totals: {totals}.")


def share_title(days: int) -> str:
    return f"Share of mentions, last {days} days"


def chart_filename(kind: str, company_ids: Sequence[str], days: int) -> str:
    about = "-".join(company_ids[:4]) + ("-more" if len(company_ids) > 4 else "")
    return f"{kind}-{about}-{days}d.png" if about else f"{kind}-{days}d.png"


async def trend_chart(
    data: TrendData, catalog_ids: Sequence[str], charts: ChartCache | None
) -> Attachment:
    from bot.trends.chart import render_trend_png

    ids = tuple(s.company_id for s in data.series)
    colours = colours_for(data.series, catalog_ids)
    heading = chart_title(data)
    png = await _render(
        charts,
        ChartKey("trend", ids, data.window_days, data.last_day),
        lambda: render_trend_png(data, colours, heading),
    )
    return Attachment(chart_filename("trend", ids, data.window_days), png, trend_title(data))


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
    """Share of mentions of the companies with stories in the window, most first."""
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
