"""`trend` and `share` on a store seeded with known counts: the numbers, the chart, the errors."""

import struct
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.classify.catalog import load_catalog
from bot.commands.messages import Command, Reply
from bot.commands.table import Context, dispatch, make_context
from bot.models import Classification, FeedConfig
from bot.store.repo import Store
from bot.trends import data as trend_store
from bot.trends import present as trends
from bot.trends.cache import ChartCache
from bot.trends.series import TrendData
from tests.commands.test_commands import settings_for
from tests.support import article, ingest

NOW = datetime(2026, 11, 28, 15, tzinfo=UTC)
TODAY = NOW.date()


def verdict(*companies: str, relevant: bool = True, score: float = 0.9) -> Classification:
    return Classification(relevant, score, companies, ("test",))


def on(days_ago: int, hour: int = 9) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), UTC).replace(
        hour=hour
    )


# (feed, n, verdict, days ago): nvidia 3 stories two days ago + 1 today, huawei 2 yesterday,
# plus articles that must not count.
SEED = [
    ("Wire", 1, verdict("nvidia"), 2),
    ("Wire", 2, verdict("nvidia"), 2),
    ("Wire", 3, verdict("nvidia", "huawei"), 1),
    ("Xinpian", 4, verdict("huawei"), 1),
    ("Xinpian", 5, verdict("nvidia"), 2),
    ("Xinpian", 6, verdict("nvidia"), 0),
    ("Wire", 7, verdict("huawei", relevant=False, score=0.2), 1),  # phones: not relevant
    ("Wire", 8, verdict("nvidia"), 40),  # outside a 30-day window
]


async def seed(store: Store) -> None:
    feeds = {}
    for name in ("Wire", "Xinpian", "Idle"):
        config = FeedConfig(url=f"https://{name.lower()}.example/feed", name=name)
        feeds[name] = await store.add_feed(config, "cli", NOW - timedelta(days=90), history=False)
    for name, n, classified, days_ago in SEED:
        when = on(days_ago)
        await ingest(store, feeds[name], [(article(n, published_at=when), classified)], when)


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[Context]:
    store = await Store.open(settings_for(tmp_path).database_url)
    await seed(store)
    yield make_context(store, load_catalog(), lambda: NOW, settings_for(tmp_path))
    await store.close()


async def run(ctx: Context, text: str) -> Reply:
    name, *args = text.split()
    return await dispatch(ctx, Command(name, tuple(args), "console", "tester", False))


async def trend_data(ctx: Context, companies: list[str], days: int) -> TrendData:
    return await trend_store.trend_data(
        ctx.store, ctx.company_names, companies, days=days, today=TODAY, min_score=0.5
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_counts_are_laid_out_over_the_window_with_zeros() -> None:
    days = trend_store.window_days(date(2026, 11, 28), 3)
    assert days == (date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28))
    rows = [
        ("nvidia", "2026-11-27", 2),
        ("nvidia", "2026-11-28", 1),
        ("huawei", "2026-11-26", 4),
        ("huawei", "2026-11-20", 9),  # before the window
        ("amd", "2026-11-28", 5),  # not asked for
    ]
    counts = trend_store.counts_by_day(rows, days, ["nvidia", "huawei", "tsmc"])
    assert counts == {"nvidia": (0, 2, 1), "huawei": (4, 0, 0), "tsmc": (0, 0, 0)}


async def test_trend_data_counts_relevant_stories_per_day(ctx: Context) -> None:
    data = await trend_data(ctx, ["nvidia", "huawei"], 7)
    assert data.days == trend_store.window_days(TODAY, 7)
    by_id = {s.company_id: s.counts for s in data.series}
    assert by_id["nvidia"] == (0, 0, 0, 0, 3, 1, 1)
    assert by_id["huawei"] == (0, 0, 0, 0, 0, 2, 0)
    assert data.source_count == 2  # Wire and Xinpian; Idle carried nothing


async def test_grouped_articles_count_as_one_story(ctx: Context) -> None:
    ids = {a.url: a.id for a in await ctx.store.search("Story", 20)}
    one, two = ids["https://news.example/1"], ids["https://news.example/2"]
    await ctx.store.set_story_keys([(one, "story-a"), (two, "story-a")])
    data = await trend_data(ctx, ["nvidia"], 7)
    assert data.series[0].counts[4] == 2


