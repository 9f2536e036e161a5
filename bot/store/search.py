"""Full-text search, newest first, that stays fast for common words on a large store.

SQLite: sorting every match by date costs a pass over the whole match list (100,000 rows for a
common word in a million articles). FTS5 hands matches out newest-stored first (highest rowid),
cheaply and lazily, so this reads them in growing chunks and stops as soon as nothing older can
still rank: ingest keeps `published_at <= first_seen_at`, and ids grow with `first_seen_at`, so
every match below the lowest id read so far was published no later than that row was first seen.
PostgreSQL: the tsvector GIN index with an ordinary top-N sort.
A query holding Chinese, Japanese or Korean text is matched as character pairs (bot/store/cjk.py):
on SQLite in `articles_fts_cjk`, which holds every article with such text; on PostgreSQL in the
pairs the `search` tsvector carries beside the words.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, func, literal_column, select, text

from bot.store.cjk import has_cjk, query_grams
from bot.store.schema import article_companies, articles

FIRST_CHUNK = 256
CHUNKS = 2  # 256 and 1,024 matches read newest-stored first before sorting them all
_FTS_IDS = (
    "SELECT rowid FROM {table} WHERE {table} MATCH :match AND rowid < :below "
    "ORDER BY rowid DESC LIMIT :size"
)


def fts_match(terms: Sequence[str]) -> str:
    """Each word as an FTS5 string: punctuation and operators in user input mean nothing."""
    return " ".join(_fts_string(term) for term in terms)


def _fts_string(term: str) -> str:
    if not has_cjk(term):
        return '"' + term.replace('"', '""') + '"'
    grams = query_grams(term)
    return '"' + grams.phrase.replace('"', '""') + '"' + ("*" if grams.prefix else "")


def _fts_table(terms: Sequence[str]) -> str:
    """An article matching CJK text holds CJK text, so the pairs table alone answers."""
    return "articles_fts_cjk" if any(has_cjk(term) for term in terms) else "articles_fts"


def newest_matches_sqlite(
    conn: Connection,
    terms: Sequence[str],
    *,
    limit: int,
    company: str | None = None,
    since: datetime | None = None,
    first_chunk: int = FIRST_CHUNK,
) -> list[Any]:
    """Article rows matching every term (and the filters), newest published first."""
    best: list[tuple[datetime, int, Any]] = []  # a min-heap of the `limit` newest so far
    below, size = 2**62, first_chunk
    newest_ids = text(_FTS_IDS.format(table=_fts_table(terms)))
    for _ in range(CHUNKS):
        ids = [row[0] for row in conn.execute(newest_ids, _bind(terms, below, size))]
        for row in conn.execute(_filtered(select(articles), ids, company, since)) if ids else ():
            heapq.heappush(best, (row.published_at, row.id, row))
            if len(best) > limit:
                heapq.heappop(best)
        if len(ids) < size or _nothing_older_ranks(conn, ids[-1], best, limit, since):
            return [row for _, _, row in sorted(best, key=lambda item: item[:2], reverse=True)]
        below, size = ids[-1], size * 4
    # Stored order says little about dates here (a large history imported at once): sort all.
    return _sorted_matches_sqlite(conn, terms, limit, company, since)


def _sorted_matches_sqlite(
    conn: Connection,
    terms: Sequence[str],
    limit: int,
    company: str | None,
    since: datetime | None,
) -> list[Any]:
    table = _fts_table(terms)
    ids = text(f"SELECT rowid FROM {table} WHERE {table} MATCH :match")
    query = _filtered(select(articles), ids.bindparams(match=fts_match(terms)), company, since)
    query = query.order_by(articles.c.published_at.desc(), articles.c.id.desc()).limit(limit)
    return list(conn.execute(query))


def _bind(terms: Sequence[str], below: int, size: int) -> dict[str, Any]:
    return {"match": fts_match(terms), "below": below, "size": size}


def _filtered(query: Any, ids: Any, company: str | None, since: datetime | None) -> Any:
    query = query.where(articles.c.id.in_(ids))
    if since is not None:
        query = query.where(articles.c.published_at > since)
    if company is not None:
        query = query.where(_names(company))
    return query


def _names(company: str) -> Any:
    return exists().where(
        article_companies.c.article_id == articles.c.id,
        article_companies.c.company_id == company,
    )


def _nothing_older_ranks(
    conn: Connection,
    lowest_id: int,
    best: list[tuple[datetime, int, Any]],
    limit: int,
    since: datetime | None,
) -> bool:
    floor = conn.execute(
        select(articles.c.first_seen_at).where(articles.c.id == lowest_id)
    ).scalar_one()
    if since is not None and floor <= since:
        return True
    return len(best) >= limit and best[0][0] >= floor


def newest_matches_postgresql(
    conn: Connection,
    terms: Sequence[str],
    *,
    limit: int,
    company: str | None = None,
    since: datetime | None = None,
) -> list[Any]:
    tsquery = _tsquery(terms)
    query = select(articles).where(literal_column("articles.search").op("@@")(tsquery))
    if since is not None:
        query = query.where(articles.c.published_at > since)
    if company is not None:
        query = query.where(_names(company))
    query = query.order_by(articles.c.published_at.desc(), articles.c.id.desc()).limit(limit)
    return list(conn.execute(query))


def _tsquery(terms: Sequence[str]) -> Any:
    """Words as `plainto_tsquery` reads them; each CJK term as the phrase of its pairs."""
    words = [term for term in terms if not has_cjk(term)]
    parts = [func.plainto_tsquery("simple", " ".join(words))] if words else []
    for term in terms:
        if has_cjk(term):
            parts.append(_gram_tsquery(term))
    query: Any = parts[0]
    for part in parts[1:]:
        query = query.op("&&")(part)
    return query


def _gram_tsquery(term: str) -> Any:
    grams = query_grams(term)
    if not grams.prefix:
        return func.phraseto_tsquery("simple", grams.phrase)
    *head, last = grams.phrase.split(" ")
    prefix = func.to_tsquery("simple", "'" + last + "':*")  # one CJK character: nothing to quote
    return (
        func.tsquery_phrase(func.phraseto_tsquery("simple", " ".join(head)), prefix)
        if head
        else prefix
    )
