"""Trend and share-of-mentions charts as PNG bytes, drawn for chat. The only matplotlib importer.

Discord and Slack show an image about 550 px wide, so a chart is drawn at 1200x675 px with no
text under 8 pt at 200 dpi (about 10 px on screen). Up to three companies share one plot with a
line style each and their totals in the legend; four or more get one small panel each (small
multiples) with the others in grey behind, so no line hides another. Four weeks and longer are
drawn as weekly totals (bot/trends/series.py chart_bins), the x axis names its months.

Figures are built with the object-oriented API on an Agg canvas and never through pyplot, so no
GUI backend is ever chosen and nothing is registered globally: safe in a worker thread, provided
one thread renders at a time (matplotlib is not thread-safe; ``ChartCache`` uses one worker).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from io import BytesIO
from math import ceil

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from bot.trends.series import (
    ChartBins,
    CompanySeries,
    ShareRow,
    TrendData,
    bins_caption,
    chart_bins,
    percent,
    ticks,
)

WIDTH_PX = 1200
HEIGHT_PX = 675
DPI = 200
MIN_FONT_PT = 8.0  # 8 pt at 200 dpi is 22 px, about 10 px once a client scales it to 550 px
TITLE_PT = 11.0
SUBTITLE_PT = 8.5
FALLBACK_COLOUR = "#555555"  # not in the palette, so it never looks like a company's colour
CONTEXT_COLOUR = "#d0d0d0"  # the other companies behind a small multiple's own line
INK = "#222222"
MUTED_INK = "#555555"
SMALL_MULTIPLES_FROM = 4  # from four lines on, one plot becomes a tangle
_LINE_STYLES = ("-", "--", "-.")
_HEADER_BAND = 0.15  # fraction of the height above the plots for title and subtitle
_FOOTER_BAND = 0.07
_MARKERS_UP_TO_POINTS = 31
_MARGIN = 0.02
_RIGHT_MARGIN = 0.03


def _figure(*, footer: bool) -> Figure:
    bottom = _FOOTER_BAND if footer else 0.0
    # the right margin keeps the last date's label, centred on the plot's edge, inside the image
    width = 1.0 - _RIGHT_MARGIN
    layout = ConstrainedLayoutEngine(rect=(0.0, bottom, width, 1.0 - _HEADER_BAND - bottom))
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _header(fig: Figure, title: str, subtitle: str) -> None:
    top = 1.0 - _MARGIN
    heading = fig.text(_MARGIN, top, title, ha="left", va="top", fontsize=TITLE_PT, color=INK)
    heading.set_fontweight("bold")
    _fit(fig, heading, TITLE_PT)
    sub = fig.text(
        _MARGIN, top - 0.075, subtitle, ha="left", va="top", fontsize=SUBTITLE_PT, color=MUTED_INK
    )
    _fit(fig, sub, SUBTITLE_PT)


def _footer(fig: Figure, text: str) -> None:
    note = fig.text(_MARGIN, _FOOTER_BAND / 2, text, ha="left", va="center", fontsize=MIN_FONT_PT)
    note.set_color(MUTED_INK)
    _fit(fig, note, MIN_FONT_PT)


def _fit(fig: Figure, text: Text, size: float) -> None:
    """Shrink the text down to MIN_FONT_PT, then cut it with an ellipsis, until it fits the width."""
    with _no_glyph_warnings():
        _shrink_to_fit(fig, text, size)


def _shrink_to_fit(fig: Figure, text: Text, size: float) -> None:
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    room = fig.bbox.width * (1.0 - 2 * _MARGIN)
    while text.get_window_extent(renderer).width > room and size > MIN_FONT_PT:
        size = max(MIN_FONT_PT, size - 0.5)
        text.set_fontsize(size)
    full = text.get_text()
    keep = len(full)
    while text.get_window_extent(renderer).width > room and keep > 1:
        keep -= 1
        text.set_text(full[:keep].rstrip(" ,:·") + "…")


def trend_figure(data: TrendData, colours: Mapping[str, str], title: str) -> Figure:
    """Each company's relevant stories per day (per week from four weeks on), named and totalled."""
    bins = chart_bins(data)
    fig = _figure(footer=bool(bins.dropped_days))
    _header(fig, title, bins_caption(bins))
    if bins.dropped_days:
        days = "day fills" if bins.dropped_days == 1 else f"{bins.dropped_days} days fill"
        _footer(fig, f"Weekly totals: the window's first {days} no whole week and are not drawn.")
    ranked = sorted(bins.series, key=lambda s: -s.total)
    if len(ranked) >= SMALL_MULTIPLES_FROM:
        _small_multiples(fig, bins, ranked, colours)
    else:
        _one_plot(fig, bins, ranked, colours)
    return fig


def legend_label(series: CompanySeries) -> str:
    return f"{series.name} · {series.total:,}"


def _one_plot(
    fig: Figure, bins: ChartBins, ranked: Sequence[CompanySeries], colours: Mapping[str, str]
) -> None:
    ax = fig.add_subplot()
    x = range(len(bins.ends))
    for s, style in zip(ranked, _LINE_STYLES, strict=False):
        ax.plot(
            x,
            s.counts,
            label=legend_label(s),
            color=colours.get(s.company_id, FALLBACK_COLOUR),
            linestyle=style,
            linewidth=2.0,
            marker="o",
            markersize=3.5,
            markevery=_marked(bins, s),
        )
    _style_axes(ax, bins, max_ticks=7)
    ax.set_ylabel(f"stories per {bins.unit}", fontsize=MIN_FONT_PT, color=MUTED_INK)
    if ranked:
        ax.legend(
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=len(ranked),
            frameon=False,
            fontsize=9,
            borderaxespad=0.2,
            handlelength=2.6,
        )


