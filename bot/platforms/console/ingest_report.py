"""What `chipwire poll`, `feeds list` and `demo` print: a progress bar on a terminal, lines otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bot.ingest.feedhealth import feed_verdict
from bot.ingest.pipeline import PollContext, poll_feeds
from bot.models import FeedState, PollOutcome
from bot.store.repo import FeedSummary, StoredArticle


def outcome_line(outcome: PollOutcome, name: str) -> str:
    """One line per feed, stable enough to grep: status word, feed id, what happened."""
    if outcome.error:
        return f"FAIL  feed {outcome.feed_id:<4} {name}: {outcome.error}"
    if outcome.status == 304:
        return f"304   feed {outcome.feed_id:<4} {name}: not modified"
    if outcome.skipped_parse:
        return f"same  feed {outcome.feed_id:<4} {name}: unchanged body, not parsed"
    return (
        f"ok    feed {outcome.feed_id:<4} {name}: {_count(outcome.new_articles, 'new article')}, "
        f"{_count(outcome.new_sources, 'more source')} for stored ones"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary_line(outcomes: Sequence[PollOutcome], seconds: float) -> str:
    failed = sum(1 for o in outcomes if o.error)
    unchanged = sum(1 for o in outcomes if o.skipped_parse and not o.error)
    new = sum(o.new_articles for o in outcomes)
    return (
        f"polled {len(outcomes)} feeds in {seconds:.1f} s: {len(outcomes) - failed} ok "
        f"({unchanged} unchanged), {failed} failed; {new} new articles stored"
    )


async def poll_with_report(
    context: PollContext, feeds: Sequence[FeedState], out: TextIO
) -> list[PollOutcome]:
    names = {feed.id: feed.name for feed in feeds}
    started = context.clock()
    if out.isatty() and feeds:
        outcomes = await _poll_with_bar(context, feeds, names, out)
    else:

        def line(outcome: PollOutcome) -> None:
            emit(out, outcome_line(outcome, names.get(outcome.feed_id, "?")))

        outcomes = await poll_feeds(context, feeds, line)
    emit(out, summary_line(outcomes, (context.clock() - started).total_seconds()))
    note = history_note(feeds, outcomes)
    if note:
        emit(out, note)
    return outcomes


def emit(out: TextIO, text: str) -> None:
    """Print a line; when the reader has left (`chipwire poll --once | head`) the poll goes on
    and its lines go nowhere: what it fetched is stored, not lost with the output."""
    try:
        print(text, file=out, flush=True)
    except BrokenPipeError:
        _discard_output(out)


def _discard_output(out: TextIO) -> None:
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # not a file: nothing was buffered for a pipe
        return
    os.dup2(os.open(os.devnull, os.O_WRONLY), fd)


def history_note(feeds: Sequence[FeedState], outcomes: Sequence[PollOutcome]) -> str | None:
    """A feed's first poll stores what it already carried as history: searchable, never posted
    as new. Without this note the first day looks broken (`digest` says "Nothing new")."""
    first = {feed.id for feed in feeds if not feed.first_polled}
    stored = sum(o.new_articles for o in outcomes if o.feed_id in first and not o.error)
    if not stored:
        return None
    polled = sum(1 for o in outcomes if o.feed_id in first and not o.error)
    return (
        f"note: {_count(stored, 'article')} from the first poll of {_count(polled, 'feed')} "
        "are kept as history: searchable, never posted as new, so digests start with what "
        'arrives from now on. See them: chipwire ask latest, chipwire ask "search WORDS", '
        "chipwire digest --include-history"
    )


async def _poll_with_bar(
    context: PollContext, feeds: Sequence[FeedState], names: dict[int, str], out: TextIO
) -> list[PollOutcome]:
    console = Console(file=out)
    columns = (TextColumn("polling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("poll", total=len(feeds))

        def advance(outcome: PollOutcome) -> None:
            if outcome.error:
                line = outcome_line(outcome, names.get(outcome.feed_id, "?"))
                progress.console.print(line, markup=False, highlight=False)
            progress.advance(task)

        return await poll_feeds(context, feeds, advance)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def feed_json(summary: FeedSummary, flags: Sequence[str] = ()) -> dict[str, Any]:
    feed = summary.feed
    return {
        "id": feed.id,
        "url": feed.url,
        "fetch_url": feed.fetch_url,  # where the feed moved to: what is polled
        "name": feed.name,
        "language": feed.language,
        "interval": feed.interval,
        "origin": feed.origin,
        "paused": feed.paused,
        "last_status": feed.last_status,
        "last_error": feed.last_error,
        "consecutive_failures": feed.consecutive_failures,
        "last_polled_at": _iso(feed.last_polled_at),
        "last_success_at": _iso(feed.last_success_at),
        "next_poll_at": _iso(feed.next_poll_at),
        "article_count": summary.article_count,
        "last_new_at": _iso(summary.last_new_at),
        "flags": list(flags),
        "verdict": asdict(verdict) if (verdict := feed_verdict(feed)) else None,
    }


def why_text(article: StoredArticle, why: Sequence[str]) -> str:
    """`chipwire why`: the article, then the lines chat's `why` answers with."""
    lines = [
        f"#{article.id} {article.title}",
        f"  {article.url}",
        f"  {article.source}, {article.published_at:%Y-%m-%d %H:%M} UTC, language {article.language or '?'}",
    ]
    return "\n".join([*lines, *(f"  {line}" for line in why)])


def _where(feed: FeedState) -> str:
    """The feed's own URL and, once a 301/308 moved it, the one polled now."""
    return feed.url + (f"\n→ moved to {feed.fetch_url}" if feed.fetch_url else "")


def _trouble(feed: FeedState) -> str:
    """What went wrong and, for a feed that never gave a feed, what was received and what to try."""
    verdict = feed_verdict(feed)
    if verdict is not None:
        return f"\nreceived {verdict.received}\ntry: {verdict.advice}"
    return f"\n{feed.last_error}" if feed.last_error else ""


def print_feed_table(
    summaries: Sequence[FeedSummary],
    out: TextIO,
    flags: Callable[[FeedSummary], Sequence[str]] = lambda _: (),
) -> None:
    table = Table(
        "id",
        "name",
        "from",
        "status",
        "articles",
        "failures",
        "last success",
        "flags",
        "url / error",
    )
    for summary in summaries:
        feed = summary.feed
        cells = (
            str(feed.id),
            feed.name,
            ("config file" if feed.origin == "config" else feed.origin)
            + (", paused" if feed.paused else ""),
            "-" if feed.last_status is None else str(feed.last_status),
            str(summary.article_count),
            str(feed.consecutive_failures),
            feed.last_success_at.strftime("%Y-%m-%d %H:%M") if feed.last_success_at else "never",
            ", ".join(flags(summary)) or "-",
            _where(feed) + _trouble(feed),
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: names and errors are not markup
    Console(file=out, width=160 if not out.isatty() else None).print(table)
    if not summaries:
        print(
            "no feeds yet: add [[feeds]] to the config and run 'chipwire sync', "
            "or run 'chipwire feeds add URL'.",
            file=out,
        )
