"""Adapts the company/relevance classifier to the ingest worker: Article → Classification."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.models import Article, Classification
from bot.news.catalog import load_catalog
from bot.news.classify import Classifier


def build_classifier(
    catalog_path: Path | None, threshold: float
) -> Callable[[Article], Classification]:
    """Raises CatalogError (naming file, company and key) when the catalog is unusable."""
    classifier = Classifier.from_catalog(load_catalog(extra=catalog_path), threshold=threshold)

    def classify(article: Article) -> Classification:
        return classifier.classify(article.title, article.summary, article.language)

    return classify
