"""Stored articles: looked up, listed, counted, searched, re-classified.

Each function takes a sync `Connection`; the `Store` runs it in a read or write transaction.
The chat commands' own questions about articles are in bot/store/queries.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select, update

from bot.models import Classification
from bot.store import dialect
from bot.store.records import verdict_columns
from bot.store.rows import ArticleText, StoredArticle, from_row
from bot.store.schema import articles

MAX_TERMS = 16
# An elided article or preposition (French, Italian, Catalan) is part of the next word as written,
# "l'export", "sull'export", "d'Intel", but a separate word to the index: searched for, "l'" would
# ask for an "l" that "sull'export" does not hold. The word after it is what the user means.
_ELISION = re.compile(
    r"^(?:[cdjlmnst]|qu|un|all|dall|dell|nell|sull|coll|quell|quest|tutt)['’](?=\w)",
    re.IGNORECASE,
)


def search_terms(text: str) -> list[str]:
    """The words to find: split on spaces, elisions dropped, at most MAX_TERMS."""
    terms = (_ELISION.sub("", term) for term in text.split())
    return [term for term in terms if term.strip()][:MAX_TERMS]


def texts_after(conn: Connection, last_id: int, size: int) -> list[ArticleText]:
    """Up to `size` articles' text with ids above `last_id`, in id order (keyset pagination)."""
    columns = (articles.c.id, articles.c.title, articles.c.summary, articles.c.language)
    query = select(*columns).where(articles.c.id > last_id).order_by(articles.c.id).limit(size)
    return [from_row(ArticleText, row) for row in conn.execute(query)]


def set_verdicts(conn: Connection, verdicts: Sequence[tuple[int, Classification]]) -> None:
    statement = (
        update(articles)
        .where(articles.c.id == bindparam("article_id"))
        .values(
            relevant=bindparam("relevant"),
            score=bindparam("score"),
            companies=bindparam("companies"),
            why=bindparam("why"),
            mentions=bindparam("mentions"),
        )
    )
    rows = [
        {"article_id": article_id} | verdict_columns(verdict) for article_id, verdict in verdicts
    ]
    conn.execute(statement, rows)


def find_article(conn: Connection, reference: str) -> StoredArticle | None:
    """By numeric id, else by (canonical) URL."""
    condition = (
        articles.c.id == int(reference) if reference.isdigit() else articles.c.url == reference
    )
    row = conn.execute(select(articles).where(condition)).first()
    return None if row is None else from_row(StoredArticle, row)


def count_articles(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(articles)).scalar_one())


def recent_articles(conn: Connection, limit: int) -> list[StoredArticle]:
    query = select(articles).order_by(articles.c.published_at.desc()).limit(limit)
    return [from_row(StoredArticle, row) for row in conn.execute(query)]


def search(
    conn: Connection,
    text: str,
    limit: int,
    *,
    company: str | None = None,
    since: datetime | None = None,
) -> list[StoredArticle]:
    """Full-text search over title and summary, newest first; only articles naming
    `company` and published after `since` when given."""
    terms = search_terms(text)
    if not terms:
        return []
    rows = dialect.newest_matches(conn, terms, limit=limit, company=company, since=since)
    return [from_row(StoredArticle, row) for row in rows]
