"""The shared command table on a real SQLite store: every command, its errors and permissions."""

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_app
from bot.classify.catalog import load_catalog
from bot.commands.messages import Card, Command, Reply, parse_command_line
from bot.commands.table import GENERIC_ERROR, Context, commands, dispatch, make_context
from bot.ingest.fetch import Fetcher
from bot.models import Classification, FeedConfig, FetchResult, SubscriptionConfig
from bot.platforms.console.commands import ask
from bot.platforms.console.render import render_reply
from bot.settings import FetchSettings, Settings
from bot.store.repo import Store
from tests.support import article, ingest, sync_config_subscriptions

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
INGESTED = NOW - timedelta(hours=1)
HUAWEI = Classification(True, 0.9, ("huawei",), ("company:huawei strong name", "topic:chip"))
NVIDIA = Classification(True, 0.8, ("nvidia",), ("company:nvidia ticker", "topic:chip"))
HUAWEI_PHONES = Classification(False, 0.1, ("huawei",), ("company:huawei strong name",))
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Silicon Weekly</title><link>https://silicon.example/</link>
<item><title>One</title><link>https://silicon.example/1</link><guid>1</guid></item>
<item><title>Two</title><link>https://silicon.example/2</link><guid>2</guid></item>
</channel></rss>"""


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        config_path=tmp_path / "chipwire.toml",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'commands.db'}",
        feeds=(),
        fetch=FetchSettings(),
        parse_workers=0,
    )


async def stored(store: Store, name: str, *items: tuple[int, Classification, dict]) -> None:
    config = FeedConfig(url=f"https://{name.lower().replace(' ', '-')}.example/feed", name=name)
    state = await store.add_feed(config, "cli", INGESTED, history=False)
    rows = [(article(n, source=name, **changes), verdict) for n, verdict, changes in items]
    await ingest(store, state, rows, INGESTED)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(settings_for(tmp_path).database_url)
    await stored(
        opened,
        "Chip Wire",
        (1, HUAWEI, {"title": "Huawei Ascend 910C ships in volume", "published_at": ago(1)}),
        (2, HUAWEI, {"title": "Huawei CloudMatrix 384 racks", "published_at": ago(2)}),
        (3, HUAWEI, {"title": "Huawei roadmap for Ascend 950", "published_at": ago(10)}),
        (4, NVIDIA, {"title": "Nvidia H20 export licence", "published_at": ago(3)}),
        (5, HUAWEI_PHONES, {"title": "Huawei phone sales rise", "published_at": ago(0.5)}),
    )
    await stored(
        opened,
        "Xinpian",
        (6, HUAWEI, {"title": "华为昇腾芯片量产", "published_at": ago(4), "language": "zh"}),
        (7, HUAWEI, {"url": "https://news.example/1", "published_at": ago(1)}),  # 1, again
    )
    yield opened
    await opened.close()


class Calls:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def changed() -> Calls:
    return Calls()


@pytest.fixture
async def ctx(store: Store, tmp_path: Path, changed: Calls) -> AsyncIterator[Context]:
    async with Fetcher() as fetcher:
        yield make_context(
            store,
            load_catalog(),
            lambda: NOW,
            settings_for(tmp_path),
            fetcher=fetcher,
            on_subscriptions_changed=changed,
        )


async def run(ctx: Context, text: str, *, admin: bool = True, channel: str = "discord:42") -> Reply:
    name, args = parse_command_line(text)
    return await dispatch(ctx, Command(name, args, channel, "u1", admin))


def titles(reply: Reply) -> list[str]:
    return [card.title for card in reply.cards]


def assert_private_error(reply: Reply, *fragments: str) -> None:
    assert reply.error, reply
    assert reply.ephemeral, reply
    text = render_reply(reply)
    for fragment in fragments:
        assert fragment in text, text


# company, latest, search, why -----------------------------------------------------------------


async def test_company_card_from_a_chinese_alias(ctx: Context) -> None:
    reply = await run(ctx, "company 华为")
    assert reply.title == "Huawei"
    assert not reply.error
    assert "Mentions: 4 in the last 7 days, 1 in the 7 before (up 300%)" in reply.lines
    assert "Top sources: Chip Wire (4), Xinpian (2)" in reply.lines
    assert any(line.startswith("Also known as: ") and "华为" in line for line in reply.lines)
    assert titles(reply)[:2] == [
        "Huawei Ascend 910C ships in volume",
        "Huawei CloudMatrix 384 racks",
    ]
    assert "Huawei phone sales rise" not in titles(reply)  # mentioned, not AI-chip news


async def test_company_card_from_a_ticker(ctx: Context) -> None:
    reply = await run(ctx, "company NVDA")
    assert reply.title == "Nvidia"
    assert titles(reply) == ["Nvidia H20 export licence"]
    assert "Tickers: NASDAQ:NVDA" in reply.lines
    assert "Mentions: 1 in the last 7 days, 0 in the 7 before (new this week)" in reply.lines


async def test_an_unknown_company_is_a_private_error_with_suggestions(ctx: Context) -> None:
    assert_private_error(await run(ctx, "company huaw"), "huaw", "Did you mean Huawei")
    assert_private_error(await run(ctx, "company qwertyuiop"), "Nvidia, 华为 or NVDA")


async def test_latest_is_relevant_only_newest_first_and_counted(ctx: Context) -> None:
    reply = await run(ctx, "latest 3")
    assert titles(reply) == [
        "Huawei Ascend 910C ships in volume",
        "Huawei CloudMatrix 384 racks",
        "Nvidia H20 export licence",
    ]
    about = await run(ctx, "latest 英伟达")
    assert about.title == "Latest AI-chip news on Nvidia"
    assert titles(about) == ["Nvidia H20 export licence"]
    card = about.cards[0]
    assert card.url == "https://news.example/4"
    assert ("id", "#4") in card.fields
    assert ("about", "Nvidia") in card.fields


async def test_search_finds_full_text_matches_with_company_and_days(ctx: Context) -> None:
    reply = await run(ctx, "search Ascend")
    assert set(titles(reply)) == {
        "Huawei Ascend 910C ships in volume",
        "Huawei roadmap for Ascend 950",
    }
    recent = await run(ctx, "search Ascend huawei 7")
    assert titles(recent) == ["Huawei Ascend 910C ships in volume"]
    assert titles(await run(ctx, 'search "export licence" nvidia')) == ["Nvidia H20 export licence"]
    assert titles(await run(ctx, "search Ascend nvidia")) == []
    nothing = await run(ctx, "search photonics")
    assert nothing.title.startswith("No stored article matches")
    assert not nothing.error


async def test_why_shows_the_evidence_by_id_or_link(ctx: Context) -> None:
    reply = await run(ctx, "why #4")
    assert reply.title == "Why #4"
    assert "Verdict: AI-chip news (score 0.80)" in reply.lines
    assert "• company:nvidia ticker" in reply.lines
    by_link = await run(ctx, "why https://news.example/4")
    assert by_link.lines == reply.lines
    assert_private_error(await run(ctx, "why 999"), "No stored article '999'", "article id")


# subscriptions ------------------------------------------------------------------------------


async def test_subscribe_subscriptions_unsubscribe_round_trip(ctx: Context, changed: Calls) -> None:
    denied = await run(ctx, "subscribe nvidia", admin=False)
    assert_private_error(denied, "Only admins can use 'subscribe'")
    made = await run(ctx, "subscribe nvidia 华为 daily 07:30 Europe/Rome 0.6")
    assert made.title == "Subscribed this channel"
    assert not made.ephemeral
    [sub] = await ctx.store.list_subscriptions()
    assert (sub.target, sub.companies, sub.schedule) == (
        "discord:42",
        ("nvidia", "huawei"),
        "30 7 * * *",
    )
    assert (sub.timezone, sub.min_relevance) == ("Europe/Rome", 0.6)

    listed = await run(ctx, "subscriptions", admin=False)
    assert listed.ephemeral
    assert "Nvidia, Huawei" in listed.lines[0]
    assert "'30 7 * * *' (Europe/Rome)" in listed.lines[0]

    updated = await run(ctx, 'subscribe "weekly mon 09:00"')
    assert updated.title == "Subscription updated"
    [sub] = await ctx.store.list_subscriptions()
    assert (sub.schedule, sub.companies) == ("0 9 * * mon", ("nvidia", "huawei"))  # rest kept

    assert_private_error(await run(ctx, "unsubscribe", admin=False), "Only admins")
    gone = await run(ctx, "unsubscribe")
    assert gone.title == "Unsubscribed this channel"
    assert await ctx.store.list_subscriptions() == []
    assert_private_error(await run(ctx, "unsubscribe"), "no subscription", "'subscribe'")
    assert (await run(ctx, "subscriptions")).title == "No subscriptions for this channel."
    assert changed.count == 3


async def test_subscribe_rejects_what_it_cannot_read(ctx: Context) -> None:
    assert_private_error(await run(ctx, "subscribe daily 25:00"), "not understood", "usage:")
    assert_private_error(await run(ctx, "subscribe Mars/Olympus"), "time zone", "usage:")
    assert_private_error(await run(ctx, "subscribe nvidia 1.5"), "from 0 to 1")
    assert_private_error(await run(ctx, "subscribe frobnicate"), "'frobnicate' is not a company")
    assert await ctx.store.list_subscriptions() == []


async def test_a_config_subscription_is_not_changed_from_chat(ctx: Context) -> None:
    config = SubscriptionConfig(target="discord:42", schedule="0 8 * * *")
    await sync_config_subscriptions(ctx.store, [config], NOW)
    assert_private_error(await run(ctx, "subscribe nvidia"), "config file")
    assert_private_error(await run(ctx, "unsubscribe"), "config file")
    [sub] = await ctx.store.list_subscriptions()
    assert sub.companies == ()


# digest ---------------------------------------------------------------------------------------


async def test_digest_is_a_private_preview_of_this_channel(ctx: Context) -> None:
    reply = await run(ctx, "digest", admin=False)
    assert reply.ephemeral
    assert not reply.error
    assert reply.title.startswith("Preview: ChipWire digest")
    assert "Huawei Ascend 910C ships in volume" in titles(reply)
    assert "Huawei phone sales rise" not in titles(reply)
    assert len(set(titles(reply))) == len(reply.cards)
    await run(ctx, "subscribe nvidia")
    followed = await run(ctx, "digest")
    assert titles(followed) == ["Nvidia H20 export licence"]


# feeds ----------------------------------------------------------------------------------------


class StubFetcher:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.urls: list[str] = []

    async def fetch(self, url: str, **_: object) -> FetchResult:
        self.urls.append(url)
        return FetchResult(url=url, status=200, body=self.body, content_type="application/rss+xml")


async def test_feeds_add_refuses_other_schemes_and_private_addresses(ctx: Context) -> None:
    assert_private_error(await run(ctx, "feeds add file:///etc/passwd"), "'file'", "https://")
    assert_private_error(
        await run(ctx, "feeds add http://127.0.0.1:8080/feed"), "loopback", "public addresses"
    )
    assert_private_error(await run(ctx, "feeds test http://10.1.2.3/rss"), "private")
    assert_private_error(await run(ctx, "feeds add https://x.example/f", admin=False), "admins")
    assert len(await ctx.store.list_feeds()) == 2


async def test_feeds_test_add_list_and_remove(ctx: Context) -> None:
    stub = StubFetcher(RSS)
    ctx = replace(ctx, fetcher=stub)  # type: ignore[arg-type]
    tested = await run(ctx, "feeds test https://silicon.example/rss")
    assert tested.title == "Feed OK: Silicon Weekly"
    assert "2 entries (rss20)." in tested.lines
    assert len(await ctx.store.list_feeds()) == 2
    added = await run(ctx, "feeds add https://silicon.example/rss")
    assert added.title == "Added feed #3: Silicon Weekly"
    assert added.ephemeral
    assert_private_error(await run(ctx, "feeds add https://silicon.example/rss"), "already stored")
    listed = await run(ctx, "feeds list")
    assert listed.title == "3 feeds"
    assert "#3 Silicon Weekly" in listed.lines[2]
    removed = await run(ctx, "feeds remove 3")
    assert removed.title == "Removed feed #3: Silicon Weekly"
    assert_private_error(await run(ctx, "feeds remove 3"), "No feed #3", "'feeds list'")
    assert_private_error(await run(ctx, "feeds remove three"), "feed id", "usage: feeds")


async def test_feeds_add_refuses_a_page_that_is_not_a_feed(ctx: Context) -> None:
    ctx = replace(ctx, fetcher=StubFetcher(b"<!DOCTYPE html><html><body>hi</body></html>"))  # type: ignore[arg-type]
    assert_private_error(await run(ctx, "feeds add https://site.example/"), "not a feed")


# dispatch: unknown, usage, help, failures -------------------------------------------------------


async def test_unknown_command_and_bad_arguments_are_private_usage_errors(ctx: Context) -> None:
    assert_private_error(
        await run(ctx, "lates"), "Unknown command 'lates'", "Did you mean 'latest'"
    )
    assert_private_error(await run(ctx, "company"), "needs name", "usage: company <name>")
    assert_private_error(await run(ctx, "latest 99"), "from 1 to 20", "usage: latest")
    assert_private_error(await run(ctx, "feeds frob"), "not one of list, add", "usage: feeds")
    assert_private_error(await run(ctx, "why 1 2"), "at most 1", "usage: why <article>")
    assert_private_error(await run(ctx, "feeds add"), "needs one URL")


async def test_help_lists_every_command(ctx: Context) -> None:
    reply = await run(ctx, "help", admin=False)
    assert reply.ephemeral
    assert len(reply.lines) == len(commands())
    assert any(line.startswith("subscribe ") and "(admins)" in line for line in reply.lines)
    detail = await run(ctx, "help feeds")
    assert detail.lines[0] == "usage: feeds <list|add|remove|test|pause|resume|edit> [target…]"


async def test_a_failing_handler_gives_the_generic_private_error(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(ctx.store, "search", broken)
    with caplog.at_level(logging.ERROR, logger="bot.commands.table"):
        reply = await run(ctx, "search Ascend")
    assert reply == Reply(title=GENERIC_ERROR, ephemeral=True, error=True)
    assert "database on fire" in caplog.text


# the table fits Discord ---------------------------------------------------------------------

NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


def test_commands_fit_discord_slash_command_limits() -> None:
    assert len({spec.name for spec in commands()}) == len(commands()) <= 100
    for spec in commands():
        assert NAME.match(spec.name), spec.name
        assert 1 <= len(spec.help) <= 100, spec.name
        assert len(spec.params) <= 25, spec.name
        assert len({p.name for p in spec.params}) == len(spec.params)
        required = [p.required for p in spec.params]
        assert required == sorted(required, reverse=True), f"{spec.name}: required first"
        for param in spec.params:
            assert NAME.match(param.name), param.name
            assert 1 <= len(param.help) <= 100, param.name
            assert len(param.choices) <= 25
            assert (param.kind == "choice") == bool(param.choices)


# messages, rendering, ask --------------------------------------------------------------------


def test_parse_command_line_keeps_quoted_phrases() -> None:
    assert parse_command_line('Search "Ascend 910C" huawei 7') == (
        "search",
        ("Ascend 910C", "huawei", "7"),
    )
    with pytest.raises(ValueError, match="close every quote"):
        parse_command_line('search "Ascend')
    with pytest.raises(ValueError, match="help"):
        parse_command_line("   ")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("search Nvidia's", ("search", ("Nvidia's",))),
        ("search l'export", ("search", ("l'export",))),
        ("company “ant group”", ("company", ("ant group",))),
        ('search "it\'s here" #1', ("search", ("it's here", "#1"))),
    ],
)
def test_parse_command_line_reads_apostrophes_and_typographic_quotes(
    text: str, words: tuple[str, tuple[str, ...]]
) -> None:
    assert parse_command_line(text) == words


def test_render_reply_strips_control_characters() -> None:
    reply = Reply(
        title="Bad\x1b[31m title\u202e",
        lines=("line\x07 one",),
        cards=(Card("Story\x00", "https://a.example/1", "Body\nnext", (("source", "S\x1b"),)),),
        error=True,
    )
    text = render_reply(reply)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert text.splitlines() == [
        "error: Bad[31m title",
        "line one",
        "",
        "• Story",
        "  https://a.example/1",
        "  Body next",
        "  source: S",
    ]


async def test_ask_runs_the_same_handler_on_an_app(tmp_path: Path) -> None:
    app = await build_app(settings_for(tmp_path), parse_workers=0, clock=lambda: NOW)
    async with app:
        await stored(app.store, "Chip Wire", (1, HUAWEI, {"published_at": ago(1)}))
        text = await ask(app.command_context(), "company huawei")
        assert text.startswith("Huawei\n")
        assert "Story number 1" in text
        assert (await ask(app.command_context(), 'search "unclosed')).startswith(
            "error: cannot read that command"
        )
        denied = await ask(app.command_context(), "unsubscribe", is_admin=False)
        assert denied.startswith("error: Only admins")


async def test_every_command_is_timed_for_the_metrics(ctx: Context) -> None:
    from dataclasses import replace

    timed: list[tuple[str, float]] = []
    measured = replace(ctx, on_command=lambda name, seconds: timed.append((name, seconds)))
    await run(measured, "help")
    await run(measured, "nonsense")
    assert [name for name, _ in timed] == ["help", "unknown"]
    assert all(seconds >= 0 for _, seconds in timed)
