"""`latest`, `company`, `search` and `why`: stored articles, as cards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

from bot.classify.catalog import Company
from bot.commands.binding import CommandError, Param
from bot.commands.messages import Card, Command, Moment, Reply
from bot.commands.table import COMPANY_HELP, MAX_CARDS, Context, command, read
from bot.ingest.normalise import canonical_url
from bot.text import companies_text, linkable, local_time, one_line, summary_line, truncate

if TYPE_CHECKING:
    from bot.store.repo import StoredArticle

DEFAULT_COUNT = 5
MAX_COUNT = 20
MAX_DAYS = 3650


def article_card(ctx: Context, article: StoredArticle, *, mentions: bool = False) -> Card:
    """A stored article; with `mentions`, the companies it names in passing too (search, why)."""
    published = Moment(article.published_at, local_time(article.published_at, UTC))
    fields: list[tuple[str, str]] = [("source", article.source), ("published", published)]
    about = companies_text(article.companies, ctx.company_names)
    if about:
        fields.append(("about", about))
    passing = companies_text(article.mentioned, ctx.company_names) if mentions else ""
    if passing:
        fields.append(("mentions", passing))
    fields.append(("id", f"#{article.id}"))
    return Card(
        title=article.title or "(untitled)",
        url=article.url if linkable(article.url) else None,
        body=summary_line(article.summary),
        fields=tuple(fields),
    )


def cards(
    ctx: Context, found: Sequence[StoredArticle], *, mentions: bool = False
) -> tuple[Card, ...]:
    return tuple(article_card(ctx, article, mentions=mentions) for article in found[:MAX_CARDS])


@command(
    "latest",
    "The newest AI-chip stories, for one company if given",
    Param("company", COMPANY_HELP, kind="company"),
    Param(
        "count",
        f"How many stories (1-{MAX_COUNT}, default {DEFAULT_COUNT})",
        kind="int",
        low=1,
        high=MAX_COUNT,
        default=DEFAULT_COUNT,
    ),
)
async def _latest(ctx: Context, command: Command, *, company: str | None, count: int) -> Reply:
    from bot.store import queries

    found = await read(
        ctx,
        queries.latest_articles,
        company,
        limit=count,
        min_score=ctx.settings.relevance_threshold,
    )
    about = f" on {ctx.company_names[company]}" if company else ""
    if not found:
        return Reply(title=f"No AI-chip stories{about} stored yet.")
    return Reply(title=f"Latest AI-chip news{about}", cards=cards(ctx, found))


TOP_SOURCES_WINDOW = timedelta(days=30)


@command(
    "company",
    "A company card: who it is, latest stories, mentions this week vs last, top sources",
    Param("name", COMPANY_HELP, required=True, kind="company"),
)
async def _company_card(ctx: Context, command: Command, *, name: str) -> Reply:
    from bot.store import queries

    company = ctx.catalog.company(name)
    now = ctx.clock()
    this_week, last_week = await read(ctx, queries.weekly_mentions, company.id, now)
    # the last month: a card must answer in milliseconds on a store of millions of articles
    since = now - TOP_SOURCES_WINDOW
    sources = await read(ctx, queries.top_sources, company.id, since=since, limit=5)
    stories = await read(
        ctx,
        queries.latest_articles,
        company.id,
        limit=5,
        min_score=ctx.settings.relevance_threshold,
    )
    lines = [*_who(company), _trend(this_week, last_week), _sources_line(sources)]
    if not stories:
        lines.append("No AI-chip stories about it stored yet.")
    return Reply(title=company.name, lines=tuple(lines), cards=cards(ctx, stories))


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


@command(
    "search",
    "Full-text search over stored articles",
    Param("query", "Words to find; quote a phrase", required=True, kind="phrase"),
    Param("company", "Only articles about this company", kind="company"),
    Param("days", f"Only the last N days (1-{MAX_DAYS})", kind="int", low=1, high=MAX_DAYS),
)
async def _search(
    ctx: Context, command: Command, *, query: str, company: str | None, days: int | None
) -> Reply:
    since = ctx.clock() - timedelta(days=days) if days is not None else None
    # one more than is shown tells whether to say there are more
    found = await ctx.store.search(query, MAX_CARDS + 1, company=company, since=since)
    shown = truncate(one_line(query), 80)
    within = _search_filters(ctx, company, days)
    if not found:
        return Reply(
            title=f"No stored article matches '{shown}'{within}.",
            lines=("Try fewer or other words, another language, or more days.",),
        )
    more = ("Newest first; there are more. Narrow it with a company or days.",)
    lines = more if len(found) > MAX_CARDS else ()
    title = f"Search: {shown}{within}"
    return Reply(title=title, lines=lines, cards=cards(ctx, found, mentions=True))


def _search_filters(ctx: Context, company: str | None, days: int | None) -> str:
    """What narrowed the search, for its heading: a word read as a company filter is shown."""
    about = f" about {ctx.company_names.get(company, company)}" if company else ""
    recent = f" in the last {days} day{'s' if days != 1 else ''}" if days is not None else ""
    return about + recent


@command(
    "why",
    "Why an article was classified as it was",
    Param("article", "Article id (#123) or link", required=True),
)
async def _why(ctx: Context, command: Command, *, article: str) -> Reply:
    found = await ctx.store.find_article(article_reference(article))
    if found is None:
        raise CommandError(*no_article(article))
    lines = why_lines(found, ctx.company_names)
    card = article_card(ctx, found, mentions=True)
    return Reply(title=f"Why #{found.id}", lines=lines, cards=(card,))


# `why` in chat and `chipwire why` on the command line: one reading of the reference, one answer.


def article_reference(text: str) -> str:
    """What `Store.find_article` looks up: an id ("#123" or "123") or the canonical link."""
    reference = text.strip().removeprefix("#")
    return reference if reference.isdigit() else canonical_url(reference)


def no_article(text: str) -> tuple[str, str]:
    return (
        f"No stored article '{truncate(one_line(text), 80)}'.",
        "Give an article id (#123, as 'latest' and 'search' show) or its link.",
    )


def why_lines(article: StoredArticle, company_names: Mapping[str, str]) -> tuple[str, ...]:
    """The stored verdict, the companies it is about and names in passing, and every rule."""
    if article.relevant is None:
        verdict = "not classified yet (an admin can run 'chipwire reclassify')"
    else:
        kind = "AI-chip news" if article.relevant else "not AI-chip news"
        verdict = f"{kind} (score {article.score or 0.0:.2f})"
    about = companies_text(article.companies, company_names) or "none"
    passing = companies_text(article.mentioned, company_names) or "none"
    rules = tuple(f"• {r}" for r in article.why) or ("No rule fired.",)
    return (
        f"Verdict: {verdict}",
        f"Companies: {about}",
        f"Mentioned in passing: {passing}",
        *rules,
    )
