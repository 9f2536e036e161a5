"""Digests and alerts out through one delivery queue, each post exactly once.

Queueing (`queue_digest`, `queue_alerts`) composes what a subscription has not seen and writes
it to the store's outbox in one transaction with the claim of its period or story and one
delivery row per article; nothing is posted yet, so a poll never waits for a platform. Delivering
(`deliver_pending`) claims due outbox rows with a lease, rebuilds each post from the articles it
carries and hands it to the target's `Poster` with a journal kept in the store: every part is
recorded as intended before it is sent and as accepted after, and a part left in doubt by a
crash is resolved (same Discord nonce; Slack history) before anything is sent again. A failure
backs that target off (seconds, doubling, at most minutes); a channel that is gone disables its
subscription and is reported to the admin target.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from bot.digest.build import build_digest, rank_stories
from bot.digest.schedules import is_weekly, last_fire, period_start
from bot.digest.stories import stories_of
from bot.models import Attachment, Clock, Digest, DigestArticle, DigestSection, Subscription
from bot.platforms.journal import DeadTarget, PartJournal, fit_nonce
from bot.settings import DigestSettings
from bot.store import digests, outbox
from bot.store.errors import Conflict
from bot.store.outbox import QueuedPost
from bot.store.repo import Store
from bot.trends.cache import ChartCache
from bot.trends.data import trend_data
from bot.trends.present import MAX_TREND_COMPANIES, top_companies, trend_chart

log = logging.getLogger(__name__)

CATCH_UP_WINDOW = timedelta(days=8)  # a weekly digest missed while down is still sent
WEEKLY_CHART_DAYS = 28
QUEUE_TRIES = 3  # another process queued an article first: compose again


class Poster(Protocol):
    """Sends a digest to one platform; raises when the platform did not accept it (see
    bot.platforms.journal for what each exception means)."""

    async def post(
        self,
        subscription: Subscription,
        digest: Digest,
        nonce: str,
        journal: PartJournal | None = None,
    ) -> None: ...


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class DeliveryContext:
    store: Store
    posters: Mapping[str, Poster]  # by platform: "console", "discord", "slack"
    clock: Clock
    settings: DigestSettings = field(default_factory=DigestSettings)
    company_names: Mapping[str, str] = field(default_factory=dict)
    charts: ChartCache | None = None  # the weekly digest's trend chart
    admin_target: str = "console"  # told when a channel is gone
    owner: str = field(default_factory=process_id)  # this process, in leases
    lease: timedelta = timedelta(seconds=20)  # renewed at every part; a dead holder's expires
    first_backoff: timedelta = timedelta(seconds=10)
    max_backoff: timedelta = timedelta(minutes=5)  # a failed digest is retried within minutes


# What became of one delivery: accepted by the platform; claimed before (never twice); nothing to
# send; failed (retried with backoff); its channel is gone; waiting in the outbox for a retry.
DeliveryStatus = Literal["sent", "already-sent", "empty", "failed", "dead", "queued"]
DeliveryKind = Literal["digest", "alert"]


@dataclass(frozen=True)
class DeliveryOutcome:
    subscription_id: int
    period_end: datetime
    status: DeliveryStatus
    stories: int = 0
    error: str | None = None
    platform: str = "console"
    kind: DeliveryKind = "digest"


def platform_of(target: str) -> str:
    """The platform part of a stored target (one written by an older version still has one)."""
    return target.partition(":")[0]


def delivery_nonce(subscription_id: int, period_end: datetime, key: str = "") -> str:
    """Stable per delivery and unique among them within Discord's 25 characters: a digest is
    "d<subscription>-<period>", an alert "a<subscription>-<hash of its story>"; one longer
    than 25 characters becomes a hash of it (`fit_nonce`), never a cut."""
    if not key:
        return fit_nonce(f"d{subscription_id}-{int(period_end.timestamp())}")
    digest = hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
    return fit_nonce(f"a{subscription_id}-{digest}")


def wanted(article: DigestArticle, subscription: Subscription) -> bool:
    return not subscription.companies or any(c in subscription.companies for c in article.companies)


async def compose_digest(
    ctx: DeliveryContext,
    subscription: Subscription,
    since: datetime,
    until: datetime,
    *,
    company: str | None = None,
    include_history: bool = False,
) -> Digest:
    """The digest a subscription would get for articles first seen in (since, until]; reads,
    writes nothing (alerts use it). `include_history` (previews only) adds what first polls
    stored as history."""
    found = await ctx.store.digest_candidates(
        target=subscription.target,
        since=since,
        until=until,
        min_score=subscription.min_relevance,
        languages=subscription.languages,
        include_history=include_history,
    )
    chosen = [a for a in found if wanted(a, subscription)]
    if company:
        chosen = [a for a in chosen if company in a.companies]
    return digest_of(ctx, subscription, chosen, since, until)


def digest_of(
    ctx: DeliveryContext,
    subscription: Subscription,
    chosen: Sequence[DigestArticle],
    since: datetime,
    until: datetime,
) -> Digest:
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
        top_n=_cap(subscription.top_stories, ctx.settings.top_stories),
        per_company=_cap(subscription.per_company, ctx.settings.per_company),
        empty_note="Nothing new in AI-chip news since the last digest."
        if subscription.empty_note
        else None,
    )


def _cap(own: int | None, default: int) -> int:
    return default if own is None else own


@dataclass(frozen=True)
class Window:
    """A digest period: shown as (start, end]; chosen by ingest sequence (after_id, upto_id],
    and by first-seen time (> floor) only for a subscription's first digest."""

    start: datetime
    floor: datetime | None
    after_id: int | None
    upto_id: int


