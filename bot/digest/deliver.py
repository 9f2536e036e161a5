"""Digests out: compose what a subscription has not seen, post it once, record it.

`deliver_digest` is the one orchestrator here: claim the (subscription, period), compose, post
through the target's `Poster`, and only after the platform accepted it record the period as sent
and every article shown. A failure is recorded and retried with backoff without touching other
targets; a period already sent is never sent again (the claim refuses it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.commands.charts import MAX_TREND_COMPANIES, top_companies, trend_chart, trend_data
from bot.digest.build import build_digest, rank_stories
from bot.digest.schedules import is_weekly, last_fire
from bot.digest.stories import stories_of
from bot.models import Attachment, Digest, DigestArticle, DigestSection, Subscription
from bot.settings import DigestSettings
from bot.store.repo import Store
from bot.trends.cache import ChartCache

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CATCH_UP_WINDOW = timedelta(days=8)  # a weekly digest missed while down is still sent
WEEKLY_CHART_DAYS = 28


class Poster(Protocol):
    """Sends a digest to one platform; raises when the platform did not accept it."""

    async def post(self, subscription: Subscription, digest: Digest, nonce: str) -> None: ...


@dataclass(frozen=True)
class DeliveryContext:
    store: Store
    posters: Mapping[str, Poster]  # by platform: "console", "discord", "slack"
    clock: Clock
    settings: DigestSettings = field(default_factory=DigestSettings)
    company_names: Mapping[str, str] = field(default_factory=dict)
    charts: ChartCache | None = None  # the weekly digest's trend chart
    retries: int = 3
    retry_delay: float = 2.0  # seconds, doubled per attempt
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@dataclass(frozen=True)
class DeliveryOutcome:
    subscription_id: int
    period_end: datetime
    status: str  # sent | already-sent | empty | failed
    stories: int = 0
    error: str | None = None
    platform: str = "console"


def platform_of(target: str) -> str:
    return target.split(":", 1)[0]


def delivery_nonce(subscription_id: int, period_end: datetime, key: str = "") -> str:
    """Stable per delivery: Discord drops a second message with the same nonce (≤ 25 chars)."""
    return f"cw{subscription_id}-{int(period_end.timestamp())}{key}"[:25]


def wanted(article: DigestArticle, subscription: Subscription) -> bool:
    return not subscription.companies or any(c in subscription.companies for c in article.companies)


async def compose_digest(
    ctx: DeliveryContext,
    subscription: Subscription,
    since: datetime,
    until: datetime,
    *,
    company: str | None = None,
) -> Digest:
    """The digest a subscription would get for (since, until]; reads, writes nothing."""
    found = await ctx.store.digest_candidates(
        target=subscription.target,
        since=since,
        until=until,
        min_score=subscription.min_relevance,
        languages=subscription.languages,
    )
    chosen = [a for a in found if wanted(a, subscription)]
    if company:
        chosen = [a for a in chosen if company in a.companies]
    stories = rank_stories(
        stories_of(chosen), now=until, company_priority=ctx.settings.company_priority
    )
    local = until.astimezone(ZoneInfo(subscription.timezone))
    return build_digest(
        stories,
        title=f"ChipWire digest — {local:%a %d %b %Y, %H:%M} ({subscription.timezone})",
        period_start=since,
        period_end=until,
        timezone=subscription.timezone,
        company_names=ctx.company_names,
        followed=subscription.companies,
        top_n=ctx.settings.top_stories,
        per_company=ctx.settings.per_company,
        empty_note="Nothing new in AI-chip news since the last digest."
        if subscription.empty_note
        else None,
    )


async def period_start(ctx: DeliveryContext, subscription: Subscription, end: datetime) -> datetime:
    previous = await ctx.store.last_digest_period(subscription.id)
    floor = end - timedelta(hours=ctx.settings.lookback_hours)
    return max(previous, floor) if previous is not None and previous < end else floor


async def deliver_digest(
    ctx: DeliveryContext, subscription: Subscription, period_end: datetime
) -> DeliveryOutcome:
    now = ctx.clock()
    if not await ctx.store.claim_digest(subscription.id, period_end, now):
        return DeliveryOutcome(subscription.id, period_end, "already-sent")
    since = await period_start(ctx, subscription, period_end)
    digest = await compose_digest(ctx, subscription, since, period_end)
    if not digest.stories and digest.empty_note is None:
        await ctx.store.finish_digest(subscription, period_end, (), ctx.clock())
        return DeliveryOutcome(subscription.id, period_end, "empty")
    if ctx.settings.trend_chart and is_weekly(subscription.schedule) and digest.stories:
        digest = replace(digest, chart=await weekly_chart(ctx, subscription, period_end))
    error = await _post_with_retries(ctx, subscription, digest, period_end)
    if error is not None:
        await ctx.store.fail_digest(subscription.id, period_end, error, ctx.clock())
        log.warning("digest for subscription=%s failed: %s", subscription.id, error)
        platform = platform_of(subscription.target)
        return DeliveryOutcome(subscription.id, period_end, "failed", 0, error, platform)
    shown = [(a, story.key) for story in digest.stories for a in story.article_ids]
    await ctx.store.finish_digest(subscription, period_end, shown, ctx.clock())
    platform = platform_of(subscription.target)
    return DeliveryOutcome(subscription.id, period_end, "sent", len(digest.stories), None, platform)


async def weekly_chart(
    ctx: DeliveryContext, subscription: Subscription, period_end: datetime
) -> Attachment | None:
    """The followed companies (else the most covered ones) over the last four weeks; a chart
    that cannot be drawn leaves the digest without one, never unsent."""
    try:
        followed = list(subscription.companies) or list(ctx.company_names)
        data = await trend_data(
            ctx.store,
            ctx.company_names,
            followed,
            days=WEEKLY_CHART_DAYS,
            today=period_end.astimezone(UTC).date(),
            min_score=subscription.min_relevance,
        )
        shown = set(top_companies(data, MAX_TREND_COMPANIES if subscription.companies else 5))
        if not shown:
            return None
        data = replace(data, series=tuple(s for s in data.series if s.company_id in shown))
        return await trend_chart(data, list(ctx.company_names), ctx.charts)
    except Exception:
        log.warning("weekly chart for subscription=%s failed", subscription.id, exc_info=True)
        return None


async def _post_with_retries(
    ctx: DeliveryContext,
    subscription: Subscription,
    digest: Digest,
    period_end: datetime,
    nonce_key: str = "",
) -> str | None:
    poster = ctx.posters.get(platform_of(subscription.target))
    if poster is None:
        return f"no {platform_of(subscription.target)} connection is configured"
    nonce = delivery_nonce(subscription.id, period_end, nonce_key)
    delay = ctx.retry_delay
    for attempt in range(1, ctx.retries + 1):
        try:
            await poster.post(subscription, digest, nonce)
            return None
        except Exception as exc:  # any platform failure: retry, then report; never crash the loop
            if attempt == ctx.retries:
                return f"{type(exc).__name__}: {exc}"
            await ctx.sleep(delay)
            delay *= 2
    return None


ALERT_WINDOW = timedelta(hours=6)  # how recent a story must be to be alerted


async def send_alerts(ctx: DeliveryContext, now: datetime) -> list[DeliveryOutcome]:
    """After a poll: post very relevant new stories about followed companies at once, capped per
    hour; what is alerted is recorded as delivered, so the next digest does not repeat it."""
    outcomes = []
    for subscription in await ctx.store.list_subscriptions():
        if subscription.live_alerts:
            outcomes += await _alerts_for(ctx, subscription, now)
    return outcomes


async def _alerts_for(
    ctx: DeliveryContext, subscription: Subscription, now: datetime
) -> list[DeliveryOutcome]:
    budget = subscription.alerts_per_hour - await ctx.store.alerts_since(
        subscription.id, now - timedelta(hours=1)
    )
    if budget <= 0:
        return []
    alerting = replace(subscription, min_relevance=subscription.alert_threshold, empty_note=False)
    digest = await compose_digest(ctx, alerting, now - ALERT_WINDOW, now)
    outcomes = []
    for story in digest.stories[:budget]:
        alert = Digest(
            title=f"ChipWire alert — {', '.join(ctx.company_names.get(c, c) for c in story.companies)}",
            period_start=story.published_at,
            period_end=now,
            timezone=subscription.timezone,
            sections=(DigestSection("Breaking", (story,)),),
        )
        error = await _post_with_retries(ctx, subscription, alert, now, nonce_key=story.key)
        if error is None:
            await ctx.store.record_alert(subscription, story.key, story.article_ids, ctx.clock())
        status = "failed" if error else "sent"
        platform = platform_of(subscription.target)
        outcomes.append(DeliveryOutcome(subscription.id, now, status, 1, error, platform))
    return outcomes


def due_period(subscription: Subscription, now: datetime) -> datetime | None:
    """The latest scheduled time at or before now (within a week), if the subscription existed."""
    moment = last_fire(subscription.schedule, subscription.timezone, now, CATCH_UP_WINDOW)
    created = subscription.created_at
    if moment is None or (created is not None and moment < created):
        return None
    return moment


async def catch_up(ctx: DeliveryContext, now: datetime) -> list[DeliveryOutcome]:
    """At start: send, once, each digest whose time passed while the bot was down."""
    outcomes = []
    for subscription in await ctx.store.list_subscriptions():
        period = due_period(subscription, now)
        if period is not None and await ctx.store.digest_state(subscription.id, period) != "sent":
            outcomes.append(await deliver_digest(ctx, subscription, period))
    return outcomes


async def deliver_due(
    ctx: DeliveryContext, subscription_ids: Sequence[int] | None = None
) -> list[DeliveryOutcome]:
    """What a digest job runs when its trigger fires: the period that just ended."""
    now = ctx.clock()
    outcomes = []
    for subscription in await ctx.store.list_subscriptions():
        if subscription_ids is not None and subscription.id not in subscription_ids:
            continue
        period = due_period(subscription, now)
        if period is not None:
            outcomes.append(await deliver_digest(ctx, subscription, period))
    return outcomes
