"""Charts: valid PNGs for chat whose lines and bars carry exactly the data, colours and names,
readable at the size chat clients show them."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from io import BytesIO
from pathlib import Path

import matplotlib.image
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from bot.trends.chart import (
    CONTEXT_COLOUR,
    DPI,
    FALLBACK_COLOUR,
    WIDTH_PX,
    render_share_png,
    render_trend_png,
    share_figure,
    to_png,
    trend_figure,
)
from bot.trends.series import (
    bins_caption,
    caption,
    chart_bins,
    colours_for,
    percent,
    share_of_voice,
)
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
    assert png_size(png) == (1200, 675)
    pixels = matplotlib.image.imread(BytesIO(png), format="png")
    assert pixels.shape[:2] == (675, 1200)


def _named_lines(ax: Axes) -> list[Line2D]:
    return [line for line in ax.get_lines() if not str(line.get_label()).startswith("_")]


def test_trend_figure_has_one_line_per_company_with_its_counts_and_colour_totals_in_legend() -> (
    None
):
    fig = trend_figure(DATA, COLOURS, "Stories per day")
    ax = fig.axes[0]
    lines = _named_lines(ax)
    # most stories first, each named with its total
    assert [line.get_label() for line in lines] == ["Nvidia · 23", "AMD · 10", "Intel · 1"]
    for line, series in zip(lines, DATA.series, strict=True):
        assert np.asarray(line.get_ydata()).tolist() == list(series.counts)
        assert to_hex(line.get_color()) == COLOURS[series.company_id]
    # overlapping lines stay apart by style as well as colour
    assert len({line.get_linestyle() for line in lines}) == 3
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["Nvidia · 23", "AMD · 10", "Intel · 1"]
    texts = [t.get_text() for t in fig.texts]
    assert "Stories per day" in texts
    assert bins_caption(chart_bins(DATA)) in texts


def test_markers_sit_only_on_days_with_stories() -> None:
    fig = trend_figure(DATA, COLOURS, "t")
    nvidia = _named_lines(fig.axes[0])[0]
    assert nvidia.get_markevery() == [0, 1, 3, 4, 5, 6]  # day 2 had none


def test_x_axis_names_the_months() -> None:
    fig = trend_figure(DATA, COLOURS, "t")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["22 Nov", "23 Nov", "24 Nov", "25 Nov", "26 Nov", "27 Nov", "28 Nov"]


def test_a_long_window_is_drawn_as_weekly_totals() -> None:
    data = trend(("nvidia", "Nvidia", (1,) * 28), ("amd", "AMD", (0, 2) * 14))
    fig = trend_figure(data, COLOURS, "t")
    lines = _named_lines(fig.axes[0])
    assert [np.asarray(line.get_ydata()).tolist() for line in lines] == [[7] * 4, [6, 8, 6, 8]]
    assert fig.axes[0].get_ylabel() == "stories per week"


def test_four_or_more_companies_get_a_panel_each_most_covered_first() -> None:
    eight = [(cid, cid.upper(), tuple([i] * 7)) for i, cid in enumerate(CATALOG * 2, start=1)]
    eight = [(f"{cid}{i}", name, counts) for i, (cid, name, counts) in enumerate(eight)]
    data = trend(*eight)
    colours = colours_for(data.series, [cid for cid, _, _ in eight])
    fig = trend_figure(data, colours, "8 companies: relevant stories, last 7 days")
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == 8
    ranked = sorted(data.series, key=lambda s: -s.total)
    for ax, series in zip(panels, ranked, strict=True):
        assert ax.get_title(loc="left") == f"{series.name} · {series.total}"
        (own,) = _named_lines(ax)
        assert np.asarray(own.get_ydata()).tolist() == list(series.counts)
        assert to_hex(own.get_color()) == colours[series.company_id]
        # the others are drawn behind in grey for comparison
        grey = [line for line in ax.get_lines() if line is not own]
        assert len(grey) == 7
        assert {to_hex(line.get_color()) for line in grey} == {CONTEXT_COLOUR}
    assert len({to_hex(_named_lines(ax)[0].get_color()) for ax in panels}) == 8


def test_five_panels_leave_no_column_without_dates() -> None:
    five = [(cid, cid, (1, 2, 3, 4, 5, 6, 7)) for cid in ("a", "b", "c", "d", "e")]
    fig = trend_figure(trend(*five), {}, "t")
    panels = [ax for ax in fig.axes if ax.axison]
    labelled = [ax for ax in panels if ax.xaxis.get_tick_params()["labelbottom"]]
    assert len(labelled) == 3  # the bottom of each of the three columns


def _texts_with_size(fig: Figure) -> list[Text]:
    canvas = fig.canvas
    canvas.draw()  # type: ignore[no-untyped-call]
    return [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]


def test_no_text_is_too_small_to_read_when_chat_clients_scale_the_image_down() -> None:
    # Discord and Slack show an inline image about 550 px wide
    shown_width = 550
    eight = [(f"c{i}", f"Company {i}", tuple(range(i, i + 28))) for i in range(8)]
    for fig in (
        trend_figure(DATA, COLOURS, "Stories"),
        trend_figure(trend(*eight), {}, "8 companies"),
        share_figure(share_of_voice(DATA), COLOURS, "Share", caption(DATA)),
    ):
        for text in _texts_with_size(fig):
            on_screen_px = text.get_fontsize() * DPI / 72 * shown_width / WIDTH_PX
            assert on_screen_px >= 10, f"{text.get_text()!r} is {on_screen_px:.1f} px"


def test_a_long_title_is_fitted_inside_the_image() -> None:
    title = "Nvidia, AMD, Intel, Huawei, TSMC, SMIC, Cambricon and Alibaba: relevant stories"
    fig = trend_figure(DATA, COLOURS, title + " per day, last 28 days")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for text in fig.texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= 0, text.get_text()
        assert box.x1 <= WIDTH_PX, text.get_text()
    heading = fig.texts[0].get_text()
    assert heading.startswith("Nvidia, AMD")
    assert heading.endswith("…")


def test_trend_figure_y_ticks_are_integers() -> None:
    data = trend(("nvidia", "Nvidia", (0, 1, 0, 1, 0, 1, 1)))
    fig = trend_figure(data, COLOURS, "t")
    ticks = fig.axes[0].yaxis.get_major_locator()()
    assert len(ticks) >= 2
    assert all(float(t).is_integer() for t in ticks)


def test_trend_figure_without_a_colour_uses_the_fallback() -> None:
    fig = trend_figure(DATA, {"nvidia": "#123456"}, "t")
    colours = [to_hex(line.get_color()) for line in _named_lines(fig.axes[0])]
    assert colours == ["#123456", FALLBACK_COLOUR, FALLBACK_COLOUR]


def test_trend_pngs_for_short_and_long_windows() -> None:
    for days in (1, 7, 30, 90, 365):
        data = trend(("nvidia", "Nvidia", tuple(i % 5 for i in range(days))))
        assert png_size(render_trend_png(data, COLOURS, f"{days} days")) == (1200, 675)


def test_share_figure_bars_are_ranked_top_to_bottom_with_the_counts() -> None:
    rows = share_of_voice(DATA)
    fig = share_figure(rows, COLOURS, "Share of mentions", caption(DATA))
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
    assert [t.get_text() for t in ax.texts] == [f"{r.stories} · {percent(r.share)}" for r in rows]
    assert [t.get_text() for t in ax.texts] == ["23 · 68%", "10 · 29%", "1 · 3%"]
    texts = [t.get_text() for t in fig.texts]
    assert texts[:2] == ["Share of mentions", caption(DATA)]
    # the percentages say what they are: shares of company mentions, not of stories
    assert any("share of all company mentions" in t for t in texts)
    assert ax.get_xlabel() == "stories naming the company"


def test_share_png_is_a_1000_by_500_png() -> None:
    rows = share_of_voice(DATA)
    png = render_share_png(rows, COLOURS, "Share of mentions", caption(DATA))
    assert png_size(png) == (1200, 675)


def test_share_figure_with_no_rows_says_so() -> None:
    fig = share_figure((), {}, "Share of mentions", "nothing")
    ax = fig.axes[0]
    assert not ax.patches
    assert [t.get_text() for t in ax.texts] == ["No relevant stories"]
    assert png_size(to_png(fig)) == (1200, 675)


def test_to_png_clears_the_figure() -> None:
    fig = trend_figure(DATA, COLOURS, "t")
    to_png(fig)
    assert fig.axes == []


def test_missing_glyph_warnings_are_suppressed() -> None:
    data = trend(("huawei", "Huawei 华为海思", (1, 2, 3, 4, 5, 6, 7)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_trend_png(data, COLOURS, "中芯国际")
    assert png_size(png) == (1200, 675)
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
