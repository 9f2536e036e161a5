"""What a parsing process runs: parse → normalise → classify, pure, returning plain values.

Imported only where parsing happens (the worker processes, or the main one when parsing inline).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from bot.classify.hook import build_classifier
from bot.ingest.challenge import rejection_text
from bot.ingest.jobs import MAX_ENTRIES_PER_FEED, ClassifierSpec, ParseJob, ParseOutput
from bot.ingest.normalise import normalise_entry
from bot.ingest.parse.feedparser import FeedRejected, parse_feed
from bot.models import Article, Classification
from bot.store.records import article_record

_classify: Callable[[Article], Classification] | None = None  # per process, see configure


def configure_classifier(spec: ClassifierSpec) -> None:
    """Build the classifier once per process (compiling the catalog is the costly part)."""
    global _classify
    catalog = Path(spec.catalog_path) if spec.catalog_path else None
    _classify = build_classifier(catalog, spec.threshold) if spec.enabled else None


def run_job(job: ParseJob) -> ParseOutput:
    try:
        parsed = parse_feed(job.body, content_type=job.content_type, base_url=job.base_url)
    except FeedRejected as exc:
        return ParseOutput(error=rejection_text(job.body, exc))
    items = []
    for entry in parsed.entries[:MAX_ENTRIES_PER_FEED]:
        if entry.guid and entry.guid.strip() in job.known_guids:
            continue
        article = normalise_entry(
            entry,
            feed=parsed,
            source=job.source,
            declared_language=job.declared_language,
            first_seen=job.first_seen,
        )
        if article is not None:
            verdict = _classify(article) if _classify is not None else None
            items.append(article_record(article, verdict))
    digest = job.body_hash or hashlib.sha256(job.body).hexdigest()
    return ParseOutput(items=tuple(items), body_hash=digest, entries=len(parsed.entries))
