"""Articles with their verdicts, flattened the way the store keeps them.

Built in the parse workers (no SQLAlchemy here). A NamedTuple crosses the process boundary as a
plain tuple, several times cheaper to unpickle than nested dataclasses, and the process that
writes only binds values.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from bot.models import Article, Classification


class ArticleRecord(NamedTuple):
    url: str
    guid: str | None
    title: str
    summary: str
    published_at: datetime
    language: str | None
    author: str | None
    source: str
    content_hash: str
    # the same instant as SQLite keeps it (naive UTC text), formatted here so the writer only binds
    published_text: str
    relevant: bool | None = None
    score: float | None = None
    companies: str | None = None  # JSON array of company ids
    why: str | None = None  # JSON array of the rules that fired
    publisher_url: str | None = None  # see Article: set for an item relayed from a publisher
    relayed: bool = False
    mentions: str | None = None  # JSON object: company id → "about" | "mentioned"


def article_record(article: Article, classification: Classification | None) -> ArticleRecord:
    verdict = verdict_columns(classification) if classification is not None else {}
    return ArticleRecord(
        url=article.url,
        guid=article.guid,
        title=article.title,
        summary=article.summary,
        published_at=article.published_at,
        language=article.language,
        author=article.author,
        source=article.source,
        content_hash=article.content_hash,
        published_text=utc_text(article.published_at),
        publisher_url=article.publisher_url,
        relayed=article.relayed,
        **verdict,
    )


def utc_text(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME stores for an instant (naive UTC, microseconds)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ", "microseconds")[:26]


def verdict_columns(classification: Classification) -> dict[str, Any]:
    return {
        "relevant": classification.relevant,
        "score": classification.score,
        "companies": json.dumps(list(classification.companies)),
        "why": json.dumps(list(classification.why), ensure_ascii=False),
        "mentions": json.dumps(dict(classification.mentions)),
    }
