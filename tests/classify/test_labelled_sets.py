"""Issue 13's labelled sets: real text read in place, our traps, story pairs; `chipwire eval`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.classify.catalog import load_catalog
from bot.classify.classifier import Classifier
from bot.classify.corpus import TEXT_KEY, Corpus
from bot.classify.labelled import (
    REAL_LABELS,
    STORY_PAIRS,
    TRAP_LABELS,
    LabelError,
    load_pairs,
    load_real,
    load_written,
    split_of,
)
from bot.classify.report import format_full, full_report

KNOWN = set(load_catalog().ids)


def test_real_labels_hold_keys_not_text(corpora_dir: Path) -> None:
    """The feeds' text stays theirs: the labels name an entry, the corpus gives its text."""
    required = {"file", "key", "lang", "about", "mentions", "relevant", "split"}
    for line in REAL_LABELS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert required <= set(record) <= required | {"corpus", "passage"}
        folder = record.get("corpus", "real-feeds")
        assert (corpora_dir / folder / record["file"]).is_file()


def test_every_real_label_resolves_to_an_entry_of_the_corpus(corpora_dir: Path) -> None:
    items = load_real(REAL_LABELS, corpora_dir)
    assert len(items) >= 1000
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
    assert all(i.trap for i in items)
    assert len({i.id for i in items}) == len(items)
    assert {"en", "it", "es", "de", "fr", "zh"} <= {i.lang for i in items}
    for item in items:
        assert set(item.about) | set(item.mentions) <= KNOWN, item.id


def test_story_pairs_are_mostly_real_text_in_several_languages(corpora_dir: Path) -> None:
    pairs = load_pairs(STORY_PAIRS, corpora_dir)
    assert sum(p.real for p in pairs) * 2 > len(pairs)
    assert Counter(p.same for p in pairs)[True] >= 20
    assert Counter(p.same for p in pairs)[False] >= 20
    languages = {side.language for p in pairs for side in (p.a, p.b)}
    assert {"en", "it", "de", "fr", "es", "zh", "nl", "pt"} <= languages
    notes = " | ".join(p.note for p in pairs)
    for quoted in ("direction, numbers, days", "counterparties", "months"):
        assert quoted in notes
    assert {p.split for p in pairs} == {"dev", "test"}


def test_eval_scores_subjects_mentions_relevance_and_pairs(corpora_dir: Path) -> None:
    report = full_report(Classifier.from_catalog(load_catalog()), "dev", corpora_dir)
    assert report.real is not None
    assert report.real.classifier.items >= 300
    text = format_full(report)
    for heading in ("subj P", "ment R", "rel F1", "keyword baseline", "story pairs", "traps"):
        assert heading in text
    assert report.pairs.pairs >= 20


def test_eval_without_the_corpus_scores_the_written_sets(tmp_path: Path) -> None:
    report = full_report(Classifier.from_catalog(load_catalog()), "dev", tmp_path)
    assert report.real is None
    assert report.traps.classifier.items > 0
    assert "real-feed corpus not found" in format_full(report)


_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>t</title><link>https://example.org/</link><description>d</description>
<item><guid>https://example.org/a</guid><title>Chips</title><description>{lead}</description>
<content:encoded><![CDATA[<p>{lead}</p><p>{second}</p><p>short caption</p><p>{third}</p>]]></content:encoded>
</item></channel></rss>"""


def _para(word: str) -> str:
    return " ".join([word] * 60)


def test_a_passage_is_a_paragraph_of_the_full_content_that_the_summary_does_not_hold(
    tmp_path: Path,
) -> None:
    feed = _FEED.format(lead=_para("lead"), second=_para("second"), third=_para("third"))
    (tmp_path / "f.rss").write_text(feed, encoding="utf-8")
    corpus = Corpus(tmp_path)
    assert corpus.entry("f.rss", "https://example.org/a").title == "Chips"
    assert corpus.passage("f.rss", "https://example.org/a", 0) == _para("second")
    assert corpus.passage("f.rss", "https://example.org/a", 1) == _para("third")
    with pytest.raises(KeyError, match="has no passage 2 \\(2 passages\\)"):
        corpus.passage("f.rss", "https://example.org/a", 2)


def test_a_text_file_is_one_article_its_first_line_the_title(tmp_path: Path) -> None:
    lead = " ".join([_para("lead")] * 4)  # longer than a stored summary
    (tmp_path / "a.txt").write_text(f"The title\n\n{lead}\n{_para('more')}\n", encoding="utf-8")
    corpus = Corpus(tmp_path)
    entry = corpus.entry("a.txt", TEXT_KEY)
    assert entry.title == "The title"
    assert entry.summary.startswith("lead lead")
    assert "more" not in entry.summary  # the summary is cut as ingest cuts it
    assert corpus.passage("a.txt", TEXT_KEY, 0) == _para("more")


def test_labels_name_their_corpus_folder_and_passage(tmp_path: Path) -> None:
    feed = _FEED.format(lead=_para("lead"), second=_para("second"), third=_para("third"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "f.rss").write_text(feed, encoding="utf-8")
    record = {"corpus": "other", "file": "f.rss", "key": "https://example.org/a", "lang": "en"}
    record |= {"about": [], "mentions": [], "relevant": False, "split": "dev", "passage": 1}
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps(record) + "\n", encoding="utf-8")
    (item,) = load_real(labels, tmp_path)
    assert item.title == ""
    assert item.summary == _para("third")


def test_the_part_of_a_new_item_is_fixed_by_its_reference() -> None:
    parts = [split_of("feed.rss", f"entry-{n}") for n in range(200)]
    assert parts == [split_of("feed.rss", f"entry-{n}") for n in range(200)]
    assert 60 < parts.count("dev") < 140
