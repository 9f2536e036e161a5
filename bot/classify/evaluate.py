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
from typing import Any, Protocol

from bot.classify.catalog import Catalog
from bot.classify.labelled import SalienceItem, StoryPair
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


def named(verdict: Classification) -> tuple[str, ...]:
    """Every company the verdict names, subject or not (this set labels names, not salience)."""
    return tuple(dict.fromkeys((*verdict.companies, *verdict.mentioned)))


def _score(items: Sequence[LabelledItem], verdicts: Sequence[Classification]) -> Scores:
    ctp = cfp = cfn = rtp = rfp = rfn = rtn = 0
    for item, got in zip(items, verdicts, strict=True):
        gold, tagged = set(item.companies), set(named(got))
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
        Miss(i.id, i.title, i.companies, named(got), i.relevant, got.relevant, got.score)
        for i, got in zip(items, ours, strict=True)
        if set(i.companies) != set(named(got)) or i.relevant != got.relevant
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


# ---- subjects, mentions and stories (issue 13's sets: bot/classify/labelled.py) -------------

SUBJECT_PRECISION_TARGET = 0.97
SUBJECT_RECALL_TARGET = 0.95
PAIR_PRECISION_TARGET = 0.97
PAIR_RECALL_TARGET = 0.90


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return _ratio(2 * p * r, p + r)


def _set_counts(gold: Iterable[str], got: Iterable[str]) -> Counts:
    gold, got = set(gold), set(got)
    return Counts(len(gold & got), len(got - gold), len(gold - got))


def _flag_counts(gold: bool, got: bool) -> Counts:
    return Counts(
        int(gold and got), int(got and not gold), int(gold and not got), int(not (gold or got))
    )


@dataclass(frozen=True)
class SalienceScores:
    items: int = 0
    subjects: Counts = Counts()
    mentions: Counts = Counts()
    relevance: Counts = Counts()

    def __add__(self, other: SalienceScores) -> SalienceScores:
        return SalienceScores(
            self.items + other.items,
            self.subjects + other.subjects,
            self.mentions + other.mentions,
            self.relevance + other.relevance,
        )


@dataclass(frozen=True)
class SalienceMiss:
    id: str
    title: str
    about: tuple[str, tuple[str, ...], tuple[str, ...]]  # label: gold, got
    mentioned: tuple[tuple[str, ...], tuple[str, ...]]
    relevant: tuple[bool, bool]


@dataclass(frozen=True)
class SalienceReport:
    name: str
    classifier: SalienceScores
    baseline: SalienceScores
    by_language: tuple[tuple[str, SalienceScores], ...]
    traps: SalienceScores
    trap_baseline: SalienceScores
    misses: tuple[SalienceMiss, ...]

    @property
    def meets_targets(self) -> bool:
        s = self.classifier
        return (
            s.subjects.precision >= SUBJECT_PRECISION_TARGET
            and s.subjects.recall >= SUBJECT_RECALL_TARGET
            and s.relevance.f1 >= RELEVANCE_F1_TARGET
        )


def _salience_scores(item: SalienceItem, got: Classification) -> SalienceScores:
    return SalienceScores(
        1,
        _set_counts(item.about, got.companies),
        _set_counts(item.mentions, got.mentioned),
        _flag_counts(item.relevant, got.relevant),
    )


def evaluate_salience(
    name: str, items: Sequence[SalienceItem], classifier: SupportsClassify
) -> SalienceReport:
    baseline = KeywordBaseline(classifier.catalog)
    total = naive_total = traps = naive_traps = SalienceScores()
    languages: dict[str, SalienceScores] = {}
    misses = []
    for item in items:
        got = classifier.classify(item.title, item.summary, item.lang)
        scores = _salience_scores(item, got)
        naive = _salience_scores(item, baseline.classify(item.title, item.summary, item.lang))
        total, naive_total = total + scores, naive_total + naive
        languages[item.lang] = languages.get(item.lang, SalienceScores()) + scores
        if item.trap:
            traps, naive_traps = traps + scores, naive_traps + naive
        if (
            scores.subjects.fp
            or scores.subjects.fn
            or scores.mentions.fp
            or scores.mentions.fn
            or (scores.relevance.fp or scores.relevance.fn)
        ):
            misses.append(
                SalienceMiss(
                    item.id,
                    item.title,
                    ("about", item.about, got.companies),
                    (item.mentions, got.mentioned),
                    (item.relevant, got.relevant),
                )
            )
    return SalienceReport(
        name,
        total,
        naive_total,
        tuple(sorted(languages.items())),
        traps,
        naive_traps,
        tuple(misses),
    )


def _cell(denominator: int, value: float, width: int) -> str:
    """A score, or "-" where nothing was there to count (no gold and no guess)."""
    return f"{value:>{width}.3f}" if denominator else f"{'-':>{width}}"


