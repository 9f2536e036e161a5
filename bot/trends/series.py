"""Trend values: daily story counts per company, share of mentions, captions and colours. Pure.

A ``TrendData`` is a window of consecutive UTC days and, per company, one count per day (the store
fills days without stories with 0). Colours come from a fixed qualitative palette indexed by the
company's position in the catalog, so a company keeps its colour across charts, runs and processes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import pairwise
from math import ceil
from typing import Protocol

# Okabe & Ito's colour-blind-safe set (its yellow left out: too pale for a line on white) and
# Paul Tol's wine: every pair stays apart under deuteranopia, protanopia and tritanopia
# (tests/trends/test_series.py simulates them). One chart shows at most eight companies.
PALETTE: tuple[str, ...] = (
    "#0072b2",  # blue
    "#e69f00",  # orange
    "#009e73",  # bluish green
    "#d55e00",  # vermillion
    "#56b4e9",  # sky blue
    "#cc79a7",  # reddish purple
    "#882255",  # wine
    "#000000",  # black
)

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CompanySeries:
    """One company's relevant stories per day, in the order of ``TrendData.days``."""

    company_id: str
    name: str
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class TrendData:
    """Consecutive days, one series per company (ids unique), and the sources counted."""

    days: tuple[date, ...]
    series: tuple[CompanySeries, ...]
    source_count: int

    def __post_init__(self) -> None:
        _check_days(self.days)
        if self.source_count < 0:
            raise ValueError(f"source_count must be >= 0, got {self.source_count}")
        seen: set[str] = set()
        for s in self.series:
            _check_series(s, len(self.days))
            if s.company_id in seen:
                raise ValueError(f"company {s.company_id!r} has more than one series")
            seen.add(s.company_id)

    @property
    def first_day(self) -> date:
        return self.days[0]

    @property
    def last_day(self) -> date:
        return self.days[-1]

    @property
    def window_days(self) -> int:
        return len(self.days)


def _check_days(days: tuple[date, ...]) -> None:
    if not days:
        raise ValueError("TrendData needs at least one day")
    for earlier, later in pairwise(days):
        if later - earlier != _ONE_DAY:
            raise ValueError(
                f"days must be consecutive and ascending: {later.isoformat()} "
                f"follows {earlier.isoformat()}"
            )


def _check_series(s: CompanySeries, day_count: int) -> None:
    if len(s.counts) != day_count:
        raise ValueError(f"series {s.company_id!r} has {len(s.counts)} counts for {day_count} days")
    if any(c < 0 for c in s.counts):
        raise ValueError(f"series {s.company_id!r} has a negative count")


@dataclass(frozen=True, slots=True)
class ShareRow:
    """A company's stories over the window and its fraction of all companies' stories."""

    company_id: str
    name: str
    stories: int
    share: float


def share_of_voice(data: TrendData) -> tuple[ShareRow, ...]:
    """Companies ranked by stories (most first), then by name; shares are 0.0 when nothing ran."""
    totals = [(s, s.total) for s in data.series]
    grand = sum(total for _, total in totals)
    rows = (
        ShareRow(s.company_id, s.name, total, total / grand if grand else 0.0)
        for s, total in totals
    )
    return tuple(sorted(rows, key=lambda r: (-r.stories, r.name.casefold(), r.company_id)))


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def caption(data: TrendData) -> str:
    """'Relevant stories per day, 30 Oct – 28 Nov 2026 (30 days), from 17 sources'."""
    days = _plural(data.window_days, "day", "days")
    sources = _plural(data.source_count, "source", "sources")
    return f"Relevant stories per day, {day_span(data.first_day, data.last_day)} ({days}), from {sources}"


def day_label(day: date, *, year: bool = False) -> str:
    """'28 Nov', or '28 Nov 2026' with the year: months named, never a bare number."""
    return f"{day.day} {day:%b}" + (f" {day.year}" if year else "")


def day_span(first: date, last: date) -> str:
    """'30 Oct – 28 Nov 2026'; the year on both ends only when they differ."""
    if first == last:
        return day_label(last, year=True)
    return f"{day_label(first, year=first.year != last.year)} – {day_label(last, year=True)}"


WEEKLY_FROM_DAYS = (
    28  # from four weeks on, daily counts are spiky noise; weekly totals show a trend
)
_WEEK = 7
_DAY_TICKS_UP_TO_DAYS = 120  # longer spans are ticked by month


@dataclass(frozen=True, slots=True)
class ChartBins:
    """What a trend chart draws: per company one count per bin of ``bin_days`` days, each bin
    named by its last day. ``dropped_days`` leading days of the window fill no whole week."""

    ends: tuple[date, ...]
    bin_days: int
    series: tuple[CompanySeries, ...]
    source_count: int
    dropped_days: int = 0

    @property
    def first_day(self) -> date:
        return self.ends[0] - timedelta(days=self.bin_days - 1)

    @property
    def last_day(self) -> date:
        return self.ends[-1]

    @property
    def unit(self) -> str:
        return "week" if self.bin_days == _WEEK else "day"


