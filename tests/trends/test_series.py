"""Trend values: validation, share of voice, captions, ranked text and stable, distinct colours."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zlib
from datetime import date
from pathlib import Path

import pytest

from bot.trends.series import (
    PALETTE,
    CompanySeries,
    ShareRow,
    TrendData,
    caption,
    colour_for,
    colours_for,
    share_lines,
    share_of_voice,
)
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
        "Relevant stories per day, 2026-10-30 – 2026-11-28 (30 days), from 17 sources"
    )


def test_caption_singular_day_and_source() -> None:
    data = trend(("nvidia", "Nvidia", (4,)), sources=1)
    assert caption(data) == "Relevant stories per day, 2026-11-28 (1 day), from 1 source"


def test_caption_zero_sources_is_plural() -> None:
    assert caption(trend(("nvidia", "Nvidia", (0, 0)), sources=0)).endswith("from 0 sources")


def test_share_lines_format_and_limit() -> None:
    rows = (
        ShareRow("nvidia", "Nvidia", 412, 0.38),
        ShareRow("amd", "AMD", 1, 0.004),
        ShareRow("intel", "Intel", 0, 0.0),
    )
    assert share_lines(rows) == (
        "1. Nvidia — 412 stories (38%)",
        "2. AMD — 1 story (<1%)",
        "3. Intel — 0 stories (0%)",
    )
    assert share_lines(rows, limit=1) == ("1. Nvidia — 412 stories (38%)",)
    assert share_lines(rows, limit=0) == ()
    with pytest.raises(ValueError, match="limit"):
        share_lines(rows, limit=-1)


def test_share_lines_from_share_of_voice() -> None:
    data = trend(("nvidia", "Nvidia", (2000, 1000)), ("amd", "AMD", (1000, 0)))
    assert share_lines(share_of_voice(data)) == (
        "1. Nvidia — 3,000 stories (75%)",
        "2. AMD — 1,000 stories (25%)",
    )


def test_palette_has_twenty_distinct_hex_colours() -> None:
    assert len(PALETTE) >= 20
    assert len(set(PALETTE)) == len(PALETTE)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in PALETTE)


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