async def test_trend_replies_with_a_chart_of_the_companies(ctx: Context) -> None:
    reply = await run(ctx, "trend nvidia 华为 7")
    assert not reply.error, reply.title
    assert reply.title == "Nvidia and Huawei: relevant stories per day, last 7 days"
    assert reply.lines[0] == (
        "Relevant stories per day, 22 Nov – 28 Nov 2026 (7 days), from 2 sources"
        " (UTC days; the last is today so far)."
    )
    assert reply.lines[1] == "Totals: Nvidia 5 · Huawei 2."
    assert reply.attachment is not None
    assert reply.attachment.filename == "trend-nvidia-huawei-7d.png"
    assert png_size(reply.attachment.data) == (1200, 675)


async def test_trend_reads_names_that_span_words_in_catalog_order_over_30_days(
    ctx: Context,
) -> None:
    reply = await run(ctx, "trend ant group NVDA")
    assert reply.title.startswith("Nvidia and Ant Group")
    assert "last 30 days" in reply.title
    assert reply.lines[1] == "Totals: Nvidia 5 · Ant Group 0."


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("trend", "needs companies"),
        ("trend nvidia 400", "days must be a whole number from 1 to 365"),
        ("trend nvidai", "I don't know a company called 'nvidai'"),
        ("trend nvidia amd intel tsmc smic huawei samsung alibaba baidu", "at most 8 companies"),
        ("share 0", "days must be a whole number from 1 to 365"),
    ],
)
async def test_bad_trend_and_share_arguments_say_what_to_do(
    ctx: Context, text: str, says: str
) -> None:
    reply = await run(ctx, text)
    assert reply.error
    assert reply.ephemeral
    assert reply.attachment is None
    assert says in reply.title + " ".join(reply.lines)


async def test_no_stories_gives_a_note_not_an_empty_chart(ctx: Context) -> None:
    reply = await run(ctx, "trend cambricon 7")
    assert not reply.error
    assert reply.attachment is None
    assert reply.title == "No relevant stories about Cambricon in the last 7 days."


async def test_share_ranks_the_companies_and_draws_them(ctx: Context) -> None:
    reply = await run(ctx, "share 7")
    assert reply.title == "Share of mentions, last 7 days"
    assert reply.lines[:2] == (
        "1. Nvidia — 5 stories (71% of mentions)",
        "2. Huawei — 2 stories (29% of mentions)",
    )
    assert reply.lines[2] == (
        "Relevant stories, 22 Nov – 28 Nov 2026 (7 days), from 2 sources (UTC days)."
    )
    assert reply.attachment is not None
    assert reply.attachment.filename == "share-7d.png"
    assert png_size(reply.attachment.data) == (1200, 675)


async def test_charts_are_rendered_once_per_day_through_the_cache(ctx: Context) -> None:
    cache = ChartCache()
    cached = make_context(ctx.store, ctx.catalog, ctx.clock, ctx.settings, charts=cache)
    try:
        first = await run(cached, "trend nvidia huawei 7")
        again = await run(cached, "trend huawei nvidia 7")
        assert len(cache) == 1
        assert again.title == first.title
        assert first.attachment is not None
        assert again.attachment is not None
        assert again.attachment.data == first.attachment.data
    finally:
        cache.close()


async def test_the_plot_draws_the_seeded_counts_one_line_per_company(ctx: Context) -> None:
    from bot.trends.chart import trend_figure
    from bot.trends.series import colours_for

    data = await trend_data(ctx, ["nvidia", "huawei"], 7)
    colours = colours_for(data.series, ctx.catalog.ids)
    figure = trend_figure(data, colours, trends.trend_title(data))
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert set(lines) == {"Nvidia · 5", "Huawei · 2"}
    assert tuple(lines["Nvidia · 5"].get_ydata()) == (0, 0, 0, 0, 3, 1, 1)
    assert tuple(lines["Huawei · 2"].get_ydata()) == (0, 0, 0, 0, 0, 2, 0)
    assert lines["Nvidia · 5"].get_color() != lines["Huawei · 2"].get_color()
