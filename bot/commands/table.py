"""The one command table: Discord, Slack and `chipwire ask` all run these handlers.

`COMMANDS` describes every command (name, help, parameters, admin-only) in the terms Discord's
slash commands need; the adapters register from it and hand each invocation to `dispatch` as a
`Command`. `dispatch` never raises: unknown commands, bad arguments, missing permission and any
failure inside a handler all come back as a short private `Reply` saying what to do.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from bot.classify.catalog import Catalog, Company
from bot.commands.messages import Card, Command, Reply, error_reply
from bot.commands.resolve import CompanyIndex, build_index
from bot.digest.deliver import DeliveryContext, compose_period
from bot.digest.schedules import ScheduleError, check_timezone, next_fire, parse_schedule
from bot.ingest.fetch import Fetcher
from bot.ingest.normalise import canonical_url
from bot.ingest.urlsafety import check_url_scheme
from bot.models import (
    Digest,
    FeedConfig,
    FeedState,
    ParsedFeed,
    Story,
    Subscription,
    SubscriptionConfig,
)
from bot.settings import Settings
from bot.store import queries
from bot.store.errors import StoreError
from bot.store.repo import Store, StoredArticle
from bot.text import (
    companies_text,
    linkable,
    local_time,
    one_line,
    period_text,
    sources_text,
    summary_line,
    truncate,
    zone,
)
from bot.trends import present as trends
from bot.trends.cache import ChartCache
from bot.trends.data import trend_data
from bot.trends.series import TrendData

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Kind = Literal["str", "int", "float", "company", "url", "choice"]
T = TypeVar("T")

MAX_CARDS = 10  # Discord's embeds per message
DEFAULT_COUNT = 5
MAX_COUNT = 20
MAX_DAYS = 3650
MAX_FEED_LINES = 40
DEFAULT_SCHEDULE = "daily 08:00"
GENERIC_ERROR = "Something went wrong; try again or ask an admin."


class CommandError(Exception):
    """A problem the user can fix: `message` says what happened, `hints` what to do."""

    def __init__(self, message: str, *hints: str) -> None:
        super().__init__(message)
        self.message = message
        self.hints = hints


class UsageError(CommandError):
    """Arguments the command cannot read; the reply adds the command's usage line."""


@dataclass(frozen=True)
class Param:
    name: str
    help: str
    required: bool = False
    kind: Kind = "str"
    choices: tuple[str, ...] = ()
    many: bool = False  # takes the rest of the words (a phrase, several companies)


@dataclass(frozen=True)
class Context:
    store: Store
    catalog: Catalog
    companies: CompanyIndex
    clock: Clock
    settings: Settings
    fetcher: Fetcher | None = None  # None: `feeds add/test` say they cannot fetch here
    # Called after subscribe/unsubscribe so the scheduler can add or drop the digest job.
    on_subscriptions_changed: Callable[[], Awaitable[None]] | None = None
    # Called with (command name, seconds) after each command, for the metrics.
    on_command: Callable[[str, float], None] | None = None
    # Rendered charts, shared by every platform of one running bot; None renders each anew.
    charts: ChartCache | None = None

    @property
    def company_names(self) -> Mapping[str, str]:
        return self.companies.display

    def resolve_company(self, text: str) -> str | None:
        return self.companies.resolve(text)


def make_context(
    store: Store,
    catalog: Catalog,
    clock: Clock,
    settings: Settings,
    *,
    fetcher: Fetcher | None = None,
    on_subscriptions_changed: Callable[[], Awaitable[None]] | None = None,
    charts: ChartCache | None = None,
) -> Context:
    return Context(
        store=store,
        catalog=catalog,
        companies=build_index(catalog),
        clock=clock,
        settings=settings,
        fetcher=fetcher,
        on_subscriptions_changed=on_subscriptions_changed,
        charts=charts,
    )


