"""`subscribe`, `unsubscribe`, `subscriptions` and `digest`: this channel's digests."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from bot.commands.binding import CommandError, Param
from bot.commands.messages import Card, Command, Moment, Phrase, Reply
from bot.commands.table import MAX_CARDS, Context, command, read, write
from bot.digest.schedules import next_fire, parse_schedule
from bot.models import Digest, Story, Subscription, SubscriptionConfig
from bot.settings import Settings
from bot.text import (
    companies_text,
    linkable,
    local_time,
    period_text,
    sources_text,
    summary_line,
    zone,
)

log = logging.getLogger(__name__)

DEFAULT_SCHEDULE = "daily 08:00"


@command("subscriptions", "This channel's digest subscriptions")
async def _subscriptions(ctx: Context, command: Command) -> Reply:
    from bot.store import queries

    # The console is the operator's own terminal: it sees every channel's subscription.
    target = None if command.channel == "console" else command.channel
    owned = await read(ctx, queries.subscriptions_of, target)
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
    return Phrase(
        f"#{sub.id} {sub.target}: {companies}; schedule '{sub.schedule}' ({sub.timezone}), "
        f"min relevance {sub.min_relevance:.2f}{owner}; next ",
        Moment(upcoming, local_time(upcoming, zone(sub.timezone))),
    )


@command(
    "subscribe",
    "Post digests in this channel (or change them)",
    Param(
        "companies",
        "Companies to follow; 'all' for every one",
        kind="company",
        many=True,
        every=True,
    ),
    Param("schedule", "daily 08:00, weekdays 18:00, weekly mon 09:00 or cron", kind="schedule"),
    Param("timezone", "IANA time zone such as Europe/Rome (default UTC)", kind="timezone"),
    Param("min-relevance", "Least relevance from 0 to 1", kind="float", low=0.0, high=1.0),
    admin=True,
)
async def _subscribe(
    ctx: Context,
    command: Command,
    *,
    companies: tuple[str, ...] | None,
    schedule: str | None,
    timezone: str | None,
    min_relevance: float | None,
) -> Reply:
    from bot.store import queries

    owned = await read(ctx, queries.subscriptions_of, command.channel)
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
    given: dict[str, Any] = {
        "companies": companies,
        "schedule": schedule,
        "timezone": timezone,
        "min_relevance": min_relevance,
    }
    # what is not given is kept: `subscribe "weekly mon 09:00"` changes the schedule only
    config = replace(base, **{key: value for key, value in given.items() if value is not None})
    try:
        saved = await write(ctx, queries.save_chat_subscription, config, ctx.clock())
    except queries.ConfigOwnedError as exc:
        raise CommandError(f"{exc}.") from None
    await _subscriptions_changed(ctx)
    title = "Subscription updated" if owned else "Subscribed this channel"
    return Reply(title=title, lines=(_describe(ctx, saved),))


@command("unsubscribe", "Stop this channel's digests", admin=True)
async def _unsubscribe(ctx: Context, command: Command) -> Reply:
    from bot.store import queries

    try:
        removed = await write(ctx, queries.remove_chat_subscription, command.channel)
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


@command("digest", "This channel's digest now, as a private preview")
async def _digest(ctx: Context, command: Command) -> Reply:
    from bot.digest.deliver import DeliveryContext, compose_period
    from bot.store import queries

    owned = await read(ctx, queries.subscriptions_of, command.channel)
    subscription = (
        owned[0].subscription if owned else preview_subscription(command.channel, ctx.settings)
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


def preview_subscription(target: str, settings: Settings) -> Subscription:
    """What a digest preview uses where no subscription exists (chat's `digest` in an
    unsubscribed channel, `chipwire digest` without --subscription): the default schedule, every
    company and language, the configured relevance threshold."""
    return Subscription(
        target=target,
        schedule=parse_schedule(DEFAULT_SCHEDULE),
        min_relevance=settings.relevance_threshold,
    )


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
        ("when", Moment(story.published_at, local_time(story.published_at, where))),
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
