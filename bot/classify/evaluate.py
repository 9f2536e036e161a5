"""Measure the classifier on a labelled set, next to a word-boundary keyword baseline.

Company scores are micro-averaged over (item, company) pairs; relevance scores count items.
The baseline is what a quick filter would do: a case-insensitive ``\\b``-bounded regex of each
company's display name and main aliases (first English and first Chinese name; Chinese names as
plain substrings, since ``\\b`` never fires inside CJK text), and "relevant" when any chip keyword
matches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.classify.catalog import Catalog
from bot.models import Classification

COMPANY_PRECISION_TARGET = 0.97
COMPANY_RECALL_TARGET = 0.95
RELEVANCE_F1_TARGET = 0.93

_BASELINE_CHIP_WORDS = (
    r"\b(?:chips?|semiconductors?|GPUs?|AI chips?|chipmakers?|semiconduttori|Halbleiter|puces?"
    r"|semi-conducteurs?|semiconductores)\b|芯片|晶片|半导体|半導體|半導体|반도체|칩|チップ"
)


class SupportsClassify(Protocol):
    catalog: Catalog

    def classify(self, title: str, summary: str, lang: str | None = None) -> Classification: ...


@dataclass(frozen=True)
class LabelledItem:
    id: str
    lang: str
    title: str
    summary: str
    companies: tuple[str, ...]
    relevant: bool
    trap: bool
    note: str = ""


@dataclass(frozen=True)
class Scores:
    company_tp: int
    company_fp: int
    company_fn: int
    relevance_tp: int
    relevance_fp: int
    relevance_fn: int
    relevance_tn: int

    @property
    def company_precision(self) -> float:
        return _ratio(self.company_tp, self.company_tp + self.company_fp)

    @property
    def company_recall(self) -> float:
        return _ratio(self.company_tp, self.company_tp + self.company_fn)

    @property
    def relevance_precision(self) -> float:
        return _ratio(self.relevance_tp, self.relevance_tp + self.relevance_fp)

    @property
    def relevance_recall(self) -> float:
        return _ratio(self.relevance_tp, self.relevance_tp + self.relevance_fn)

    @property
    def relevance_f1(self) -> float:
        p, r = self.relevance_precision, self.relevance_recall
        return _ratio(2 * p * r, p + r)


@dataclass(frozen=True)
class Miss:
    """An item the classifier got (partly) wrong."""

    id: str
    title: str
    expected_companies: tuple[str, ...]
    got_companies: tuple[str, ...]
    expected_relevant: bool
    got_relevant: bool
    score: float


@dataclass(frozen=True)
class EvalReport:
    items: int
    traps: int
    languages: tuple[tuple[str, int], ...]
    classifier: Scores
    baseline: Scores
    trap_classifier: Scores
    trap_baseline: Scores
    misses: tuple[Miss, ...]

    @property
    def meets_targets(self) -> bool:
        s = self.classifier
        return (
            s.company_precision >= COMPANY_PRECISION_TARGET
            and s.company_recall >= COMPANY_RECALL_TARGET
            and s.relevance_f1 >= RELEVANCE_F1_TARGET
        )


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def load_labelled(path: Path) -> tuple[LabelledItem, ...]:
    items = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                items.append(
                    LabelledItem(
                        id=str(d["id"]),
                        lang=str(d["lang"]),
                        title=str(d["title"]),
                        summary=str(d["summary"]),
                        companies=tuple(d["companies"]),
                        relevant=bool(d["relevant"]),
                        trap=bool(d["trap"]),
                        note=str(d.get("note", "")),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: bad labelled item: {exc}") from None
    return tuple(items)


class KeywordBaseline:
    """The naive filter the issue measures against."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._companies = []
        for c in catalog.companies:
            aliases = {c.name}
            for lang in ("en", "zh-Hans"):
                if c.names.get(lang):
                    aliases.add(c.names[lang][0])
            latin = sorted(a for a in aliases if a.isascii())
            cjk = sorted(a for a in aliases if not a.isascii())
            parts = [r"\b(?:" + "|".join(map(re.escape, latin)) + r")\b"] if latin else []
            parts += [re.escape(a) for a in cjk]
            self._companies.append((c.id, re.compile("|".join(parts), re.IGNORECASE)))
        self._chip = re.compile(_BASELINE_CHIP_WORDS, re.IGNORECASE)

    def classify(self, title: str, summary: str, lang: str | None = None) -> Classification:
        text = f"{title}\n{summary}"
        companies = tuple(cid for cid, rx in self._companies if rx.search(text))
        relevant = self._chip.search(text) is not None
        return Classification(relevant, 1.0 if relevant else 0.0, companies)