async def digest_window(
    ctx: DeliveryContext, subscription: Subscription, period_end: datetime
) -> Window:
    previous_end, previous_upto = await ctx.store.read(outbox.previous_run, subscription.id)
    newest = await ctx.store.read(outbox.newest_article_id)
    lookback = timedelta(hours=ctx.settings.lookback_hours)
    floor = period_start(subscription.schedule, subscription.timezone, period_end, lookback)
    start = previous_end if previous_end is not None and previous_end < period_end else floor
    if previous_upto is None:
        return Window(start, floor, None, newest)
    return Window(start, None, previous_upto, newest)


async def compose_period(
    ctx: DeliveryContext, subscription: Subscription, period_end: datetime
) -> tuple[Digest, Window]:
    """The digest the period would carry now; reads, writes nothing (a preview uses it)."""
    window = await digest_window(ctx, subscription, period_end)
    found = await ctx.store.digest_candidates(
        target=subscription.target,
        since=window.floor,
        min_score=subscription.min_relevance,
        languages=subscription.languages,
        after_id=window.after_id,
        upto_id=window.upto_id,
    )
    chosen = [a for a in found if wanted(a, subscription)]
    return digest_of(ctx, subscription, chosen, window.start, period_end), window


async def queue_digest(
    ctx: DeliveryContext, subscription: Subscription, period_end: datetime
) -> tuple[DeliveryStatus, int | None, int]:
    """("queued", outbox id, stories), ("empty", None, 0) or ("already-sent", None, 0)."""
    for attempt in range(QUEUE_TRIES):
        if await ctx.store.read(outbox.period_claimed, subscription.id, period_end):
            return "already-sent", None, 0
        digest, window = await compose_period(ctx, subscription, period_end)
        shown = [(a, story.key) for story in digest.stories for a in story.article_ids]
        post = bool(digest.stories) or digest.empty_note is not None
        try:
            post_id = await ctx.store.write(
                outbox.queue_digest,
                subscription=subscription,
                period=(digest.period_start, period_end),
                key=delivery_nonce(subscription.id, period_end),
                upto_id=window.upto_id,
                shown=shown,
                post=post,
                now=ctx.clock(),
                left_out=digest.left_out,
            )
        except Conflict:  # another process claimed the period or one of the articles
            log.info("digest queueing raced (try %s); composing again", attempt + 1)
            continue
        return ("queued" if post else "empty"), post_id, len(digest.stories)
    return "already-sent", None, 0


async def deliver_digest(
    ctx: DeliveryContext, subscription: Subscription, period_end: datetime
) -> DeliveryOutcome:
    """Queue the period's digest and try it at once; a failure is retried by `deliver_pending`."""
    platform = platform_of(subscription.target)
    if subscription.disabled:
        return DeliveryOutcome(subscription.id, period_end, "dead", 0, subscription.disabled)
    status, post_id, stories = await queue_digest(ctx, subscription, period_end)
    if post_id is None:
        return DeliveryOutcome(subscription.id, period_end, status, 0, None, platform)
    [outcome] = await deliver_pending(ctx, ids=[post_id]) or [
        DeliveryOutcome(subscription.id, period_end, "queued", stories, None, platform)
    ]
    return replace(outcome, stories=stories)


ALERT_WINDOW = timedelta(hours=6)  # how recent a story must be to be alerted


async def queue_alerts(ctx: DeliveryContext, now: datetime) -> list[int]:
    """After a poll: queue very relevant new stories about followed companies, capped per hour.
    Each is recorded (and its articles reserved) as it is queued, so a digest never carries it."""
    queued = []
    for subscription in await ctx.store.list_subscriptions():
        if subscription.live_alerts and not subscription.disabled:
            queued += await _queue_alerts_for(ctx, subscription, now)
    return queued