def chart_bins(data: TrendData) -> ChartBins:
    """Daily counts for short windows; for ``WEEKLY_FROM_DAYS`` days and more, weeks ending on
    the window's last day (a leading part-week is left out rather than drawn as a false dip)."""
    if data.window_days < WEEKLY_FROM_DAYS:
        return ChartBins(data.days, 1, data.series, data.source_count)
    skip = data.window_days % _WEEK
    series = tuple(replace(s, counts=tuple(_weekly_sums(s.counts[skip:]))) for s in data.series)
    ends = data.days[skip + _WEEK - 1 :: _WEEK]
    return ChartBins(ends, _WEEK, series, data.source_count, dropped_days=skip)


def _weekly_sums(counts: Sequence[int]) -> Iterable[int]:
    return (sum(counts[i : i + _WEEK]) for i in range(0, len(counts), _WEEK))


def bins_caption(bins: ChartBins) -> str:
    """'Stories per week (7 days to each date) · 1 Nov – 28 Nov 2026 · 17 sources'."""
    per = "per week (7 days to each date)" if bins.unit == "week" else "per day (UTC)"
    span = day_span(bins.first_day, bins.last_day)
    return f"Stories {per} · {span} · {_plural(bins.source_count, 'source', 'sources')}"


def ticks(ends: Sequence[date], max_ticks: int) -> tuple[tuple[int, str], ...]:
    """(index into ``ends``, label) for the x axis: '28 Nov' days, or 'Nov' months for long spans,
    with the year where the span crosses into another; the last point always gets a day tick."""
    if max_ticks < 1:
        raise ValueError(f"max_ticks must be >= 1, got {max_ticks}")
    if not ends:
        return ()
    crosses_years = ends[0].year != ends[-1].year
    span_days = (ends[-1] - ends[0]).days
    if len(ends) <= max_ticks or span_days <= _DAY_TICKS_UP_TO_DAYS:
        step = ceil(len(ends) / max_ticks)
        chosen = sorted(range(len(ends) - 1, -1, -step))
        return tuple(
            (i, day_label(ends[i], year=crosses_years and _first_of_year(ends, chosen, i)))
            for i in chosen
        )
    month_starts = [i for i in range(1, len(ends)) if ends[i].month != ends[i - 1].month]
    step = ceil(len(month_starts) / max_ticks)
    chosen = month_starts[::-1][::step][::-1]
    return tuple(
        (i, f"{ends[i]:%b}" + (f" {ends[i].year}" if crosses_years and ends[i].month == 1 else ""))
        for i in chosen
    )


def _first_of_year(ends: Sequence[date], chosen: Sequence[int], i: int) -> bool:
    earlier = [j for j in chosen if j < i]
    return not earlier or ends[earlier[-1]].year != ends[i].year


def percent(share: float) -> str:
    """A share as a whole percentage; a small non-zero share reads '<1%' rather than '0%'."""
    if 0.0 < share < 0.005:
        return "<1%"
    return f"{share:.0%}"


def share_lines(rows: Sequence[ShareRow], limit: int = 10) -> tuple[str, ...]:
    """'1. Nvidia — 412 stories (38% of mentions)' for the first ``limit`` rows, in the order given.

    A story naming two companies counts for each, so the percentage is a share of company
    mentions, not of stories."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    return tuple(
        f"{rank}. {row.name} — {_plural(row.stories, 'story', 'stories')} ({percent(row.share)} of mentions)"
        for rank, row in enumerate(rows[:limit], start=1)
    )


def _palette_index(company_id: str, catalog_ids: Sequence[str]) -> int:
    try:
        return catalog_ids.index(company_id) % len(PALETTE)
    except ValueError:
        # not hash(): string hashing is salted per process
        return zlib.crc32(company_id.encode("utf-8")) % len(PALETTE)


def colour_for(company_id: str, catalog_ids: Sequence[str]) -> str:
    """The company's stable colour: its catalog position in the palette (crc32 when not listed)."""
    return PALETTE[_palette_index(company_id, catalog_ids)]


class HasCompanyId(Protocol):
    @property
    def company_id(self) -> str: ...


def colours_for(companies: Iterable[HasCompanyId], catalog_ids: Sequence[str]) -> dict[str, str]:
    """company id → colour, distinct within one chart (up to the palette's size).

    A company whose colour is taken takes the next unused palette entry; beyond ``len(PALETTE)``
    companies colours repeat, as there is nothing distinct left.
    """
    used: set[int] = set()
    result: dict[str, str] = {}
    for company in companies:
        if company.company_id in result:
            continue
        index = _palette_index(company.company_id, catalog_ids)
        index = _next_unused(index, used)
        used.add(index)
        result[company.company_id] = PALETTE[index]
    return result


def _next_unused(index: int, used: set[int]) -> int:
    for step in range(len(PALETTE)):
        candidate = (index + step) % len(PALETTE)
        if candidate not in used:
            return candidate
    return index
