"""Charts: valid 1000x500 PNGs whose lines and bars carry exactly the data, colours and names."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from io import BytesIO
from pathlib import Path

import matplotlib.image
import numpy as np
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from bot.trends.chart import (
    FALLBACK_COLOUR,
    render_share_png,
    render_trend_png,
    share_figure,
    to_png,
    trend_figure,
)
from bot.trends.series import caption, colours_for, percent, share_of_voice
from tests.trends.support import PNG_SIGNATURE, png_size, trend

REPO = Path(__file__).resolve().parents[2]
CATALOG = ("nvidia", "amd", "intel", "huawei")

DATA = trend(
    ("nvidia", "Nvidia", (5, 3, 0, 8, 2, 1, 4)),
    ("amd", "AMD", (1, 0, 0, 2, 6, 1, 0)),
    ("intel", "Intel", (0, 0, 0, 0, 0, 0, 1)),
)
COLOURS = colours_for(DATA.series, CATALOG)


def test_trend_png_is_a_1000_by_500_png() -> None:
    png = render_trend_png(DATA, COLOURS, "Stories per day")
    assert png.startswith(PNG_SIGNATURE)
    assert png_size(png) == (1000, 500)
    pixels = matplotlib.image.imread(BytesIO(png), format="png")
    assert pixels.shape[:2] == (500, 1000)


def test_trend_figure_has_one_line_per_company_with_its_counts_name_and_colour() -> None:
    fig = trend_figure(DATA, COLOURS, "Stories per day")
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if not str(line.get_label()).startswith("_")]
    assert [line.get_label() for line in lines] == ["Nvidia", "AMD", "Intel"]
    for line, series in zip(lines, DATA.series, strict=True):
        assert np.asarray(line.get_ydata()).tolist() == list(series.counts)
        assert to_hex(line.get_color()) == COLOURS[series.company_id]
        assert np.asarray(line.get_xdata()).shape == (DATA.window_days,)
    assert ax.get_title() == "Stories per day"
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["Nvidia", "AMD", "Intel"]
    assert caption(DATA) in [t.get_text() for t in fig.texts]


def test_trend_figure_y_ticks_are_integers() -> None:
    data = trend(("nvidia", "Nvidia", (0, 1, 0, 1, 0, 1, 1)))
    fig = trend_figure(data, COLOURS, "t")
    ticks = fig.axes[0].yaxis.get_major_locator()()
    assert len(ticks) >= 2
    assert all(float(t).is_integer() for t in ticks)


def test_trend_figure_without_a_colour_uses_the_fallback() -> None:
    fig = trend_figure(DATA, {"nvidia": "#123456"}, "t")
    colours = [to_hex(line.get_color()) for line in fig.axes[0].get_lines()]
    assert colours == ["#123456", FALLBACK_COLOUR, FALLBACK_COLOUR]


def test_trend_pngs_for_short_and_long_windows() -> None:
    for days in (1, 7, 30, 90, 365):
        data = trend(("nvidia", "Nvidia", tuple(i % 5 for i in range(days))))
        assert png_size(render_trend_png(data, COLOURS, f"{days} days")) == (1000, 500)


def test_share_figure_bars_are_ranked_top_to_bottom_with_the_counts() -> None:
    rows = share_of_voice(DATA)
    fig = share_figure(rows, COLOURS, "Share of voice", caption(DATA))
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [bar.get_width() for bar in bars] == [23, 10, 1]
    assert [bar.get_width() for bar in bars] == [row.stories for row in rows]
    # first row on top: with the y axis inverted, top means the smallest y
    assert ax.yaxis_inverted()
    centres = [bar.get_y() + bar.get_height() / 2 for bar in bars]
    assert centres == sorted(centres)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Nvidia", "AMD", "Intel"]
    assert [to_hex(bar.get_facecolor()) for bar in bars] == [COLOURS[r.company_id] for r in rows]
    assert [t.get_text() for t in ax.texts] == [percent(r.share) for r in rows]
    assert [t.get_text() for t in ax.texts] == ["68%", "29%", "3%"]
    assert ax.get_title() == "Share of voice"
    assert caption(DATA) in [t.get_text() for t in fig.texts]


def test_share_png_is_a_1000_by_500_png() -> None:
    rows = share_of_voice(DATA)
    png = render_share_png(rows, COLOURS, "Share of voice", caption(DATA))
    assert png_size(png) == (1000, 500)


def test_share_figure_with_no_rows_says_so() -> None:
    fig = share_figure((), {}, "Share of voice", "nothing")
    ax = fig.axes[0]
    assert not ax.patches
    assert [t.get_text() for t in ax.texts] == ["No relevant stories"]
    assert png_size(to_png(fig)) == (1000, 500)


def test_to_png_clears_the_figure() -> None:
    fig = trend_figure(DATA, COLOURS, "t")
    to_png(fig)
    assert fig.axes == []


def test_missing_glyph_warnings_are_suppressed() -> None:
    data = trend(("huawei", "Huawei 华为海思", (1, 2, 3, 4, 5, 6, 7)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_trend_png(data, COLOURS, "中芯国际")
    assert png_size(png) == (1000, 500)
    assert not [w for w in caught if "Glyph" in str(w.message)]


def test_only_chart_imports_matplotlib_and_never_pyplot() -> None:
    script = """
import sys
import bot.trends.series, bot.trends.cache
assert "matplotlib" not in sys.modules, "series/cache imported matplotlib"
from tests.trends.test_chart import DATA, COLOURS
from bot.trends.chart import render_trend_png
render_trend_png(DATA, COLOURS, "t")
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
print("ok")
"""
    # a GUI backend requested through the environment must not matter either
    env = {**os.environ, "MPLBACKEND": "TkAgg"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
