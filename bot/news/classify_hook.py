"""Adapts the company/relevance classifier to the ingest worker: Article → Classification."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.models import Article, Classification


def build_classifier(catalog_path: Path | None) -> Callable[[Article], Classification] | None:
    try:
        from bot.news.catalog import load_catalog
        from bot.news.classify import Classifier
    except ImportError:  # classifier not built yet
        return None
    classifier = Classifier.from_catalog(load_catalog(extra=catalog_path))

    def classify(article: Article) -> Classification:
        return classifier.classify(article.title, article.summary, article.language)

    return classify
