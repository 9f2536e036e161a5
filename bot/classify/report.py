"""`chipwire eval`: every labelled set, one part (test by default), next to the baselines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.classify.evaluate import (
    PairReport,
    SalienceReport,
    SupportsClassify,
    evaluate_pairs,
    evaluate_salience,
    format_pairs,
    format_salience,
)
from bot.classify.labelled import (
    REAL_LABELS,
    STORY_PAIRS,
    TRAP_LABELS,
    default_corpora,
    load_pairs,
    load_real,
    load_written,
)


@dataclass(frozen=True)
class FullReport:
    part: str
    real: SalienceReport | None  # None: the real-feed corpus was not found
    traps: SalienceReport
    combined: SalienceReport
    pairs: PairReport
    corpora: Path

    @property
    def meets_targets(self) -> bool:
        return self.combined.meets_targets and self.pairs.meets_targets


def full_report(
    classifier: SupportsClassify, part: str = "test", corpora: Path | None = None
) -> FullReport:
    """Scores on one part of every set; raises LabelError for a malformed set."""
    corpora = corpora or default_corpora()
    available = (corpora / "real-feeds").is_dir()
    real = [i for i in load_real(REAL_LABELS, corpora) if i.split == part] if available else []
    traps = [i for i in load_written(TRAP_LABELS) if i.split == part]
    pairs = [p for p in load_pairs(STORY_PAIRS, corpora if available else None) if p.split == part]
    return FullReport(
        part=part,
        real=evaluate_salience(f"real feed text ({part})", real, classifier) if real else None,
        traps=evaluate_salience(f"traps written here ({part})", traps, classifier),
        combined=evaluate_salience(f"all items ({part})", [*real, *traps], classifier),
        pairs=evaluate_pairs(pairs, classifier),
        corpora=corpora,
    )


def format_full(report: FullReport) -> str:
    sections = []
    if report.real is None:
        sections.append(
            f"real-feed corpus not found at {report.corpora / 'real-feeds'}: "
            "scoring the written sets only (set CHIPWIRE_CORPORA or --corpora)"
        )
    else:
        sections.append(format_salience(report.real))
    sections += [
        format_salience(report.traps),
        format_salience(report.combined, misses=0),
        format_pairs(report.pairs, f"story pairs ({report.part})"),
        f"all targets {'met' if report.meets_targets else 'NOT met'} on the {report.part} part",
    ]
    return "\n\n".join(sections)