def _score(items: Sequence[LabelledItem], verdicts: Sequence[Classification]) -> Scores:
    ctp = cfp = cfn = rtp = rfp = rfn = rtn = 0
    for item, got in zip(items, verdicts, strict=True):
        gold, tagged = set(item.companies), set(got.companies)
        ctp += len(gold & tagged)
        cfp += len(tagged - gold)
        cfn += len(gold - tagged)
        if got.relevant and item.relevant:
            rtp += 1
        elif got.relevant:
            rfp += 1
        elif item.relevant:
            rfn += 1
        else:
            rtn += 1
    return Scores(ctp, cfp, cfn, rtp, rfp, rfn, rtn)


def evaluate(items: Iterable[LabelledItem], classifier: SupportsClassify) -> EvalReport:
    items = tuple(items)
    baseline = KeywordBaseline(classifier.catalog)
    ours = [classifier.classify(i.title, i.summary, i.lang) for i in items]
    naive = [baseline.classify(i.title, i.summary, i.lang) for i in items]
    traps = [k for k, i in enumerate(items) if i.trap]
    langs: dict[str, int] = {}
    for i in items:
        langs[i.lang] = langs.get(i.lang, 0) + 1
    misses = tuple(
        Miss(i.id, i.title, i.companies, got.companies, i.relevant, got.relevant, got.score)
        for i, got in zip(items, ours, strict=True)
        if set(i.companies) != set(got.companies) or i.relevant != got.relevant
    )
    return EvalReport(
        items=len(items),
        traps=len(traps),
        languages=tuple(sorted(langs.items())),
        classifier=_score(items, ours),
        baseline=_score(items, naive),
        trap_classifier=_score([items[k] for k in traps], [ours[k] for k in traps]),
        trap_baseline=_score([items[k] for k in traps], [naive[k] for k in traps]),
        misses=misses,
    )


def format_report(report: EvalReport) -> str:
    langs = ", ".join(f"{lang} {n}" for lang, n in report.languages)
    rows = [
        ("company precision", "company_precision", COMPANY_PRECISION_TARGET),
        ("company recall", "company_recall", COMPANY_RECALL_TARGET),
        ("relevance precision", "relevance_precision", None),
        ("relevance recall", "relevance_recall", None),
        ("relevance F1", "relevance_f1", RELEVANCE_F1_TARGET),
    ]
    lines = [
        f"{report.items} items ({report.traps} traps): {langs}",
        "",
        f"{'':22}{'ChipWire':>10}{'baseline':>10}{'traps:CW':>10}{'traps:base':>11}{'target':>9}",
    ]
    for label, attr, target in rows:
        values = [
            getattr(s, attr)
            for s in (
                report.classifier,
                report.baseline,
                report.trap_classifier,
                report.trap_baseline,
            )
        ]
        cells = f"{values[0]:>10.3f}{values[1]:>10.3f}{values[2]:>10.3f}{values[3]:>11.3f}"
        lines.append(f"{label:22}{cells}{'>= ' + format(target, '.2f') if target else '':>9}")
    s = report.classifier
    lines += [
        "",
        f"companies: tp {s.company_tp}  fp {s.company_fp}  fn {s.company_fn}   "
        f"relevance: tp {s.relevance_tp}  fp {s.relevance_fp}  fn {s.relevance_fn}  tn {s.relevance_tn}",
        f"targets {'met' if report.meets_targets else 'NOT met'}; {len(report.misses)} item(s) wrong",
    ]
    for m in report.misses:
        lines.append(
            f"  {m.id}: {m.title[:60]!r} companies {list(m.expected_companies)} → "
            f"{list(m.got_companies)}, relevant {m.expected_relevant} → {m.got_relevant} ({m.score:.2f})"
        )
    return "\n".join(lines)