def format_salience(report: SalienceReport, *, misses: int = 15) -> str:
    def cells(s: SalienceScores) -> str:
        return (
            f"{_cell(s.subjects.tp + s.subjects.fp, s.subjects.precision, 7)}"
            f"{_cell(s.subjects.tp + s.subjects.fn, s.subjects.recall, 7)}"
            f"{_cell(s.mentions.tp + s.mentions.fp, s.mentions.precision, 8)}"
            f"{_cell(s.mentions.tp + s.mentions.fn, s.mentions.recall, 7)}"
            f"{_cell(s.relevance.tp + s.relevance.fp, s.relevance.precision, 8)}"
            f"{_cell(s.relevance.tp + s.relevance.fn, s.relevance.recall, 7)}"
            f"{_cell(s.relevance.tp + s.relevance.fp + s.relevance.fn, s.relevance.f1, 7)}"
        )

    head = f"{'':24}{'subj P':>7}{'subj R':>7}{'ment P':>8}{'ment R':>7}{'rel P':>8}{'rel R':>7}{'rel F1':>7}"
    lines = [f"{report.name}: {report.classifier.items} items", head]
    lines.append(f"{'ChipWire':24}{cells(report.classifier)}")
    lines.append(f"{'keyword baseline':24}{cells(report.baseline)}")
    if report.traps.items:
        lines.append(f"{f'traps ({report.traps.items})':24}{cells(report.traps)}")
        lines.append(f"{'traps, baseline':24}{cells(report.trap_baseline)}")
    for lang, scores in report.by_language:
        lines.append(f"{f'  {lang} ({scores.items})':24}{cells(scores)}")
    s = report.classifier
    lines.append(
        f"subjects tp {s.subjects.tp} fp {s.subjects.fp} fn {s.subjects.fn}; "
        f"mentions tp {s.mentions.tp} fp {s.mentions.fp} fn {s.mentions.fn}; "
        f"relevance tp {s.relevance.tp} fp {s.relevance.fp} fn {s.relevance.fn} tn {s.relevance.tn}"
    )
    lines.append(
        f"targets (subject P >= {SUBJECT_PRECISION_TARGET}, R >= {SUBJECT_RECALL_TARGET}, "
        f"relevance F1 >= {RELEVANCE_F1_TARGET}) {'met' if report.meets_targets else 'NOT met'}"
        f"; {len(report.misses)} item(s) wrong"
    )
    for m in report.misses[:misses]:
        lines.append(
            f"  {m.id}: {m.title[:50]!r} about {list(m.about[1])} → {list(m.about[2])}, "
            f"mentioned {list(m.mentioned[0])} → {list(m.mentioned[1])}, "
            f"relevant {m.relevant[0]} → {m.relevant[1]}"
        )
    if len(report.misses) > misses:
        lines.append(f"  … and {len(report.misses) - misses} more")
    return "\n".join(lines)


@dataclass(frozen=True)
class PairReport:
    pairs: int
    classifier: Counts
    baseline: Counts
    wrong: tuple[tuple[str, str, bool], ...]  # id, note, labelled same

    @property
    def meets_targets(self) -> bool:
        c = self.classifier
        return c.precision >= PAIR_PRECISION_TARGET and c.recall >= PAIR_RECALL_TARGET


def _digest_article(n: int, side: Any, verdict: Classification) -> Any:
    from bot.models import DigestArticle

    return DigestArticle(
        id=n,
        url=f"urn:pair:{n}",
        title=side.title,
        summary=side.summary,
        published_at=side.published_at,
        language=side.language,
        source=f"source {n}",
        sources=(f"source {n}",),
        score=verdict.score,
        companies=verdict.companies,
    )


def evaluate_pairs(pairs: Sequence[StoryPair], classifier: SupportsClassify) -> PairReport:
    """Each pair clustered on its own, as the digest clusters a window: one story or two.
    The baseline joins titles whose word sets overlap by half (Jaccard >= 0.5)."""
    from bot.digest.stories import cluster_stories, jaccard, title_features

    ours = naive = Counts()
    wrong = []
    for pair in pairs:
        sides = [
            _digest_article(n, side, classifier.classify(side.title, side.summary, side.language))
            for n, side in enumerate((pair.a, pair.b), 1)
        ]
        joined = len(cluster_stories(sides)) == 1
        a, b = (title_features(side.title).tokens for side in (pair.a, pair.b))
        ours += _flag_counts(pair.same, joined)
        naive += _flag_counts(pair.same, jaccard(a, b) >= 0.5)
        if joined != pair.same:
            wrong.append((pair.id, pair.note, pair.same))
    return PairReport(len(pairs), ours, naive, tuple(wrong))


def format_pairs(report: PairReport, name: str) -> str:
    c, b = report.classifier, report.baseline
    lines = [
        f"{name}: {report.pairs} pairs ({c.tp + c.fn} same story)",
        f"{'':24}{'P':>7}{'R':>7}",
        f"{'ChipWire stories':24}{c.precision:>7.3f}{c.recall:>7.3f}",
        f"{'title-overlap baseline':24}{b.precision:>7.3f}{b.recall:>7.3f}",
        f"targets (P >= {PAIR_PRECISION_TARGET}, R >= {PAIR_RECALL_TARGET}) "
        f"{'met' if report.meets_targets else 'NOT met'}; {len(report.wrong)} pair(s) wrong",
    ]
    for pair_id, note, same in report.wrong:
        lines.append(f"  {pair_id}: {note} (labelled {'same' if same else 'different'})")
    return "\n".join(lines)
