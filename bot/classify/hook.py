"""Adapts the company/relevance classifier to the ingest worker: Article → Classification."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.classify.catalog import load_catalog
from bot.classify.classifier import Classifier
from bot.models import Article, Classification


def build_classifier(
    catalog_path: Path | None, threshold: float
) -> Callable[[Article], Classification]:
    """Raises CatalogError (naming file, company and key) when the catalog is unusable."""
    classifier = Classifier.from_catalog(load_catalog(extra=catalog_path), threshold=threshold)

    def classify(article: Article) -> Classification:
        return classifier.classify(article.title, article.summary, article.language)

    return classify
