"""Trend values: daily story counts per company, share of voice, captions and colours. Pure.

A ``TrendData`` is a window of consecutive UTC days and, per company, one count per day (the store
fills days without stories with 0). Colours come from a fixed qualitative palette indexed by the
company's position in the catalog, so a company keeps its colour across charts, runs and processes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Protocol

# Tableau 20 with the ten strong hues first, so neighbouring catalog positions never get two
# shades of one hue until the strong ones run out.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
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
    """'Relevant stories per day, 2026-10-30 – 2026-11-28 (30 days), from 17 sources'."""
    span = data.first_day.isoformat()
    if data.window_days > 1:
        span = f"{span} – {data.last_day.isoformat()}"
    days = _plural(data.window_days, "day", "days")
    sources = _plural(data.source_count, "source", "sources")
    return f"Relevant stories per day, {span} ({days}), from {sources}"


def percent(share: float) -> str:
    """A share as a whole percentage; a small non-zero share reads '<1%' rather than '0%'."""
    if 0.0 < share < 0.005:
        return "<1%"
    return f"{share:.0%}"


def share_lines(rows: Sequence[ShareRow], limit: int = 10) -> tuple[str, ...]:
    """'1. Nvidia — 412 stories (38%)' for the first ``limit`` rows, in the order given."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    return tuple(
        f"{rank}. {row.name} — {_plural(row.stories, 'story', 'stories')} ({percent(row.share)})"
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
