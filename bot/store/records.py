"""Articles with their verdicts, encoded the way the store keeps them.

Built in the parse workers (no SQLAlchemy here), so the process that writes only binds values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.models import Article, Classification


@dataclass(frozen=True)
class ArticleRecord:
    article: Article
    relevant: bool | None = None
    score: float | None = None
    companies: str | None = None  # JSON array of company ids
    why: str | None = None  # JSON array of the rules that fired


def article_record(article: Article, classification: Classification | None) -> ArticleRecord:
    if classification is None:
        return ArticleRecord(article)
    return ArticleRecord(article, **verdict_columns(classification))


def verdict_columns(classification: Classification) -> dict[str, Any]:
    return {
        "relevant": classification.relevant,
        "score": classification.score,
        "companies": json.dumps(list(classification.companies)),
        "why": json.dumps(list(classification.why), ensure_ascii=False),
    }
