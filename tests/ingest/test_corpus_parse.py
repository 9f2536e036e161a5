"""Every shared corpus file parses or is refused cleanly; the fast path agrees with feedparser.

The corpora live in ../shared/corpora (see DESIGN.md) and are read in place.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from bot.ingest.normalise import normalise_entry
from bot.ingest.parse.fast import parse_fast
from bot.ingest.parse.feedparser import (
    FeedRejected,
    check_prolog,
    parse_date,
    parse_feed,
    parse_with_feedparser,
)
from bot.models import ParsedFeed

FIRST_SEEN = datetime(2025, 1, 1, tzinfo=UTC)
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}
HANG_GUARD_SECONDS = 5.0  # not a speed test: only catches a file that makes parsing hang
ATTACK_OUTPUT_LIMIT = 100_000


def _feed_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in FEED_SUFFIXES)


@cache
def _corpus_files(corpora: Path) -> tuple[Path, ...]:
    return tuple(_feed_files(corpora / "feedparser-tests") + _feed_files(corpora / "real-feeds"))


def _normalised(feed: ParsedFeed) -> list[tuple[object, ...] | None]:
    rows: list[tuple[object, ...] | None] = []
    for entry in feed.entries:
        article = normalise_entry(
            entry, feed=feed, source="corpus", declared_language=None, first_seen=FIRST_SEEN
        )
        rows.append(
            None
            if article is None
            else (
                article.guid,
                article.url,
                article.title,
                article.summary,
                article.published_at,
                article.author,
                article.language,
                article.source,
                article.publisher_url,
                article.relayed,
                entry.publisher,
                entry.publisher_url,
            )
        )
    return rows


def test_corpora_are_present(corpora_dir: Path) -> None:
    files = _corpus_files(corpora_dir)
    assert len(files) > 2000, "expected the feedparser test suite and the real feeds"


def test_every_corpus_file_parses_or_is_refused(corpora_dir: Path) -> None:
    parsed = refused = 0
    for path in _corpus_files(corpora_dir):
        body = path.read_bytes()
        started = time.perf_counter()
        try:
            feed = parse_feed(body, base_url="https://corpus.example/feed.xml")
        except FeedRejected as rejected:
            reason = rejected.reason
            refused += 1
        else:
            reason = "parsed"
            assert isinstance(feed, ParsedFeed), path
            _normalised(feed)
            parsed += 1
        assert reason, path  # a refusal always says why
        assert time.perf_counter() - started < HANG_GUARD_SECONDS, path
    assert parsed > 1900
    assert refused < 100


def test_fast_path_equals_feedparser_after_normalising(corpora_dir: Path) -> None:
    fast_files = 0
    mismatches: list[str] = []
    for path in _corpus_files(corpora_dir):
        body = path.read_bytes()
        try:
            check_prolog(body)
        except FeedRejected:
            continue
        fast = parse_fast(body, parse_date=parse_date)
        if fast is None:
            continue
        fast_files += 1
        try:
            slow = parse_with_feedparser(body)
        except FeedRejected:
            mismatches.append(f"{path.name}: feedparser refused what the fast path read")
            continue
        if _normalised(fast) != _normalised(slow):
            mismatches.append(path.relative_to(corpora_dir).as_posix())
    assert not mismatches, mismatches
    assert fast_files > 500, "the fast path should read most well-formed corpus feeds"


_ATTACK_RUNNER = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from bot.ingest.parse.feedparser import FeedRejected, parse_feed
    for name in sys.argv[1:]:
        body = Path(name).read_bytes()
        started = time.perf_counter()
        try:
            feed = parse_feed(body)
        except FeedRejected as rejected:
            row = {"file": name, "refused": rejected.reason, "chars": 0}
        else:
            chars = len(feed.title) + sum(
                len(e.title) + len(e.summary) + len(e.link or "") for e in feed.entries
            )
            row = {"file": name, "refused": None, "chars": chars}
        row["secs"] = time.perf_counter() - started
        print(json.dumps(row), flush=True)
    """
)


def test_attack_files_are_refused_or_harmless(corpora_dir: Path) -> None:
    attacks = _feed_files(corpora_dir / "attacks")
    assert attacks, "no attack samples found"
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _ATTACK_RUNNER, *map(str, attacks)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == len(attacks)
    for row in rows:
        assert row["refused"] or row["chars"] < ATTACK_OUTPUT_LIMIT, row
        assert row["secs"] < HANG_GUARD_SECONDS, row
    entity_samples = [r for r in rows if "laughs" in r["file"] or "quadratic" in r["file"]]
    assert entity_samples
    assert all(r["refused"] for r in entity_samples)