async def _queue_alerts_for(
    ctx: DeliveryContext, subscription: Subscription, now: datetime
) -> list[int]:
    budget = subscription.alerts_per_hour - await ctx.store.alerts_since(
        subscription.id, now - timedelta(hours=1)
    )
    if budget <= 0:
        return []
    alerting = replace(subscription, min_relevance=subscription.alert_threshold, empty_note=False)
    digest = await compose_digest(ctx, alerting, now - ALERT_WINDOW, now)
    queued = []
    for story in digest.stories[:budget]:
        try:
            queued.append(
                await ctx.store.write(
                    outbox.queue_alert,
                    subscription=subscription,
                    key=delivery_nonce(subscription.id, now, story.key),
                    story_key=story.key,
                    article_ids=story.article_ids,
                    published_at=story.published_at,
                    now=now,
                )
            )
        except Conflict:  # alerted before, or queued meanwhile by another process
            continue
    return queued


async def send_alerts(ctx: DeliveryContext, now: datetime) -> list[DeliveryOutcome]:
    """Queue the alerts due after a poll and try them at once (tests, one-off runs)."""
    queued = await queue_alerts(ctx, now)
    return await deliver_pending(ctx, ids=queued) if queued else []


def due_period(subscription: Subscription, now: datetime) -> datetime | None:
    """The latest scheduled time at or before now (within a week), if the subscription existed."""
    moment = last_fire(subscription.schedule, subscription.timezone, now, CATCH_UP_WINDOW)
    created = subscription.created_at
    if moment is None or (created is not None and moment < created):
        return None
    return moment


async def catch_up(ctx: DeliveryContext, now: datetime) -> list[DeliveryOutcome]:
    """At start: queue and send, once, each digest whose time passed while the bot was down."""
    outcomes = []
    for subscription in await ctx.store.list_subscriptions():
        period = due_period(subscription, now)
        if period is None or subscription.disabled:
            continue
        if await ctx.store.digest_state(subscription.id, period) is None:
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


# Delivering what is queued ------------------------------------------------------------------


class StoreJournal:
    """A queued post's parts as the store records them; every write renews the lease."""

    def __init__(self, ctx: DeliveryContext, post: QueuedPost, parts: Mapping[str, str]) -> None:
        self._ctx, self._post, self._parts = ctx, post, dict(parts)

    @property
    def since(self) -> datetime | None:
        return self._post.created_at

    async def state(self, part: str) -> str | None:
        return self._parts.get(part)

    async def intend(self, part: str) -> None:
        await self._mark(part, outbox.INTENDED)

    async def accept(self, part: str) -> None:
        await self._mark(part, outbox.ACCEPTED)

    async def _mark(self, part: str, state: str) -> None:
        now = self._ctx.clock()
        if not await self._ctx.store.write(
            outbox.renew_lease, self._post.id, self._ctx.owner, now + self._ctx.lease
        ):
            raise LeaseLost(f"outbox {self._post.id}: the lease passed to another process")
        await self._ctx.store.write(outbox.mark_part, self._post.id, part, state, now)
        self._parts[part] = state


class LeaseLost(Exception):
    """This process held a post too long; another one took it over and resolves what is in doubt."""


async def deliver_pending(
    ctx: DeliveryContext, *, ids: Sequence[int] | None = None
) -> list[DeliveryOutcome]:
    """Claim what is due (or `ids`) and post it: targets side by side, each target's posts in
    order, a target that failed left alone until its backoff ends."""
    claimed = await ctx.store.write(
        outbox.claim_due, owner=ctx.owner, now=ctx.clock(), lease=ctx.lease, ids=ids
    )
    by_target: dict[str, list[QueuedPost]] = {}
    for post in claimed:
        by_target.setdefault(post.target, []).append(post)
    results = await asyncio.gather(*(_deliver_target(ctx, posts) for posts in by_target.values()))
    return [outcome for outcomes in results for outcome in outcomes]


async def _deliver_target(ctx: DeliveryContext, posts: list[QueuedPost]) -> list[DeliveryOutcome]:
    outcomes = []
    for index, post in enumerate(posts):
        outcome = await _deliver_one(ctx, post)
        outcomes.append(outcome)
        if outcome.status != "sent":  # back off the whole target: release the rest untouched
            for rest in posts[index + 1 :]:
                await ctx.store.write(outbox.renew_lease, rest.id, ctx.owner, ctx.clock())
            break
    return outcomes


