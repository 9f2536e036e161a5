"""`feeds`: list, add, remove or test the feeds the bot polls."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.commands.binding import CommandError, Param, UsageError
from bot.commands.messages import Command, Reply
from bot.commands.table import Context, bounded_int, command
from bot.ingest.urlsafety import check_url_scheme
from bot.models import FeedConfig, FeedState, ParsedFeed
from bot.settings import Settings
from bot.store.errors import StoreError
from bot.text import one_line, truncate

if TYPE_CHECKING:
    from bot.store.repo import Store

MAX_FEED_LINES = 40


@command(
    "feeds",
    "List, add, remove or test feeds",
    Param(
        "action",
        "What to do",
        required=True,
        kind="choice",
        choices=("list", "add", "remove", "test", "pause", "resume", "edit"),
    ),
    Param(
        "target",
        "Feed URL (add, test), or feed id (remove, pause, resume; edit: ID interval=S name=N)",
        many=True,
        default=(),
    ),
    admin=True,
)
async def _feeds(ctx: Context, command: Command, *, action: str, target: tuple[str, ...]) -> Reply:
    words = list(target)
    if action == "list":
        if words:
            raise UsageError("'feeds list' takes nothing more.")
        return await _feeds_list(ctx)
    if action == "edit" and words:
        return await _feeds_edit(ctx, words[0], words[1:])
    if len(words) != 1:
        wanted = "URL" if action in ("add", "test") else "id"
        raise UsageError(f"'feeds {action}' needs one {wanted}.")
    if action in ("pause", "resume"):
        return await _feeds_pause(ctx, words[0], action == "pause")
    if action == "remove":
        return await _feeds_remove(ctx, words[0])
    url = words[0].strip()
    feed = await _probe(ctx, url)
    if action == "test":
        return Reply(
            title=f"Feed OK: {_feed_title(feed, url)}",
            lines=(f"{len(feed.entries)} entries ({feed.format}).", "'feeds add' adds it."),
            ephemeral=True,
        )
    return await _feeds_add(ctx, url, feed)


async def _feeds_list(ctx: Context) -> Reply:
    summaries = await ctx.store.feed_summaries()
    if not summaries:
        return Reply(title="No feeds yet.", lines=("'feeds add <url>' adds one.",), ephemeral=True)
    lines = []
    for summary in summaries[:MAX_FEED_LINES]:
        feed = summary.feed
        status = "not polled yet" if feed.last_status is None else f"HTTP {feed.last_status}"
        if feed.consecutive_failures:
            status = f"failing ×{feed.consecutive_failures}: {feed.last_error or status}"
        owner = ", from the config file" if feed.origin == "config" else ""
        owner += ", paused" if feed.paused else ""
        lines.append(
            f"#{feed.id} {feed.name or feed.url} — {status}, "
            f"{summary.article_count} articles{owner}"
        )
    if len(summaries) > MAX_FEED_LINES:
        lines.append(
            f"and {len(summaries) - MAX_FEED_LINES} more ('chipwire feeds list' shows all)"
        )
    return Reply(title=f"{len(summaries)} feeds", lines=tuple(lines), ephemeral=True)


async def _probe(ctx: Context, url: str) -> ParsedFeed:
    """The ingest safety rules, then one real fetch and parse: only a working feed is added."""
    problem = check_url_scheme(url)
    if problem is not None:
        raise CommandError(
            f"{problem}.", "Give a full http(s) feed URL such as https://example.com/feed.xml."
        )
    if ctx.fetcher is None:
        raise CommandError("Feeds cannot be fetched from here.", "Use 'chipwire feeds add'.")
    result = await ctx.fetcher.fetch(url)
    if not result.ok or result.body is None:
        error = result.error or f"HTTP {result.status}"
        if result.refused is not None:
            raise CommandError(
                f"Refused: {error.removeprefix('refused: ')}.",
                "Chat can only add feeds on public addresses; an operator can allow a "
                "private one in the config file.",
            )
        raise CommandError(f"Could not fetch that feed: {error}.", "Check the URL and try again.")
    # Imported here: the bot's event-loop process otherwise never loads feedparser.
    from bot.ingest.parse.feedparser import FeedRejected, parse_feed

    try:
        return await asyncio.to_thread(
            parse_feed, result.body, content_type=result.content_type, base_url=result.url
        )
    except FeedRejected as exc:
        raise CommandError(
            f"That is not a feed I can read: {exc.reason}.",
            "Give the RSS, Atom or JSON Feed address, not the web page.",
        ) from None


def _feed_title(feed: ParsedFeed, url: str) -> str:
    return truncate(one_line(feed.title), 100) or (urlsplit(url).hostname or url)


async def _feeds_add(ctx: Context, url: str, feed: ParsedFeed) -> Reply:
    config = FeedConfig(url=url, name=_feed_title(feed, url))
    try:
        state = await ctx.store.add_feed(config, "chat", ctx.clock())
    except StoreError as exc:
        raise CommandError(f"{exc}.", "'feeds list' shows it.") from None
    return Reply(
        title=f"Added feed #{state.id}: {state.name}",
        lines=(
            f"{len(feed.entries)} entries now; it is polled within {state.interval // 60} minutes.",
        ),
        ephemeral=True,
    )


async def _feeds_remove(ctx: Context, text: str) -> Reply:
    feed_id = bounded_int(text.removeprefix("#"), "feed id", 1, 2**31 - 1)
    removed = await remove_feed(ctx.store, ctx.settings, feed_id, ctx.settings.config_path.name)
    return Reply(
        title=f"Removed feed #{removed.id}: {removed.name}",
        lines=("Its articles stay stored.",),
        ephemeral=True,
    )


async def remove_feed(
    store: Store, settings: Settings, feed_id: int, config_name: str
) -> FeedState:
    """`feeds remove` in chat and `chipwire feeds remove`: one rule and one message. A feed the
    config file names is removed there; `config_name` is how the file is shown (chat: its name)."""
    feed = await store.get_feed(feed_id)
    if feed is not None and owned_by_file(feed, settings):
        raise CommandError(
            f"Feed #{feed.id} <{feed.url}> belongs to the config file {config_name}.",
            "An operator deletes its [[feeds]] entry there and runs 'chipwire sync' "
            "(or restarts the bot).",
        )
    removed = None if feed is None else await store.remove_feed(feed_id)
    if removed is None:
        raise CommandError(f"No feed #{feed_id}.", "'feeds list' shows the ids.")
    return removed


def owned_by_file(feed: FeedState, settings: Settings) -> bool:
    """A config feed the file still names: only the file may remove or edit it."""
    return feed.origin == "config" and any(f.url == feed.url for f in settings.feeds)


async def _feed_by_id(ctx: Context, text: str) -> FeedState:
    feed_id = bounded_int(text.removeprefix("#"), "feed id", 1, 2**31 - 1)
    feed = await ctx.store.get_feed(feed_id)
    if feed is None:
        raise CommandError(f"No feed #{feed_id}.", "'feeds list' shows the ids.")
    return feed


async def _feeds_pause(ctx: Context, text: str, pausing: bool) -> Reply:
    feed = await _feed_by_id(ctx, text)
    edited = await ctx.store.edit_feed(feed.id, paused=pausing)
    assert edited is not None
    state = "Paused" if pausing else "Resumed"
    note = "Kept and listed; not polled until 'feeds resume'." if pausing else "Polled again."
    return Reply(title=f"{state} feed #{edited.id}: {edited.name}", lines=(note,), ephemeral=True)


async def _feeds_edit(ctx: Context, text: str, settings: list[str]) -> Reply:
    """`feeds edit ID interval=SECONDS name="New name"`: chat may not open private addresses."""
    from bot.settings import MIN_INTERVAL

    feed = await _feed_by_id(ctx, text)
    if owned_by_file(feed, ctx.settings):
        raise CommandError(
            f"Feed #{feed.id} belongs to the config file {ctx.settings.config_path.name}.",
            "An operator changes it there; 'feeds pause' works from here.",
        )
    changes: dict[str, object] = {}
    for word in settings:
        key, _, value = word.partition("=")
        if key == "interval":
            changes["interval"] = bounded_int(value, "interval", MIN_INTERVAL, 30 * 86400)
        elif key == "name" and value.strip():
            changes["name"] = truncate(one_line(value), 100)
        else:
            raise UsageError(f"'feeds edit' takes interval=SECONDS and name=NAME, not '{word}'.")
    if not changes:
        raise UsageError("'feeds edit ID' needs interval=SECONDS or name=NAME.")
    edited = await ctx.store.edit_feed(feed.id, **changes)
    assert edited is not None
    return Reply(
        title=f"Feed #{edited.id}: {edited.name}",
        lines=(f"Polled every {edited.interval // 60} minutes.",),
        ephemeral=True,
    )
