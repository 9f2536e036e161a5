"""The automaton scan finds exactly what the trie-shaped regular expression found, so verdicts
are unchanged: on the labelled set, on every entry of the real-feed corpora, and on generated
texts made of catalog forms glued together at the edges where boundary rules matter."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.classify.catalog import load_catalog
from bot.classify.classifier import SUMMARY_SCAN_MAX, Classifier
from bot.classify.evaluate import load_labelled
from bot.ingest.normalise import normalise_entry, plain_text
from bot.ingest.parse.feedparser import FeedRejected, parse_feed
from bot.models import Classification

LABELLED = Path(__file__).resolve().parents[1] / "data" / "classify_labelled.jsonl"
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}
FIRST_SEEN = datetime(2025, 1, 1, tzinfo=UTC)


class RegexClassifier(Classifier):
    """The engine as it was: the case-sensitive trie regular expression over lower-cased text."""

    def _spans(self, low: str) -> list[tuple[int, int]]:
        return self._regex_spans(low, ignore_case=False)


@cache
def _engines() -> tuple[Classifier, Classifier]:
    catalog = load_catalog()
    return Classifier.from_catalog(catalog), RegexClassifier.from_catalog(catalog)


def _same(title: str, summary: str) -> tuple[Classification, Classification]:
    fast, reference = _engines()
    return fast.classify(title, summary), reference.classify(title, summary)


def _corpus_items(corpora: Path) -> list[tuple[str, str, str]]:
    """(name, title, summary) for every entry of the real feeds: as ingest stores it, and with
    the summary's full plain text (up to twice the scan cap) for the long ones."""
    items = []
    for path in sorted((corpora / "real-feeds").iterdir()):
        if path.suffix.lower() not in FEED_SUFFIXES:
            continue
        try:
            feed = parse_feed(path.read_bytes())
        except FeedRejected:
            continue
        for k, entry in enumerate(feed.entries):
            article = normalise_entry(
                entry, feed=feed, source="corpus", declared_language=None, first_seen=FIRST_SEEN
            )
            if article is not None:
                items.append((f"{path.name}#{k}", article.title, article.summary))
            full = plain_text(entry.summary or "", 2 * SUMMARY_SCAN_MAX)
            items.append((f"{path.name}#{k} full", entry.title or "", full))
    return items


def test_labelled_set_verdicts_unchanged() -> None:
    items = load_labelled(LABELLED)
    assert len(items) > 300
    for item in items:
        for title, summary in (
            (item.title, item.summary),
            (item.title.upper(), item.summary.upper()),  # exact-case forms must still refuse
            (item.summary, item.title),
        ):
            fast, reference = _same(title, summary)
            assert fast == reference, item.id


def test_real_feed_verdicts_unchanged(corpora_dir: Path) -> None:
    items = _corpus_items(corpora_dir)
    assert len(items) > 500
    tagged = 0
    for name, title, summary in items:
        fast, reference = _same(title, summary)
        assert fast == reference, name
        tagged += bool(fast.companies)
    assert tagged > 10  # the corpus exercises tagging, not only empty verdicts


def test_spans_equal_the_regex_spans_on_corpus_text(corpora_dir: Path) -> None:
    fast, _ = _engines()
    for name, title, summary in _corpus_items(corpora_dir):
        low = f"{title}\n{summary}".lower()
        if len(low) == len(f"{title}\n{summary}"):
            assert fast._spans(low) == fast._regex_spans(low, ignore_case=False), name


@cache
def _forms() -> list[str]:
    fast, _ = _engines()
    words = sorted(set(fast._forms) | set(fast._stems))
    return words + [w.title() for w in words] + [w.upper() for w in words[::7]]


GLUE = [" ", "", "-", "x", "s", "'s", ".", "é", "中", "\n", "  ", "İ", "K", "ß", "Ω", "9", "$"]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_generated_texts_verdicts_unchanged(data: st.DataObject) -> None:
    parts = data.draw(
        st.lists(
            st.tuples(st.sampled_from(_forms()), st.sampled_from(GLUE)), min_size=1, max_size=8
        )
    )
    text = "".join(form + glue for form, glue in parts)
    head = data.draw(st.integers(0, len(text)))
    fast, reference = _same(text[:head], text[head:])
    assert fast == reference, text


def test_summary_past_the_scan_cap_is_not_read() -> None:
    fast, _ = _engines()
    filler = "word " * (SUMMARY_SCAN_MAX // 5)
    assert fast.classify("Quarterly update", "Nvidia ships chips. " + filler).companies == (
        "nvidia",
    )
    assert fast.classify("Quarterly update", filler + " Nvidia ships chips.").companies == ()


def test_scan_cap_does_not_cut_a_word_into_a_name() -> None:
    fast, _ = _engines()
    # "Intelsat" straddles the cap; a cut inside it would leave "Intel".
    summary = "x" * (SUMMARY_SCAN_MAX - 5) + " Intelsat satellites"
    assert "intel" not in fast.classify("Satellite news", summary).companies


def test_text_whose_lowercase_changes_length_uses_the_case_insensitive_path() -> None:
    fast, _ = _engines()
    verdict = fast.classify("İstanbul: Nvidia opens an AI chip lab", "")
    assert "nvidia" in verdict.companies