async def _deliver_one(ctx: DeliveryContext, post: QueuedPost) -> DeliveryOutcome:
    platform = platform_of(post.target)
    subscription = await _subscription(ctx, post.subscription_id)
    poster = ctx.posters.get(platform)
    try:
        if subscription is None:
            raise DeadTarget("the subscription was removed")
        if poster is None:
            raise RuntimeError(f"no {platform} connection is configured")
        digest = await rebuild(ctx, subscription, post)
        parts = await ctx.store.read(outbox.part_states, post.id)
        await poster.post(subscription, digest, post.delivery_key, StoreJournal(ctx, post, parts))
    except DeadTarget as exc:
        await _disable(ctx, post, str(exc))
        return _outcome(post, "dead", str(exc))
    except LeaseLost as exc:
        log.warning("%s", exc)
        return DeliveryOutcome(
            post.subscription_id, post.period_end, "queued", 0, str(exc), platform
        )
    except Exception as exc:  # any platform failure: back off and retry; never crash the loop
        error = f"{type(exc).__name__}: {exc}"
        await _back_off(ctx, post, error)
        log.warning("%s for subscription=%s failed: %s", post.kind, post.subscription_id, error)
        return _outcome(post, "failed", error)
    await ctx.store.write(outbox.finish, post, ctx.clock())
    return _outcome(post, "sent")


def _outcome(post: QueuedPost, status: DeliveryStatus, error: str | None = None) -> DeliveryOutcome:
    stories = 1 if post.kind == "alert" else len(post.article_ids)
    platform = platform_of(post.target)
    kind: DeliveryKind = "alert" if post.kind == "alert" else "digest"
    return DeliveryOutcome(
        post.subscription_id, post.period_end, status, stories, error, platform, kind
    )


async def _subscription(ctx: DeliveryContext, subscription_id: int) -> Subscription | None:
    for subscription in await ctx.store.list_subscriptions():
        if subscription.id == subscription_id:
            return subscription
    return None


async def _back_off(ctx: DeliveryContext, post: QueuedPost, error: str) -> None:
    wait = min(ctx.max_backoff, ctx.first_backoff * 2**post.attempts)
    now = ctx.clock()
    await ctx.store.write(outbox.retry_later, post, error, now + wait, now)


async def _disable(ctx: DeliveryContext, post: QueuedPost, reason: str) -> None:
    now = ctx.clock()
    disabled = await ctx.store.write(outbox.disable_target, post.target, reason, now)
    log.warning("target %s disabled: %s", post.target, reason)
    if not disabled or ctx.admin_target == post.target:
        return
    poster = ctx.posters.get(platform_of(ctx.admin_target))
    if poster is None:
        return
    note = (
        f"ChipWire stopped posting to {post.target}: {reason}. Its subscription is disabled; "
        "subscribe again from that channel once it is back."
    )
    admin = Subscription(target=ctx.admin_target, schedule="0 0 * * *")
    digest = Digest("ChipWire: a channel is gone", now, now, "UTC", (), empty_note=note)
    try:
        await poster.post(admin, digest, f"gone{post.subscription_id}-{int(now.timestamp())}"[:25])
    except Exception as exc:  # a failing admin channel must not stop the deliveries
        log.warning("admin note about %s not delivered: %r", post.target, exc)


async def rebuild(ctx: DeliveryContext, subscription: Subscription, post: QueuedPost) -> Digest:
    """The post from the articles it was queued with: the same text after any restart."""
    articles = await ctx.store.read(digests.articles_by_id, post.article_ids)
    if post.kind == "alert":
        return _alert(ctx, subscription, post, articles)
    digest = digest_of(ctx, subscription, articles, post.period_start, post.period_end)
    # the queued articles are the shown ones: how many more there were was counted at queueing
    digest = replace(digest, left_out=post.left_out)
    if ctx.settings.trend_chart and is_weekly(subscription.schedule) and digest.stories:
        digest = replace(digest, chart=await weekly_chart(ctx, subscription, post.period_end))
    return digest


def _alert(
    ctx: DeliveryContext,
    subscription: Subscription,
    post: QueuedPost,
    articles: Sequence[DigestArticle],
) -> Digest:
    stories = tuple(stories_of(articles))
    companies = dict.fromkeys(c for story in stories for c in story.companies)
    return Digest(
        title=f"ChipWire alert — {', '.join(ctx.company_names.get(c, c) for c in companies)}",
        period_start=post.period_start,
        period_end=post.period_end,
        timezone=subscription.timezone,
        sections=(DigestSection("Breaking", stories),),
    )


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
