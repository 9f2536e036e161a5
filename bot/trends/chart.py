"""Trend and share-of-voice charts as PNG bytes. The only matplotlib importer.

Figures are built with the object-oriented API on an Agg canvas and never through pyplot, so no
GUI backend is ever chosen and nothing is registered globally: safe in a worker thread, provided
one thread renders at a time (matplotlib is not thread-safe; ``ChartCache`` uses one worker).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from io import BytesIO

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import (
    AutoDateLocator,
    ConciseDateFormatter,
    DateLocator,
    DayLocator,
    date2num,
)
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import MaxNLocator

from bot.trends.series import ShareRow, TrendData, caption, percent

WIDTH_PX = 1000
HEIGHT_PX = 500
DPI = 100
FALLBACK_COLOUR = "#333333"  # not in the palette, so it never looks like a company's colour
_CAPTION_BAND = 0.07  # fraction of the height kept free under the axes for the caption
_MARKERS_UP_TO_DAYS = 31  # dots on each day while they stay readable
_DAILY_TICKS_UP_TO_DAYS = 14


def _figure() -> Figure:
    layout = ConstrainedLayoutEngine(rect=(0.0, _CAPTION_BAND, 1.0, 1.0 - _CAPTION_BAND))
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _caption(fig: Figure, text: str) -> None:
    fig.text(0.5, _CAPTION_BAND / 2, text, ha="center", va="center", fontsize=9, color="#555555")


def trend_figure(data: TrendData, colours: Mapping[str, str], title: str) -> Figure:
    """One line per company over the window's days, with legend, title and caption."""
    fig = _figure()
    ax = fig.add_subplot()
    marker = "o" if data.window_days <= _MARKERS_UP_TO_DAYS else ""
    x = date2num(list(data.days))
    for s in data.series:
        colour = colours.get(s.company_id, FALLBACK_COLOUR)
        ax.plot(x, s.counts, label=s.name, color=colour, marker=marker, markersize=3)
    _date_axis(ax, data)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    highest = max((max(s.counts) for s in data.series), default=0)
    top = highest * 1.05 if highest else 1.0
    # a little below 0 so that lines at zero are not hidden under the bottom spine
    ax.set_ylim(-0.02 * top, top)
    ax.set_ylabel("stories")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_title(title)
    if data.series:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _caption(fig, caption(data))
    return fig


def _date_axis(ax: Axes, data: TrendData) -> None:
    ax.xaxis_date()
    # short windows: one tick a day (AutoDateLocator would add hours between them)
    locator: DateLocator = (
        DayLocator()
        if data.window_days <= _DAILY_TICKS_UP_TO_DAYS
        else AutoDateLocator(maxticks=10)
    )
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    first, last = date2num(data.first_day), date2num(data.last_day)
    # a one-day window would otherwise be padded out to years
    pad = 0.0 if last > first else 1.0
    ax.set_xlim(first - pad, last + pad)


def share_figure(
    rows: Sequence[ShareRow], colours: Mapping[str, str], title: str, caption_text: str
) -> Figure:
    """Horizontal bars ranked top to bottom in the order given, each labelled with its share."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_title(title)
    _caption(fig, caption_text)
    if not rows:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No relevant stories", ha="center", va="center", transform=ax.transAxes)
        return fig
    positions = range(len(rows))
    bars = ax.barh(
        positions,
        [row.stories for row in rows],
        color=[colours.get(row.company_id, FALLBACK_COLOUR) for row in rows],
    )
    ax.bar_label(bars, labels=[percent(row.share) for row in rows], padding=3)
    ax.set_yticks(list(positions), labels=[row.name for row in rows])
    ax.invert_yaxis()
    highest = max(row.stories for row in rows)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    # room on the right for the last label
    ax.set_xlim(0, max(highest, 1) * 1.12)
    ax.set_xlabel("stories")
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes at its own size and dpi; the figure is cleared afterwards."""
    buffer = BytesIO()
    try:
        with warnings.catch_warnings():
            # DejaVu Sans has no CJK glyphs; a stray CJK name draws boxes, not a log per glyph
            warnings.filterwarnings(
                "ignore", message=r"Glyph \d+ .*missing from", category=UserWarning
            )
            fig.savefig(buffer, format="png", dpi=fig.dpi)
    finally:
        fig.clear()
    return buffer.getvalue()


def render_trend_png(data: TrendData, colours: Mapping[str, str], title: str) -> bytes:
    return to_png(trend_figure(data, colours, title))


def render_share_png(
    rows: Sequence[ShareRow], colours: Mapping[str, str], title: str, caption_text: str
) -> bytes:
    return to_png(share_figure(rows, colours, title, caption_text))
