"""The labelled set is well-formed, and the classifier meets its targets and beats the baseline."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from bot.classify.catalog import load_catalog
from bot.classify.classifier import Classifier
from bot.classify.evaluate import (
    COMPANY_PRECISION_TARGET,
    COMPANY_RECALL_TARGET,
    RELEVANCE_F1_TARGET,
    EvalReport,
    LabelledItem,
    evaluate,
    format_report,
    load_labelled,
)
from bot.classify.jsonl import eval_main

DATA = Path(__file__).resolve().parents[1] / "data" / "classify_labelled.jsonl"


@pytest.fixture(scope="module")
def items() -> tuple[LabelledItem, ...]:
    return load_labelled(DATA)


@pytest.fixture(scope="module")
def report(items: tuple[LabelledItem, ...]) -> EvalReport:
    return evaluate(items, Classifier.from_catalog(load_catalog()))


def test_labelled_set_shape(items: tuple[LabelledItem, ...]) -> None:
    assert len(items) >= 200
    langs = Counter(i.lang for i in items)
    assert {"en", "zh", "it", "de", "fr", "es"} <= set(langs)
    assert all(langs[lang] >= 20 for lang in ("en", "zh", "it", "de", "fr", "es"))
    assert sum(i.trap for i in items) * 2 >= len(items)
    assert len({i.id for i in items}) == len(items)
    assert 0.3 < sum(i.relevant for i in items) / len(items) < 0.7
    known = set(load_catalog().ids)
    for item in items:
        assert set(item.companies) <= known, item.id
        assert item.title, item.id
        assert item.summary, item.id
        assert item.note, item.id


def test_targets_are_met(report: EvalReport) -> None:
    s = report.classifier
    assert s.company_precision >= COMPANY_PRECISION_TARGET, format_report(report)
    assert s.company_recall >= COMPANY_RECALL_TARGET, format_report(report)
    assert s.relevance_f1 >= RELEVANCE_F1_TARGET, format_report(report)
    assert report.meets_targets


def test_baseline_is_lower(report: EvalReport) -> None:
    ours, naive = report.classifier, report.baseline
    assert naive.company_precision < ours.company_precision
    assert naive.company_recall < ours.company_recall
    assert naive.relevance_f1 < ours.relevance_f1
    assert report.trap_baseline.relevance_f1 < report.trap_classifier.relevance_f1


def test_format_report_shows_both_columns(report: EvalReport) -> None:
    text = format_report(report)
    assert "ChipWire" in text
    assert "baseline" in text
    for label in (
        "company precision",
        "company recall",
        "relevance precision",
        "relevance recall",
        "relevance F1",
    ):
        assert label in text


def test_eval_main_exit_code(tmp_path: Path) -> None:
    out = io.StringIO()
    assert eval_main(["--data", str(DATA)], out=out) == 0
    assert "targets met" in out.getvalue()
    assert eval_main(["--data", str(tmp_path / "missing.jsonl")], out=io.StringIO()) == 2
