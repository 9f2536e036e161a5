"""Which feeds need an operator's look: failing for a while, or answering with nothing new."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.models import FeedState
from bot.settings import OpsSettings
from bot.store.repo import FeedSummary

STALE, FAILING = "stale", "failing"


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
    if feed.consecutive_failures >= failing_after:
        flags.append(FAILING)
    answering = feed.last_success_at is not None and feed.consecutive_failures == 0
    since = last_new_at or created_at
    if answering and since is not None and now - since >= stale_after:
        flags.append(STALE)
    return tuple(flags)


def admin_note(flagged: Sequence[tuple[str, str, tuple[str, ...], str | None]]) -> str:
    """The weekly note: one line per (name, url, flags, last error) of a flagged feed."""
    lines = [f"{len(flagged)} feed(s) need a look:"]
    for name, url, flags, error in flagged:
        why = f" — {error}" if error and "failing" in flags else ""
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
