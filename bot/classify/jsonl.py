"""What `chipwire classify` does (JSON lines in, JSON lines out), and the evaluation command.

Input, one JSON object per line: {"id", "title", "summary"?, "lang"?}; ``id`` is a string or a
number and ``title`` a string (``summary`` defaults to ""). Output, one line per input line, in
order: {"id", "relevant", "score", "companies", "mentions", "why"} (``companies``: the subjects;
``mentions``: every company named, each {"company", "salience": "about" | "mentioned"}), or
{"line": n, "error": "..."} for a line that is not such an object (n counts physical lines from
1). Blank lines are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.classify.catalog import CatalogError, load_catalog
from bot.classify.classifier import Classifier
from bot.classify.evaluate import SupportsClassify, evaluate, format_report, load_labelled

DEFAULT_LABELLED = (
    Path(__file__).resolve().parents[2] / "tests" / "data" / "classify_labelled.jsonl"
)


def _parse(line: str) -> tuple[Any, str, str, str | None]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(item, dict):
        raise ValueError("expected a JSON object")
    item_id = item.get("id")
    if isinstance(item_id, bool) or not isinstance(item_id, str | int):
        raise ValueError('"id" must be a string or an integer')
    title, summary, lang = item.get("title"), item.get("summary", ""), item.get("lang")
    if not isinstance(title, str):
        raise ValueError('"title" must be a string')
    if not isinstance(summary, str):
        raise ValueError('"summary" must be a string')
    if lang is not None and not isinstance(lang, str):
        raise ValueError('"lang" must be a string or null')
    return item_id, title, summary, lang


def classify_stream(lines: Iterable[str], out: TextIO, classifier: SupportsClassify) -> int:
    """Classify each JSON line of ``lines`` onto ``out``; return how many lines were malformed."""
    errors = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item_id, title, summary, lang = _parse(line)
        except ValueError as exc:
            errors += 1
            record: dict[str, Any] = {"line": n, "error": str(exc)}
        else:
            verdict = classifier.classify(title, summary, lang)
            record = {
                "id": item_id,
                "relevant": verdict.relevant,
                "score": verdict.score,
                "companies": list(verdict.companies),
                "mentions": [{"company": c, "salience": s} for c, s in verdict.mentions],
                "why": list(verdict.why),
            }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return errors


def eval_main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """`chipwire classify --eval`-style entry: print the report; 0 when the targets are met."""
    parser = argparse.ArgumentParser(prog="chipwire classify-eval", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_LABELLED, help="labelled JSONL set")
    parser.add_argument(
        "--catalog", type=Path, default=None, help="user catalog merged over the default"
    )
    parser.add_argument("--threshold", type=float, default=0.5, help="relevance threshold, 0..1")
    args = parser.parse_args(argv)
    stream = out if out is not None else sys.stdout
    try:
        classifier = Classifier.from_catalog(
            load_catalog(extra=args.catalog), threshold=args.threshold
        )
        items = load_labelled(args.data)
    except (CatalogError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(items, classifier)
    print(format_report(report), file=stream)
    return 0 if report.meets_targets else 1


if __name__ == "__main__":
    raise SystemExit(eval_main())