def _marked(bins: ChartBins, series: CompanySeries) -> list[int]:
    """Weeks and short windows get a dot on each point with stories, never on the zero days."""
    if len(bins.ends) > _MARKERS_UP_TO_POINTS:
        return []
    return [i for i, count in enumerate(series.counts) if count]


def _small_multiples(
    fig: Figure, bins: ChartBins, ranked: Sequence[CompanySeries], colours: Mapping[str, str]
) -> None:
    cols = 2 if len(ranked) == SMALL_MULTIPLES_FROM else ceil(len(ranked) / 2)
    grid = fig.subplots(2, cols, sharex=True, sharey=True, squeeze=False)
    panels = [ax for row in grid for ax in row]
    x = range(len(bins.ends))
    for ax, s in zip(panels, ranked, strict=False):
        for other in ranked:
            if other is not s:
                ax.plot(x, other.counts, color=CONTEXT_COLOUR, linewidth=0.8, zorder=1)
        colour = colours.get(s.company_id, FALLBACK_COLOUR)
        ax.fill_between(x, s.counts, color=colour, alpha=0.15, linewidth=0, zorder=2)
        ax.plot(x, s.counts, color=colour, linewidth=1.8, label=legend_label(s), zorder=3)
        ax.set_title(legend_label(s), loc="left", fontsize=9, color=INK, pad=3)
        _style_axes(ax, bins, max_ticks=3)
    for index in range(len(ranked), len(panels)):
        panels[index].set_axis_off()
        # the panel above an empty slot is the bottom of its column: it shows the dates
        panels[index - cols].xaxis.set_tick_params(labelbottom=True)
    for row in grid:
        row[0].set_ylabel(f"per {bins.unit}", fontsize=MIN_FONT_PT, color=MUTED_INK)


def _style_axes(ax: Axes, bins: ChartBins, *, max_ticks: int) -> None:
    chosen = ticks(bins.ends, max_ticks)
    ax.set_xticks([i for i, _ in chosen], labels=[label for _, label in chosen])
    last = len(bins.ends) - 1
    pad = 0.5 if last == 0 else 0.25  # in points: a marker on the first or last is not cut
    ax.set_xlim(-pad, last + pad)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    highest = max((max(s.counts) for s in bins.series), default=0)
    top = highest * 1.1 if highest else 1.0
    # a little below 0 so that lines at zero are not hidden under the bottom spine
    ax.set_ylim(-0.03 * top, top)
    ax.tick_params(labelsize=MIN_FONT_PT, colors=MUTED_INK, length=2)
    ax.grid(True, axis="y", color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#999999")


def share_figure(
    rows: Sequence[ShareRow], colours: Mapping[str, str], title: str, caption_text: str
) -> Figure:
    """Horizontal bars ranked top to bottom in the order given, each labelled with its stories
    and its share of all company mentions (a story naming two companies counts for each)."""
    fig = _figure(footer=True)
    _header(fig, title, caption_text)
    _footer(fig, "% = share of all company mentions; a story naming two companies counts for each.")
    ax = fig.add_subplot()
    if not rows:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No relevant stories", ha="center", va="center", transform=ax.transAxes)
        return fig
    positions = range(len(rows))
    bars = ax.barh(
        positions,
        [row.stories for row in rows],
        color=[colours.get(row.company_id, FALLBACK_COLOUR) for row in rows],
        height=0.7,
    )
    labels = [f"{row.stories:,} · {percent(row.share)}" for row in rows]
    ax.bar_label(bars, labels=labels, padding=3, fontsize=MIN_FONT_PT, color=INK)
    ax.set_yticks(list(positions), labels=[row.name for row in rows])
    ax.invert_yaxis()
    highest = max(row.stories for row in rows)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    # room on the right for the last label
    ax.set_xlim(0, max(highest, 1) * 1.18)
    ax.set_xlabel("stories naming the company", fontsize=MIN_FONT_PT, color=MUTED_INK)
    ax.tick_params(labelsize=MIN_FONT_PT, colors=MUTED_INK, length=2)
    ax.tick_params(axis="y", labelsize=9, colors=INK)
    ax.grid(True, axis="x", color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes at its own size and dpi; the figure is cleared afterwards."""
    buffer = BytesIO()
    try:
        with _no_glyph_warnings():
            fig.savefig(buffer, format="png", dpi=fig.dpi, facecolor="white")
    finally:
        fig.clear()
    return buffer.getvalue()


@contextmanager
def _no_glyph_warnings() -> Iterator[None]:
    # DejaVu Sans has no CJK glyphs; a stray CJK name draws boxes, not a log per glyph
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        yield


def render_trend_png(data: TrendData, colours: Mapping[str, str], title: str) -> bytes:
    return to_png(trend_figure(data, colours, title))


def render_share_png(
    rows: Sequence[ShareRow], colours: Mapping[str, str], title: str, caption_text: str
) -> bytes:
    return to_png(share_figure(rows, colours, title, caption_text))
