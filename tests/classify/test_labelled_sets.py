"""Issue 13's labelled sets: real text read in place, our traps, story pairs; `chipwire eval`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.classify.catalog import load_catalog
from bot.classify.classifier import Classifier
from bot.classify.labelled import (
    REAL_LABELS,
    STORY_PAIRS,
    TRAP_LABELS,
    LabelError,
    load_pairs,
    load_real,
    load_written,
)
from bot.classify.report import format_full, full_report

KNOWN = set(load_catalog().ids)


def test_real_labels_hold_keys_not_text(corpora_dir: Path) -> None:
    """The feeds' text stays theirs: the labels name an entry, the corpus gives its text."""
    for line in REAL_LABELS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert set(record) == {"file", "key", "lang", "about", "mentions", "relevant", "split"}
        assert (corpora_dir / "real-feeds" / record["file"]).is_file()


def test_every_real_label_resolves_to_an_entry_of_the_corpus(corpora_dir: Path) -> None:
    items = load_real(REAL_LABELS, corpora_dir)
    assert len(items) >= 700
    assert len({(i.title, i.summary) for i in items}) == len(items)  # no entry twice
    assert Counter(i.split for i in items).keys() == {"dev", "test"}
    assert len({i.lang for i in items}) >= 6
    for item in items:
        assert set(item.about) | set(item.mentions) <= KNOWN, item.id
        assert not set(item.about) & set(item.mentions), item.id


def test_a_label_for_an_entry_the_corpus_lacks_is_a_clear_error(
    corpora_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "labels.jsonl"
    record = {"file": "rss-parser__guardian.rss", "key": "no-such-entry", "lang": "en"}
    record |= {"about": [], "mentions": [], "relevant": False, "split": "dev"}
    bad.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(LabelError, match="no entry with key 'no-such-entry'"):
        load_real(bad, corpora_dir)


def test_the_traps_cover_every_case_the_issue_quotes() -> None:
    items = load_written(TRAP_LABELS)
    titles = " | ".join(i.title for i in items)
    for quoted in (
        "House Intel Chair",
        "Senate Intel Committee",
        "Crucial vote",
        "arm stuck in donation box",
        "Alexa Ray Joel",
        "Xiang Bing",
        "Intel to cut 15% of workforce",
        "foot still on accelerator",
        "Chuck Berry",
        "top seller on Amazon",
    ):
        assert quoted in titles
    assert all(i.trap for i in items) and len({i.id for i in items}) == len(items)
    assert {"en", "it", "es", "de", "fr", "zh"} <= {i.lang for i in items}
    for item in items:
        assert set(item.about) | set(item.mentions) <= KNOWN, item.id


def test_story_pairs_are_mostly_real_text_in_several_languages(corpora_dir: Path) -> None:
    pairs = load_pairs(STORY_PAIRS, corpora_dir)
    assert sum(p.real for p in pairs) * 2 > len(pairs)
    assert (
        Counter(p.same for p in pairs)[True] >= 20 and Counter(p.same for p in pairs)[False] >= 20
    )
    languages = {side.language for p in pairs for side in (p.a, p.b)}
    assert {"en", "it", "de", "fr", "es", "zh", "nl", "pt"} <= languages
    notes = " | ".join(p.note for p in pairs)
    for quoted in ("direction, numbers, days", "counterparties", "months"):
        assert quoted in notes
    assert {p.split for p in pairs} == {"dev", "test"}


def test_eval_scores_subjects_mentions_relevance_and_pairs(corpora_dir: Path) -> None:
    report = full_report(Classifier.from_catalog(load_catalog()), "dev", corpora_dir)
    assert report.real is not None and report.real.classifier.items >= 300
    text = format_full(report)
    for heading in ("subj P", "ment R", "rel F1", "keyword baseline", "story pairs", "traps"):
        assert heading in text
    assert report.pairs.pairs >= 20


def test_eval_without_the_corpus_scores_the_written_sets(tmp_path: Path) -> None:
    report = full_report(Classifier.from_catalog(load_catalog()), "dev", tmp_path)
    assert report.real is None and report.traps.classifier.items > 0
    assert "real-feed corpus not found" in format_full(report)