Handler = Callable[[Context, Command], Awaitable[Reply]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    help: str
    params: tuple[Param, ...]
    admin: bool
    handler: Handler = field(compare=False)

    def usage(self) -> str:
        return " ".join([self.name, *(_param_usage(p) for p in self.params)])


def _param_usage(param: Param) -> str:
    label = "|".join(param.choices) if param.choices else param.name
    label += "…" if param.many else ""
    return f"<{label}>" if param.required else f"[{label}]"


# dispatch ------------------------------------------------------------------------------------


async def dispatch(ctx: Context, command: Command) -> Reply:
    """Run the command; every failure becomes a private reply, never an exception."""
    started = time.perf_counter()
    try:
        return await _dispatch(ctx, command)
    finally:
        if ctx.on_command is not None:
            name = command.name.lower() if command.name.lower() in BY_NAME else "unknown"
            ctx.on_command(name, time.perf_counter() - started)


async def _dispatch(ctx: Context, command: Command) -> Reply:
    spec = BY_NAME.get(command.name.lower())
    if spec is None:
        return _unknown(command.name)
    if spec.admin and not command.is_admin:
        return error_reply(
            f"Only admins can use '{spec.name}'.", "Ask an admin of this channel to run it."
        )
    try:
        _check_arity(spec, command.args)
        return await spec.handler(ctx, command)
    except UsageError as exc:
        return error_reply(exc.message, *exc.hints, f"usage: {spec.usage()}")
    except CommandError as exc:
        return error_reply(exc.message, *exc.hints)
    except Exception:
        log.exception("command %r from %s in %s failed", spec.name, command.user, command.channel)
        return error_reply(GENERIC_ERROR)


def _unknown(name: str) -> Reply:
    close = difflib.get_close_matches(name.lower(), list(BY_NAME), n=1)
    guess = f"Did you mean '{close[0]}'? " if close else ""
    names = ", ".join(BY_NAME)
    return error_reply(
        f"Unknown command '{truncate(one_line(name), 40)}'.",
        f"{guess}Commands: {names}. 'help' explains each.",
    )


def _check_arity(spec: CommandSpec, args: Sequence[str]) -> None:
    required = [p for p in spec.params if p.required]
    if len(args) < len(required):
        raise UsageError(f"'{spec.name}' needs {required[len(args)].name}.")
    if not any(p.many for p in spec.params) and len(args) > len(spec.params):
        raise UsageError(f"'{spec.name}' takes at most {len(spec.params)} argument(s).")
    for param, arg in zip(spec.params, args, strict=False):
        if param.choices and arg.lower() not in param.choices:
            raise UsageError(f"'{arg}' is not one of {', '.join(param.choices)}.")


async def _read(ctx: Context, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    async with ctx.store.engine.connect() as conn:
        return await conn.run_sync(lambda sync: query(sync, *args, **kwargs))


async def _write(ctx: Context, change: Callable[..., T], *args: Any) -> T:
    async with ctx.store.writing() as conn:
        return await conn.run_sync(lambda sync: change(sync, *args))


# argument helpers ----------------------------------------------------------------------------


def _company(ctx: Context, text: str) -> str:
    company_id = ctx.resolve_company(text)
    if company_id is not None:
        return company_id
    hints = ctx.companies.close_matches(text, limit=5)
    hint = (
        "Did you mean " + ", ".join(name for _, name in hints) + "?"
        if hints
        else "Try a name, alias or ticker such as Nvidia, 华为 or NVDA."
    )
    raise CommandError(f"I don't know a company called '{truncate(one_line(text), 60)}'.", hint)


def _bounded_int(text: str, what: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{what} must be a whole number from {low} to {high}, not '{text}'.")
    return int(text)


def _article_card(ctx: Context, article: StoredArticle) -> Card:
    fields = [("source", article.source), ("published", local_time(article.published_at, UTC))]
    about = companies_text(article.companies, ctx.company_names)
    if about:
        fields.append(("about", about))
    fields.append(("id", f"#{article.id}"))
    return Card(
        title=article.title or "(untitled)",
        url=article.url if linkable(article.url) else None,
        body=summary_line(article.summary),
        fields=tuple(fields),
    )


def _cards(ctx: Context, found: Sequence[StoredArticle]) -> tuple[Card, ...]:
    return tuple(_article_card(ctx, article) for article in found[:MAX_CARDS])


# help, latest, company, search, why --------------------------------------------------------


async def _help(ctx: Context, command: Command) -> Reply:
    if command.args:
        spec = BY_NAME.get(command.args[0].lower())
        if spec is None:
            return _unknown(command.args[0])
        lines = [f"usage: {spec.usage()}", *(f"{p.name}: {p.help}" for p in spec.params)]
        if spec.admin:
            lines.append("Only admins can use it.")
        return Reply(title=f"{spec.name}: {spec.help}", lines=tuple(lines), ephemeral=True)
    overview = tuple(
        f"{spec.usage()} — {spec.help}{' (admins)' if spec.admin else ''}" for spec in COMMANDS
    )
    return Reply(title="ChipWire commands", lines=overview, ephemeral=True)


async def _latest(ctx: Context, command: Command) -> Reply:
    counts = [arg for arg in command.args if arg.isdigit()]
    words = [arg for arg in command.args if not arg.isdigit()]
    if len(counts) > 1:
        raise UsageError("give one count.")
    count = _bounded_int(counts[0], "count", 1, MAX_COUNT) if counts else DEFAULT_COUNT
    company = _company(ctx, " ".join(words)) if words else None
    found = await _read(
        ctx,
        queries.latest_articles,
        company,
        limit=count,
        min_score=ctx.settings.relevance_threshold,
    )
    about = f" on {ctx.company_names[company]}" if company else ""
    if not found:
        return Reply(title=f"No AI-chip stories{about} stored yet.")
    return Reply(title=f"Latest AI-chip news{about}", cards=_cards(ctx, found))


TOP_SOURCES_WINDOW = timedelta(days=30)


async def _company_card(ctx: Context, command: Command) -> Reply:
    company = ctx.catalog.company(_company(ctx, " ".join(command.args)))
    now = ctx.clock()
    this_week, last_week = await _read(ctx, queries.weekly_mentions, company.id, now)
    # the last month: a card must answer in milliseconds on a store of millions of articles
    since = now - TOP_SOURCES_WINDOW
    sources = await _read(ctx, queries.top_sources, company.id, since=since, limit=5)
    stories = await _read(
        ctx,
        queries.latest_articles,
        company.id,
        limit=5,
        min_score=ctx.settings.relevance_threshold,
    )
    lines = [*_who(company), _trend(this_week, last_week), _sources_line(sources)]
    if not stories:
        lines.append("No AI-chip stories about it stored yet.")
    return Reply(title=company.name, lines=tuple(lines), cards=_cards(ctx, stories))


def _who(company: Company) -> list[str]:
    lines = []
    others = [n for n in company.all_names if n != company.name][:8]
    if others:
        lines.append("Also known as: " + ", ".join(others))
    for label, values, most in (
        ("Tickers", company.tickers, 4),
        ("Units", company.units, 5),
        ("Products", company.products, 6),
    ):
        if values:
            lines.append(f"{label}: " + ", ".join(values[:most]))
    return lines


def _trend(this_week: int, last_week: int) -> str:
    counts = f"Mentions: {this_week} in the last 7 days, {last_week} in the 7 before"
    if last_week == 0:
        return counts + (" (new this week)" if this_week else "")
    change = round((this_week - last_week) * 100 / last_week)
    if change == 0:
        return counts + " (no change)"
    return counts + f" ({'up' if change > 0 else 'down'} {abs(change)}%)"


def _sources_line(sources: Sequence[tuple[str, int]]) -> str:
    if not sources:
        return "Top sources: none yet"
    return "Top sources: " + ", ".join(f"{name} ({n})" for name, n in sources)


async def _search(ctx: Context, command: Command) -> Reply:
    words = list(command.args)
    days = None
    if len(words) > 1 and words[-1].isdigit():
        days = _bounded_int(words.pop(), "days", 1, MAX_DAYS)
    company = ctx.resolve_company(words[-1]) if len(words) > 1 else None
    if company is not None:
        words.pop()
    text = " ".join(words).strip()
    if not text:
        raise UsageError("give some words to search for.")
    since = ctx.clock() - timedelta(days=days) if days is not None else None
    # one more than is shown tells whether to say there are more
    found = await ctx.store.search(text, MAX_CARDS + 1, company=company, since=since)
    shown = truncate(one_line(text), 80)
    if not found:
        return Reply(
            title=f"No stored article matches '{shown}'.",
            lines=("Try fewer or other words, another language, or more days.",),
        )
    more = ("Newest first; there are more. Narrow it with a company or days.",)
    lines = more if len(found) > MAX_CARDS else ()
    return Reply(title=f"Search: {shown}", lines=lines, cards=_cards(ctx, found))


async def _why(ctx: Context, command: Command) -> Reply:
    reference = command.args[0].strip().removeprefix("#")
    if not reference.isdigit():
        reference = canonical_url(reference)
    article = await ctx.store.find_article(reference)
    if article is None:
        raise CommandError(
            f"No stored article '{truncate(one_line(command.args[0]), 80)}'.",
            "Give an article id (#123, as 'latest' and 'search' show) or its link.",
        )
    if article.relevant is None:
        verdict = "not classified yet"
    else:
        kind = "AI-chip news" if article.relevant else "not AI-chip news"
        verdict = f"{kind} (score {article.score or 0.0:.2f})"
    about = companies_text(article.companies, ctx.company_names) or "none"
    lines = (f"Verdict: {verdict}", f"Companies: {about}", *(f"• {r}" for r in article.why))
    if not article.why:
        lines += ("No rule fired.",)
    return Reply(title=f"Why #{article.id}", lines=lines, cards=(_article_card(ctx, article),))


# subscriptions -------------------------------------------------------------------------------


async def _subscriptions(ctx: Context, command: Command) -> Reply:
    # The console is the operator's own terminal: it sees every channel's subscription.
    target = None if command.channel == "console" else command.channel
    owned = await _read(ctx, queries.subscriptions_of, target)
    if not owned:
        return Reply(
            title="No subscriptions for this channel.",
            lines=('An admin can start one: subscribe nvidia huawei "daily 08:00" Europe/Rome',),
            ephemeral=True,
        )
    lines = tuple(_describe(ctx, o.subscription, o.origin) for o in owned)
    return Reply(title="Subscriptions", lines=lines, ephemeral=True)


def _describe(ctx: Context, sub: Subscription, origin: str = "chat") -> str:
    companies = ", ".join(ctx.company_names.get(c, c) for c in sub.companies) or "all companies"
    upcoming = next_fire(sub.schedule, sub.timezone, ctx.clock())
    owner = ", from the config file" if origin == "config" else ""
    return (
        f"#{sub.id} {sub.target}: {companies}; schedule '{sub.schedule}' ({sub.timezone}), "
        f"min relevance {sub.min_relevance:.2f}{owner}; next {local_time(upcoming, zone(sub.timezone))}"
    )


async def _subscribe(ctx: Context, command: Command) -> Reply:
    owned = await _read(ctx, queries.subscriptions_of, command.channel)
    if owned and owned[0].origin == "config":
        raise CommandError(
            "This channel's subscription comes from the config file.",
            f"Change it in {ctx.settings.config_path.name}; chat changes would be undone.",
        )
    base: SubscriptionConfig = (
        owned[0].subscription
        if owned
        else SubscriptionConfig(
            target=command.channel,
            schedule=parse_schedule(DEFAULT_SCHEDULE),
            min_relevance=ctx.settings.relevance_threshold,
        )
    )
    config = replace(base, **_subscribe_changes(ctx, command.args))
    try:
        saved = await _write(ctx, queries.save_chat_subscription, config, ctx.clock())
    except queries.ConfigOwnedError as exc:
        raise CommandError(f"{exc}.") from None
    await _subscriptions_changed(ctx)
    title = "Subscription updated" if owned else "Subscribed this channel"
    return Reply(title=title, lines=(_describe(ctx, saved),))


_SCHEDULE_WORDS = {"daily": 2, "weekdays": 2, "weekly": 3}  # words a schedule takes


def _subscribe_changes(ctx: Context, args: Sequence[str]) -> dict[str, Any]:
    """Companies, a schedule, a time zone and a minimum relevance, in any order."""
    changes: dict[str, Any] = {}
    companies: list[str] = []
    words: list[str] = []
    for arg in args:
        phrase = arg.split()
        if len(phrase) > 1:  # quoted: a schedule or a company name with a space
            if phrase[0].lower() in _SCHEDULE_WORDS or len(phrase) == 5:
                changes["schedule"] = _schedule(arg)
            else:
                companies.append(_company(ctx, arg))
        else:
            words += [w for w in re.split(r"[,\s]+", arg) if w]
    index = 0
    while index < len(words):
        index = _read_word(ctx, words, index, changes, companies)
    if companies:
        changes["companies"] = tuple(dict.fromkeys(companies))
    return changes


def _read_word(
    ctx: Context, words: list[str], index: int, changes: dict[str, Any], companies: list[str]
) -> int:
    """Read the subscribe word at `index` into `changes`/`companies`; return the next index."""
    word = words[index]
    span = _SCHEDULE_WORDS.get(word.lower())
    if span is not None:
        changes["schedule"] = _schedule(" ".join(words[index : index + span]))
        return index + span
    if re.fullmatch(r"\d*\.\d+|[01]", word):
        value = float(word)
        if not 0.0 <= value <= 1.0:
            raise UsageError(f"min-relevance must be from 0 to 1, not {word}.")
        changes["min_relevance"] = value
    elif "/" in word or word.upper() in ("UTC", "GMT"):
        changes["timezone"] = _timezone(word)
    elif word.lower() in ("all", "everything"):
        changes["companies"] = ()
    else:
        company = ctx.resolve_company(word)
        if company is None:
            raise UsageError(
                f"'{truncate(word, 40)}' is not a company, schedule, time zone or relevance."
            )
        companies.append(company)
    return index + 1


def _schedule(text: str) -> str:
    try:
        return parse_schedule(text)
    except ScheduleError as exc:
        raise UsageError(f"{exc}.") from None


def _timezone(text: str) -> str:
    try:
        return check_timezone(text)
    except ScheduleError as exc:
        raise UsageError(f"{exc}.") from None


async def _unsubscribe(ctx: Context, command: Command) -> Reply:
    try:
        removed = await _write(ctx, queries.remove_chat_subscription, command.channel)
    except queries.ConfigOwnedError:
        raise CommandError(
            "This channel's subscription comes from the config file.",
            f"Remove it from {ctx.settings.config_path.name}; chat changes would be undone.",
        ) from None
    if removed is None:
        raise CommandError(
            "This channel has no subscription.", "Nothing to stop; 'subscribe' starts one."
        )
    await _subscriptions_changed(ctx)
    return Reply(title="Unsubscribed this channel", lines=("No more digests will be posted here.",))


async def _subscriptions_changed(ctx: Context) -> None:
    if ctx.on_subscriptions_changed is None:
        return
    try:
        await ctx.on_subscriptions_changed()
    except Exception:  # the change is stored; the scheduler picks it up at the next start
        log.exception("refreshing the digest schedule after a subscription change failed")


# digest preview ------------------------------------------------------------------------------


async def _digest(ctx: Context, command: Command) -> Reply:
    owned = await _read(ctx, queries.subscriptions_of, command.channel)
    subscription = (
        owned[0].subscription
        if owned
        else Subscription(
            target=command.channel,
            schedule=parse_schedule(DEFAULT_SCHEDULE),
            min_relevance=ctx.settings.relevance_threshold,
        )
    )
    delivery = DeliveryContext(
        store=ctx.store,
        posters={},
        clock=ctx.clock,
        settings=ctx.settings.digest,
        company_names=ctx.company_names,
    )
    digest, _ = await compose_period(delivery, subscription, ctx.clock())
    return _digest_reply(ctx, digest)


def _digest_reply(ctx: Context, digest: Digest) -> Reply:
    lines = [period_text(digest.period_start, digest.period_end, digest.timezone)]
    placed = _placed_stories(digest)
    if not placed:
        lines.append(digest.empty_note or "Nothing new in AI-chip news since the last digest.")
    if len(placed) > MAX_CARDS:
        lines.append(f"and {len(placed) - MAX_CARDS} more stories in the full digest")
    where = zone(digest.timezone)
    cards = tuple(_story_card(ctx, heading, story, where) for heading, story in placed[:MAX_CARDS])
    return Reply(title=f"Preview: {digest.title}", lines=tuple(lines), cards=cards, ephemeral=True)


def _placed_stories(digest: Digest) -> list[tuple[str, Story]]:
    seen: set[str] = set()
    placed = []
    for section in digest.sections:
        for story in section.stories:
            if story.key not in seen:
                seen.add(story.key)
                placed.append((section.heading, story))
    return placed


def _story_card(ctx: Context, heading: str, story: Story, where: Any) -> Card:
    fields = [
        ("section", heading),
        ("sources", sources_text(story.sources)),
        ("when", local_time(story.published_at, where)),
    ]
    about = companies_text(story.companies, ctx.company_names)
    if about:
        fields.append(("about", about))
    return Card(
        title=story.title or "(untitled)",
        url=story.url if linkable(story.url) else None,
        body=summary_line(story.summary),
        fields=tuple(fields),
    )


# feeds ---------------------------------------------------------------------------------------


async def _feeds(ctx: Context, command: Command) -> Reply:
    action, rest = command.args[0].lower(), command.args[1:]
    if action == "list":
        if rest:
            raise UsageError("'feeds list' takes nothing more.")
        return await _feeds_list(ctx)
    if len(rest) != 1:
        raise UsageError(f"'feeds {action}' needs one {'id' if action == 'remove' else 'URL'}.")
    if action == "remove":
        return await _feeds_remove(ctx, rest[0])
    url = rest[0].strip()
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
        if error.startswith("refused"):
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
    feed_id = _bounded_int(text.removeprefix("#"), "feed id", 1, 2**31 - 1)
    feed = await ctx.store.get_feed(feed_id)
    if feed is None:
        raise CommandError(f"No feed #{feed_id}.", "'feeds list' shows the ids.")
    if owned_by_file(feed, ctx.settings):
        raise CommandError(
            f"Feed #{feed.id} belongs to the config file {ctx.settings.config_path.name}.",
            "An operator removes its [[feeds]] entry there; the bot follows at its next start.",
        )
    removed = await ctx.store.remove_feed(feed_id)
    if removed is None:
        raise CommandError(f"No feed #{feed_id}.", "'feeds list' shows the ids.")
    return Reply(
        title=f"Removed feed #{removed.id}: {removed.name}",
        lines=("Its articles stay stored.",),
        ephemeral=True,
    )


def owned_by_file(feed: FeedState, settings: Settings) -> bool:
    """A config feed the file still names: only the file may remove or edit it."""
    return feed.origin == "config" and any(f.url == feed.url for f in settings.feeds)


# trend, share ----------------------------------------------------------------------------------


async def _trend_chart(ctx: Context, command: Command) -> Reply:
    words = list(command.args)
    days = trends.DEFAULT_TREND_DAYS
    if len(words) > 1 and words[-1].isdigit():
        days = _bounded_int(words.pop(), "days", 1, trends.MAX_CHART_DAYS)
    order = {company: index for index, company in enumerate(ctx.catalog.ids)}
    # catalog order: the same companies give the same chart (and cache entry) however asked
    companies = sorted(_companies(ctx, words), key=lambda c: order.get(c, len(order)))
    if not companies:
        raise UsageError("name at least one company, e.g. trend nvidia huawei 30.")
    if len(companies) > trends.MAX_TREND_COMPANIES:
        raise UsageError(f"compare at most {trends.MAX_TREND_COMPANIES} companies at once.")
    data = await _trend_data(ctx, companies, days)
    if not any(s.total for s in data.series):
        return Reply(
            title=f"No relevant stories about {_names(ctx, companies)} in the last {days} days.",
            lines=("Try more days or other companies.",),
        )
    chart = await trends.trend_chart(data, ctx.catalog.ids, ctx.charts)
    return Reply(title=trends.trend_title(data), lines=trends.trend_lines(data), attachment=chart)


async def _share(ctx: Context, command: Command) -> Reply:
    days = trends.DEFAULT_SHARE_DAYS
    if command.args:
        days = _bounded_int(command.args[0], "days", 1, trends.MAX_CHART_DAYS)
    data = await _trend_data(ctx, ctx.catalog.ids, days)
    if not any(s.total for s in data.series):
        return Reply(title=f"No relevant stories in the last {days} days.")
    chart = await trends.share_chart(data, ctx.catalog.ids, ctx.charts)
    return Reply(
        title=trends.share_title(days), lines=trends.share_reply_lines(data), attachment=chart
    )


async def _trend_data(ctx: Context, companies: Sequence[str], days: int) -> TrendData:
    return await trend_data(
        ctx.store,
        ctx.company_names,
        companies,
        days=days,
        today=ctx.clock().astimezone(UTC).date(),
        min_score=ctx.settings.relevance_threshold,
    )


def _companies(ctx: Context, args: Sequence[str]) -> list[str]:
    """Company ids from words and quoted names; a name may span words ("ant group")."""
    words = [w for arg in args for w in re.split(r"[,\s]+", arg) if w]
    found: list[str] = []
    index = 0
    while index < len(words):
        for span in (3, 2, 1):
            company = ctx.resolve_company(" ".join(words[index : index + span]))
            if company is not None and index + span <= len(words):
                break
        else:
            company, span = _company(ctx, words[index]), 1  # raises with suggestions
        found.append(company)
        index += span
    return list(dict.fromkeys(found))


def _names(ctx: Context, company_ids: Sequence[str]) -> str:
    return ", ".join(ctx.company_names.get(c, c) for c in company_ids)


# the table -----------------------------------------------------------------------------------

_COMPANY = "Company name, alias or ticker: Nvidia, 华为, NVDA"

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "latest",
        "The newest AI-chip stories, for one company if given",
        (
            Param("company", _COMPANY, kind="company"),
            Param(
                "count", f"How many stories (1-{MAX_COUNT}, default {DEFAULT_COUNT})", kind="int"
            ),
        ),
        False,
        _latest,
    ),
    CommandSpec(
        "company",
        "A company card: who it is, latest stories, mentions this week vs last, top sources",
        (Param("name", _COMPANY, required=True, kind="company", many=True),),
        False,
        _company_card,
    ),
    CommandSpec(
        "search",
        "Full-text search over stored articles",
        (
            Param("query", "Words to find; quote a phrase", required=True, many=True),
            Param("company", "Only articles about this company", kind="company"),
            Param("days", "Only the last N days", kind="int"),
        ),
        False,
        _search,
    ),
    CommandSpec(
        "trend",
        "A chart of daily relevant stories per company",
        (
            Param(
                "companies",
                _COMPANY + "; several to compare",
                required=True,
                kind="company",
                many=True,
            ),
            Param(
                "days",
                f"Window in days (1-{trends.MAX_CHART_DAYS}, default {trends.DEFAULT_TREND_DAYS})",
                kind="int",
            ),
        ),
        False,
        _trend_chart,
    ),
    CommandSpec(
        "share",
        "Share of voice: which companies dominated the news, as a chart and a ranking",
        (
            Param(
                "days",
                f"Window in days (1-{trends.MAX_CHART_DAYS}, default {trends.DEFAULT_SHARE_DAYS})",
                kind="int",
            ),
        ),
        False,
        _share,
    ),
    CommandSpec("digest", "This channel's digest now, as a private preview", (), False, _digest),
    CommandSpec(
        "subscribe",
        "Post digests in this channel (or change them)",
        (
            Param(
                "companies", "Companies to follow; 'all' for every one", kind="company", many=True
            ),
            Param("schedule", "daily 08:00, weekdays 18:00, weekly mon 09:00 or cron"),
            Param("timezone", "IANA time zone such as Europe/Rome (default UTC)"),
            Param("min-relevance", "Least relevance from 0 to 1", kind="float"),
        ),
        True,
        _subscribe,
    ),
    CommandSpec("unsubscribe", "Stop this channel's digests", (), True, _unsubscribe),
    CommandSpec("subscriptions", "This channel's digest subscriptions", (), False, _subscriptions),
    CommandSpec(
        "feeds",
        "List, add, remove or test feeds",
        (
            Param(
                "action",
                "What to do",
                required=True,
                kind="choice",
                choices=("list", "add", "remove", "test"),
            ),
            Param("target", "Feed URL (add, test) or feed id (remove)"),
        ),
        True,
        _feeds,
    ),
    CommandSpec(
        "why",
        "Why an article was classified as it was",
        (Param("article", "Article id (#123) or link", required=True),),
        False,
        _why,
    ),
    CommandSpec(
        "help", "What each command does", (Param("command", "A command to explain"),), False, _help
    ),
)

BY_NAME: dict[str, CommandSpec] = {spec.name: spec for spec in COMMANDS}
