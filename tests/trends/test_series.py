"""Trend values: validation, share of voice, captions, ranked text and stable, distinct colours."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import zlib
from datetime import date
from itertools import combinations
from pathlib import Path

import pytest

from bot.trends.present import MAX_TREND_COMPANIES
from bot.trends.series import (
    PALETTE,
    WEEKLY_FROM_DAYS,
    CompanySeries,
    ShareRow,
    TrendData,
    bins_caption,
    caption,
    chart_bins,
    colour_for,
    colours_for,
    share_lines,
    share_of_voice,
    ticks,
)
from tests.trends.support import LAST_DAY as LAST
from tests.trends.support import trend, window

REPO = Path(__file__).resolve().parents[2]


def test_trend_data_properties() -> None:
    data = trend(("nvidia", "Nvidia", (1, 2, 3)))
    assert data.first_day == date(2026, 11, 26)
    assert data.last_day == date(2026, 11, 28)
    assert data.window_days == 3
    assert data.series[0].total == 6


def test_trend_data_allows_no_series() -> None:
    data = TrendData(window(7), (), 0)
    assert data.window_days == 7
    assert share_of_voice(data) == ()


@pytest.mark.parametrize(
    ("days", "series", "sources", "message"),
    [
        (window(3), (CompanySeries("nvidia", "Nvidia", (1, 2)),), 1, "'nvidia' has 2 counts for 3"),
        ((), (), 1, "at least one day"),
        (window(3)[::-1], (), 1, "consecutive and ascending"),
        ((date(2026, 11, 1), date(2026, 11, 3)), (), 1, "2026-11-03 follows 2026-11-01"),
        ((date(2026, 11, 1), date(2026, 11, 1)), (), 1, "consecutive"),
        (window(2), (CompanySeries("amd", "AMD", (1, -1)),), 1, "'amd' has a negative count"),
        (
            window(1),
            (CompanySeries("amd", "AMD", (1,)), CompanySeries("amd", "AMD again", (2,))),
            1,
            "'amd' has more than one series",
        ),
        (window(1), (), -1, "source_count must be >= 0"),
    ],
)
def test_trend_data_rejects_inconsistent_values(
    days: tuple[date, ...], series: tuple[CompanySeries, ...], sources: int, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TrendData(days, series, sources)


def test_share_of_voice_ranks_by_stories_then_name() -> None:
    data = trend(
        ("intel", "Intel", (1, 1, 0, 0)),
        ("nvidia", "Nvidia", (3, 2, 1, 0)),
        ("amd", "AMD", (0, 0, 1, 1)),
        ("arm", "arm", (0, 0, 0, 0)),
    )
    rows = share_of_voice(data)
    assert [(r.company_id, r.stories) for r in rows] == [
        ("nvidia", 6),
        ("amd", 2),  # ties on stories go by name, case-insensitively: AMD before Intel
        ("intel", 2),
        ("arm", 0),
    ]
    assert [r.share for r in rows] == [0.6, 0.2, 0.2, 0.0]
    assert rows[0] == ShareRow("nvidia", "Nvidia", 6, 0.6)


def test_share_of_voice_all_zero_has_zero_shares() -> None:
    data = trend(("nvidia", "Nvidia", (0, 0)), ("amd", "AMD", (0, 0)))
    rows = share_of_voice(data)
    assert [(r.name, r.stories, r.share) for r in rows] == [("AMD", 0, 0.0), ("Nvidia", 0, 0.0)]


def test_caption_plural() -> None:
    data = trend(("nvidia", "Nvidia", (0,) * 30))
    assert caption(data) == (
        "Relevant stories per day, 30 Oct – 28 Nov 2026 (30 days), from 17 sources"
    )


def test_caption_singular_day_and_source() -> None:
    data = trend(("nvidia", "Nvidia", (4,)), sources=1)
    assert caption(data) == "Relevant stories per day, 28 Nov 2026 (1 day), from 1 source"


def test_caption_zero_sources_is_plural() -> None:
    assert caption(trend(("nvidia", "Nvidia", (0, 0)), sources=0)).endswith("from 0 sources")


def test_share_lines_format_and_limit() -> None:
    rows = (
        ShareRow("nvidia", "Nvidia", 412, 0.38),
        ShareRow("amd", "AMD", 1, 0.004),
        ShareRow("intel", "Intel", 0, 0.0),
    )
    assert share_lines(rows) == (
        "1. Nvidia — 412 stories (38% of mentions)",
        "2. AMD — 1 story (<1% of mentions)",
        "3. Intel — 0 stories (0% of mentions)",
    )
    assert share_lines(rows, limit=1) == ("1. Nvidia — 412 stories (38% of mentions)",)
    assert share_lines(rows, limit=0) == ()
    with pytest.raises(ValueError, match="limit"):
        share_lines(rows, limit=-1)


def test_share_lines_from_share_of_voice() -> None:
    data = trend(("nvidia", "Nvidia", (2000, 1000)), ("amd", "AMD", (1000, 0)))
    assert share_lines(share_of_voice(data)) == (
        "1. Nvidia — 3,000 stories (75% of mentions)",
        "2. AMD — 1,000 stories (25% of mentions)",
    )


def test_palette_has_a_distinct_hex_colour_for_each_company_a_chart_can_show() -> None:
    assert len(PALETTE) >= MAX_TREND_COMPANIES
    assert len(set(PALETTE)) == len(PALETTE)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in PALETTE)


# Machado, Oliveira & Fernandes (2009), full severity, applied to linear RGB
_COLOUR_VISION = {
    "typical": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "tritanopia": (
        (1.255528, -0.076749, -0.178779),
        (-0.078411, 0.930809, 0.147602),
        (0.004733, 0.691367, 0.303900),
    ),
}


def _lab(hex_colour: str, vision: str) -> tuple[float, float, float]:
    """CIELAB (D65) of the colour as seen with the given colour vision."""
    srgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in srgb]
    seen = [
        min(1.0, max(0.0, sum(m * c for m, c in zip(row, linear, strict=True))))
        for row in _COLOUR_VISION[vision]
    ]
    xyz = (
        (0.4124 * seen[0] + 0.3576 * seen[1] + 0.1805 * seen[2]) / 0.95047,
        0.2126 * seen[0] + 0.7152 * seen[1] + 0.0722 * seen[2],
        (0.0193 * seen[0] + 0.1192 * seen[1] + 0.9505 * seen[2]) / 1.08883,
    )
    f = [t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


@pytest.mark.parametrize("vision", sorted(_COLOUR_VISION))
def test_palette_colours_stay_apart_for_colour_blind_readers(vision: str) -> None:
    # the Tableau palette used before had pairs 4.6 apart under protanopia; 15 is clearly distinct
    for first, second in combinations(PALETTE, 2):
        distance = math.dist(_lab(first, vision), _lab(second, vision))
        assert distance > 15, f"{first} and {second} look alike with {vision} ({distance:.1f})"


def test_palette_colours_are_dark_enough_for_a_line_on_white() -> None:
    assert all(_lab(colour, "typical")[0] < 75 for colour in PALETTE)


CATALOG = ("nvidia", "amd", "intel", "huawei", "tsmc")


def test_colour_for_is_the_catalog_position_in_the_palette() -> None:
    for position, company in enumerate(CATALOG):
        assert colour_for(company, CATALOG) == PALETTE[position]
    assert len({colour_for(c, CATALOG) for c in CATALOG}) == len(CATALOG)


def test_colour_for_unknown_company_uses_crc32() -> None:
    expected = PALETTE[zlib.crc32(b"cerebras") % len(PALETTE)]
    assert colour_for("cerebras", CATALOG) == expected
    assert colour_for("cerebras", ()) == expected


def test_colours_are_the_same_in_another_process() -> None:
    # a different hash seed would change hash(); the colours must not change with it
    script = (
        "from bot.trends.series import colour_for; "
        "print(colour_for('cerebras', ()), colour_for('amd', ('nvidia', 'amd')))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [colour_for("cerebras", ()), colour_for("amd", ("nvidia", "amd"))]


def _same_bucket_ids() -> tuple[str, str]:
    buckets: dict[int, str] = {}
    for i in range(1000):
        company = f"startup-{i}"
        bucket = zlib.crc32(company.encode()) % len(PALETTE)
        if bucket in buckets:
            return buckets[bucket], company
        buckets[bucket] = company
    raise AssertionError("no crc32 collision among 1000 ids")


def _series(*ids: str) -> tuple[CompanySeries, ...]:
    return tuple(CompanySeries(i, i.title(), (0,)) for i in ids)


def test_colours_for_moves_a_crc32_collision_to_the_next_unused_colour() -> None:
    first, second = _same_bucket_ids()
    assert colour_for(first, CATALOG) == colour_for(second, CATALOG)
    colours = colours_for(_series(first, second), CATALOG)
    index = PALETTE.index(colour_for(first, CATALOG))
    assert colours == {first: PALETTE[index], second: PALETTE[(index + 1) % len(PALETTE)]}


def test_colours_for_is_distinct_when_the_catalog_outgrows_the_palette() -> None:
    catalog = tuple(f"company-{i}" for i in range(len(PALETTE) + 5))
    wraps = catalog[len(PALETTE)]  # same palette slot as catalog[0]
    assert colour_for(wraps, catalog) == colour_for(catalog[0], catalog)
    colours = colours_for(_series(catalog[0], catalog[1], wraps), catalog)
    assert colours[catalog[0]] == PALETTE[0]
    assert colours[catalog[1]] == PALETTE[1]
    assert colours[wraps] == PALETTE[2]


def test_colours_for_a_full_palette_uses_every_colour_once() -> None:
    n = len(PALETTE)
    catalog = tuple(f"company-{i}" for i in range(n * 2))
    # half the palette's slots wanted twice: every collision must land on a free colour
    half = catalog[: n // 2] + catalog[n : n + n // 2]
    colours = colours_for(_series(*half), catalog)
    assert sorted(colours.values()) == sorted(PALETTE)


def test_colours_for_more_companies_than_colours_repeats_rather_than_fails() -> None:
    catalog = tuple(f"company-{i}" for i in range(len(PALETTE) + 1))
    colours = colours_for(_series(*catalog), catalog)
    assert len(colours) == len(catalog)
    assert set(colours.values()) == set(PALETTE)


def test_colours_for_keeps_catalog_colours_when_nothing_collides() -> None:
    colours = colours_for(_series("tsmc", "nvidia"), CATALOG)
    assert colours == {"tsmc": colour_for("tsmc", CATALOG), "nvidia": colour_for("nvidia", CATALOG)}


def test_colours_for_accepts_share_rows() -> None:
    rows = (ShareRow("amd", "AMD", 3, 0.75), ShareRow("intel", "Intel", 1, 0.25))
    assert colours_for(rows, CATALOG) == {"amd": PALETTE[1], "intel": PALETTE[2]}


def test_short_windows_are_drawn_by_day() -> None:
    data = trend(("nvidia", "Nvidia", tuple(range(WEEKLY_FROM_DAYS - 1))))
    bins = chart_bins(data)
    assert bins.unit == "day"
    assert bins.ends == data.days
    assert bins.series == data.series
    assert bins_caption(bins) == "Stories per day (UTC) · 2 Nov – 28 Nov 2026 · 17 sources"


def test_four_weeks_are_drawn_as_weekly_totals_ending_on_the_last_day() -> None:
    daily = (1,) * 7 + (2,) * 7 + (0,) * 7 + (5,) * 7
    bins = chart_bins(trend(("nvidia", "Nvidia", daily)))
    assert bins.unit == "week"
    assert bins.dropped_days == 0
    assert bins.ends == (date(2026, 11, 7), date(2026, 11, 14), date(2026, 11, 21), LAST)
    assert bins.series[0].counts == (7, 14, 0, 35)
    assert bins.series[0].total == sum(daily)
    assert bins_caption(bins) == (
        "Stories per week (7 days to each date) · 1 Nov – 28 Nov 2026 · 17 sources"
    )


def test_a_leading_part_week_is_left_out_not_drawn_as_a_dip() -> None:
    bins = chart_bins(trend(("nvidia", "Nvidia", (9, 9) + (1,) * 28)))
    assert bins.dropped_days == 2
    assert bins.series[0].counts == (7, 7, 7, 7)
    assert bins.first_day == date(2026, 11, 1)


def test_a_year_is_52_weeks_across_two_calendar_years() -> None:
    bins = chart_bins(trend(("nvidia", "Nvidia", (1,) * 365)))
    assert len(bins.ends) == 52
    assert bins.dropped_days == 1
    assert set(bins.series[0].counts) == {7}


def test_day_ticks_name_the_month_and_always_mark_the_last_day() -> None:
    days = window(14)
    chosen = ticks(days, 7)
    assert chosen[-1] == (13, "28 Nov")
    assert [label for _, label in chosen] == [
        "16 Nov",
        "18 Nov",
        "20 Nov",
        "22 Nov",
        "24 Nov",
        "26 Nov",
        "28 Nov",
    ]
    assert ticks(window(1), 7) == ((0, "28 Nov"),)


def test_long_spans_are_ticked_by_month_with_the_year_where_it_changes() -> None:
    ends = window(52 * 7)[6::7]
    labels = [label for _, label in ticks(ends, 7)]
    assert "Jan 2026" in labels
    assert all(len(label.split()) == 1 for label in labels if not label.startswith("Jan"))
    assert all(label[:3] in {"Jan", "Mar", "May", "Jul", "Sep", "Nov"} for label in labels)


def test_day_ticks_across_new_year_carry_the_year() -> None:
    labels = [label for _, label in ticks(window(10, date(2027, 1, 4)), 10)]
    assert labels[0] == "26 Dec 2026"
    assert labels[-4] == "1 Jan 2027"
    assert labels[-1] == "4 Jan"
