"""Which feeds need an operator's look: failing for a while, answering with nothing new, or
answering their very first poll with something that is not a feed (told at once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.models import FeedState
from bot.settings import OpsSettings
from bot.store.repo import FeedSummary

STALE, FAILING = "stale", "failing"
BLOCKED, RATE_LIMITED, NOT_A_FEED, EMPTY = "blocked", "rate-limited", "not a feed", "empty"

_TRY_ELSEWHERE = (
    "open it in a browser: if a page asks you to prove you are human, the site blocks bots; "
    "use another feed of the site, a Google News query with site:its-domain, or a self-hosted "
    "RSSHub route (see config/chipwire.toml)"
)


@dataclass(frozen=True)
class Verdict:
    """Why a feed's answer is no use, said at once: what was received and what to try."""

    flag: str
    received: str
    advice: str


def poll_verdict(status: int | None, error: str | None, entries: int | None) -> Verdict | None:
    """The verdict on one answer: a refusal, an HTML page or challenge, or a feed with no
    items; None for a feed (or for trouble that retries cure: timeouts, 5xx)."""
    if error is not None:
        return _error_verdict(status, error)
    if entries == 0:
        return Verdict(
            EMPTY,
            "a feed with no items",
            "check the URL (the site may have moved its feed or stopped publishing); "
            "if it is new, wait for its first posts",
        )
    return None


def _error_verdict(status: int | None, error: str) -> Verdict | None:
    challenge = "bot challenge" in error
    said = error.removeprefix("not parsed: ")
    if status in (401, 403):
        why = "the site wants a login" if status == 401 else "refused, often bot protection"
        return Verdict(BLOCKED, said if challenge else f"{said} ({why})", _TRY_ELSEWHERE)
    if status == 429:
        return Verdict(
            RATE_LIMITED,
            f"HTTP 429 ({error})",
            "raise this feed's interval (e.g. 3600) and poll fewer feeds of the same host",
        )
    if challenge:
        return Verdict(BLOCKED, said, _TRY_ELSEWHERE)
    if "HTML page" in error:
        return Verdict(
            NOT_A_FEED,
            "an HTML page, not a feed",
            "the URL is a web page: use the feed it links to (look for RSS or Atom, or "
            '<link rel="alternate" type="application/rss+xml"> in its source)',
        )
    if error.startswith("not parsed"):
        return Verdict(NOT_A_FEED, said, "check the URL in a browser; it may not be a feed")
    return None


def feed_verdict(feed: FeedState) -> Verdict | None:
    """A feed that never answered with a feed is told on its first poll; one that worked before
    is left to the failing flag (bot protection that answers 403 now and then is not news)."""
    if feed.last_polled_at is None:
        return None
    verdict = poll_verdict(feed.last_status, feed.last_error, feed.last_entries)
    if verdict is None or (verdict.flag != EMPTY and feed.last_success_at is not None):
        return None
    return verdict


def feed_flags(
    feed: FeedState,
    last_new_at: datetime | None,
    created_at: datetime | None,
    now: datetime,
    *,
    stale_after: timedelta,
    failing_after: int,
) -> tuple[str, ...]:
    """'failing' after `failing_after` failed polls in a row; 'stale' when the feed answers but
    has given nothing new for `stale_after` (counting from its creation if it never has)."""
    flags = []
    verdict = feed_verdict(feed)
    if verdict is not None:
        flags.append(verdict.flag)
    if feed.consecutive_failures >= failing_after and verdict is None:
        flags.append(FAILING)
    answering = feed.last_success_at is not None and feed.consecutive_failures == 0
    answering = answering and EMPTY not in flags
    since = last_new_at or created_at
    if answering and since is not None and now - since >= stale_after:
        flags.append(STALE)
    return tuple(flags)


def admin_note(flagged: Sequence[tuple[str, str, tuple[str, ...], str | None]]) -> str:
    """The weekly note: one line per (name, url, flags, last error) of a flagged feed."""
    lines = [f"{len(flagged)} feed(s) need a look:"]
    for name, url, flags, error in flagged:
        why = f" — {error}" if error and flags != (STALE,) else ""
        lines.append(f"• {name} <{url}>: {', '.join(flags)}{why}")
    lines.append("`chipwire feeds list` shows them all; `feeds remove ID` drops one.")
    return "\n".join(lines)


def summary_flags(summary: FeedSummary, now: datetime, ops: OpsSettings) -> tuple[str, ...]:
    return feed_flags(
        summary.feed,
        summary.last_new_at,
        summary.created_at,
        now,
        stale_after=timedelta(days=ops.stale_after_days),
        failing_after=ops.failing_after,
    )


def flagged_note(summaries: Sequence[FeedSummary], now: datetime, ops: OpsSettings) -> str | None:
    flagged = [
        (s.feed.name, s.feed.url, flags, s.feed.last_error)
        for s in summaries
        if (flags := summary_flags(s, now, ops))
    ]
    return admin_note(flagged) if flagged else None


def first_poll_note(feeds: Sequence[FeedState]) -> str:
    """The note sent at once about feeds whose first poll got no feed."""
    lines = [f"{len(feeds)} new feed(s) did not answer with a feed:"]
    for feed in feeds:
        verdict = feed_verdict(feed)
        if verdict is not None:
            lines.append(
                f"• {feed.name} <{feed.poll_url}>: {verdict.flag} — received {verdict.received}; "
                f"try: {verdict.advice}"
            )
    lines.append(
        "`chipwire feeds list` shows every feed; `chipwire check --feeds` tries them all again."
    )
    return "\n".join(lines)


@dataclass
class VerdictNotes:
    """Feeds flagged on their first poll, told to the admin in one note at most every `every`
    (a config of a hundred new feeds makes one note, not a hundred); each feed told once."""

    every: timedelta = timedelta(hours=1)
    waiting: dict[int, FeedState] = field(default_factory=dict)
    told: set[int] = field(default_factory=set)
    last_sent: datetime | None = None

    def add(self, feeds: Sequence[FeedState]) -> None:
        for feed in feeds:
            if feed.id not in self.told and feed_verdict(feed) is not None:
                self.waiting[feed.id] = feed

    def due(self, now: datetime) -> list[FeedState]:
        if not self.waiting or (self.last_sent and now - self.last_sent < self.every):
            return []
        return list(self.waiting.values())

    def sent(self, feeds: Sequence[FeedState], now: datetime) -> None:
        for feed in feeds:
            self.told.add(feed.id)
            self.waiting.pop(feed.id, None)
        self.last_sent = now
