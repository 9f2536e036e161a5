"""Classifier throughput on one core: the labelled set repeated to N items.

Run: .venv/bin/python bench/classify.py [--items 20000] [--rounds 5]
Target: >= 20,000 items/s. Prints one row per language and a total (best of the rounds).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.classify.catalog import load_catalog
from bot.classify.classifier import Classifier
from bot.classify.evaluate import LabelledItem, load_labelled

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "classify_labelled.jsonl"


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity)"


def _rate(classifier: Classifier, work: list[LabelledItem], rounds: int) -> tuple[float, float]:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for item in work:
            classifier.classify(item.title, item.summary, item.lang)
        best = min(best, time.perf_counter() - start)
    return best, len(work) / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pinned = _pin_one_core()

    start = time.perf_counter()
    classifier = Classifier.from_catalog(load_catalog())
    build = time.perf_counter() - start
    items = load_labelled(DATA)
    work = [items[k % len(items)] for k in range(args.items)]

    print(f"python {sys.version.split()[0]}, {pinned}; catalog compiled in {build * 1000:.0f} ms")
    print(f"{'set':<8}{'items':>8}{'seconds':>10}{'items/s':>12}{'µs/item':>10}")
    for lang in sorted({i.lang for i in items}):
        subset = [i for i in work if i.lang == lang]
        seconds, rate = _rate(classifier, subset, args.rounds)
        print(f"{lang:<8}{len(subset):>8}{seconds:>10.3f}{rate:>12,.0f}{1e6 / rate:>10.1f}")
    seconds, rate = _rate(classifier, work, args.rounds)
    print(f"{'all':<8}{len(work):>8}{seconds:>10.3f}{rate:>12,.0f}{1e6 / rate:>10.1f}")
    print(f"target >= 20,000 items/s: {'met' if rate >= 20_000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
