"""Digest core micro-benchmark: cluster + rank + build on generated candidates (no store, no I/O).

Run: .venv/bin/python bench/digest_core.py [--articles 5000] [--runs 7] [--seed 1]
Target: clustering 5,000 candidates well under 100 ms. Prints the median of the runs per phase.

Candidates imitate three days of AI-chip news: events (a company, a product, a number, a kind of
news, and made-up names that tell events apart; a third of events about a known product, the rest
about model codes or names seen once or twice) told by one to six feeds in English, Chinese,
Italian or German, English titles reworded the way wires and aggregators do, plus one-off items
that match nothing. Events of one day about the same company and product merge, by the rules.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.digest.build import build_digest, rank_stories
from bot.digest.stories import cluster_stories
from bot.models import DigestArticle

T = TypeVar("T")
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
PRODUCTS = {
    "nvidia": ("Nvidia", "英伟达", ["H20", "B30A", "H200", "B200", "GB300", "Rubin CPX"]),
    "huawei": ("Huawei", "华为", ["Ascend 910C", "Ascend 920", "Ascend 950PR", "CloudMatrix 384"]),
    "amd": ("AMD", "AMD", ["MI350", "MI355X", "MI400", "Helios"]),
    "tsmc": ("TSMC", "台积电", ["N2", "A16", "CoWoS-L", "SoIC"]),
    "intel": ("Intel", "英特尔", ["18A", "14A", "Gaudi 3", "Jaguar Shores"]),
    "cambricon": ("Cambricon", "寒武纪", ["MLU590", "MLU690", "Siyuan 590"]),
    "smic": ("SMIC", "中芯国际", ["N+2", "N+3", "7nm"]),
    "ant-group": ("Ant Group", "蚂蚁集团", ["Ling-Plus", "Bailing"]),
}
TEMPLATES = {
    "en": [
        "{co} unveils {prod} AI accelerator",
        "US tightens {prod} export rules for {co}",
        "{co} wins order for {n},000 {prod} chips",
        "{co} revenue jumps {n}% on {prod} demand",
        "{co} shares fall {n}% after {prod} delay",
        "{co} to mass-produce {prod} next quarter",
    ],
    "zh": [
        "{zco}发布{prod}AI加速器",
        "美国收紧{prod}出口规则 涉及{zco}",
        "{zco}获得{n},000颗{prod}芯片订单",
        "{zco}营收因{prod}需求增长{n}%",
        "{zco}股价因{prod}延期下跌{n}%",
        "{zco}{prod}下季度量产",
    ],
    "it": [
        "{co} presenta l'acceleratore AI {prod}",
        "Gli USA stringono le regole sull'export di {prod} per {co}",
        "{co}, ordine da {n}.000 chip {prod}",
        "Ricavi {co} in crescita del {n}% grazie a {prod}",
        "Titolo {co} giù del {n}% dopo il ritardo di {prod}",
        "{co} produrrà in serie {prod} dal prossimo trimestre",
    ],
    "de": [
        "{co} stellt KI-Beschleuniger {prod} vor",
        "USA verschärfen Exportregeln für {prod} von {co}",
        "{co} erhält Auftrag über {n}.000 {prod}-Chips",
        "{co}-Umsatz steigt dank {prod} um {n} %",
        "{co}-Aktie fällt nach {prod}-Verzögerung um {n} %",
        "{co} startet Serienfertigung von {prod} im nächsten Quartal",
    ],
}
EN_REWORDS = ["{t}", "{t}, sources say", "Exclusive: {t}", "{t} - report", "{t} (update)"]
FEEDS = {
    "en": ["ChipWire Wire", "Silicon Daily", "Tech Daily", "Market Watcher", "Wire A", "Wire B"],
    "zh": ["芯片快讯", "半导体观察", "科技日报"],
    "it": ["Notizie Chip", "Il Semiconduttore"],
    "de": ["Europa Halbleiter", "Chip-Nachrichten"],
}
SYLLABLES = ["ka", "lo", "mi", "ra", "ten", "vor", "sil", "chen", "hua", "bai", "qi", "lu"]
SYLLABLES += ["den", "mar", "tor", "zen", "fa", "no", "bel", "gra"]


HANZI = "深圳北京上海杭州合肥苏州南京成都武汉西安广州天津李王张刘陈杨黄赵周吴徐孙马朱胡林郭何高罗"


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(SYLLABLES, k=rng.randint(2, 3)))


def generate(count: int, rng: random.Random) -> list[DigestArticle]:
    articles: list[DigestArticle] = []
    # Stand-ins for what tells one event from another: places, customers, partners, people.
    details = [_word(rng).capitalize() for _ in range(3000)]
    zh_details = ["".join(rng.choices(HANZI, k=rng.randint(2, 3))) for _ in range(3000)]

    def add(title: str, language: str, companies: tuple[str, ...], when: datetime) -> None:
        feed = rng.choice(FEEDS[language])
        extra = (rng.choice(FEEDS[language]),) if rng.random() < 0.1 else ()
        articles.append(
            DigestArticle(
                id=len(articles) + 1,
                url=f"https://news.example/{len(articles) + 1}",
                title=title,
                summary=f"{title}. One line of summary.",
                published_at=when,
                language=language,
                source=feed,
                sources=tuple(dict.fromkeys((feed, *extra))),
                score=round(rng.uniform(0.4, 1.0), 2),
                companies=companies,
            )
        )

    while len(articles) < count:
        if rng.random() < 0.25:
            words = " ".join(rng.sample(details, 5))
            add(f"{words} {rng.randint(1, 999)}", "en", (), _when(rng))
            continue
        company = rng.choice(list(PRODUCTS))
        name, zh_name, products = PRODUCTS[company]
        kind = rng.randrange(len(TEMPLATES["en"]))
        fields = {"co": name, "zco": zh_name, "prod": _product(rng, products)}
        fields["n"] = str(rng.randint(5, 995))
        detail = " ".join(rng.sample(details, 3))
        zh_detail = "，".join(rng.sample(zh_details, 3))
        start = _when(rng)
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6])):
            language = rng.choices(["en", "zh", "it", "de"], weights=[6, 2, 1, 1])[0]
            title = TEMPLATES[language][kind].format(**fields)
            title += "：" + zh_detail if language == "zh" else " " + detail
            if language == "en":
                title = rng.choice(EN_REWORDS).format(t=title)
            when = start + timedelta(minutes=rng.randint(0, 600))
            add(title, language, (company,), when)
    return articles[:count]


def _product(rng: random.Random, known: list[str]) -> str:
    """A known product a third of the time; else a model code or a name seen once or twice."""
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(known)
    if roll < 0.7:
        return (
            f"{rng.choice('ABCGHKMNPRSTXZ')}{rng.randint(10, 999)}{rng.choice(['', '', 'X', 'C'])}"
        )
    return rng.choice(SYLLABLES).capitalize() + rng.choice(SYLLABLES)


def _when(rng: random.Random) -> datetime:
    return NOW - timedelta(minutes=rng.randint(0, 72 * 60))


def _time_ms(action: Callable[[], T], runs: int) -> tuple[float, T]:
    timings: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    articles = generate(args.articles, random.Random(args.seed))
    priority = {"nvidia": 0.3, "huawei": 0.3, "tsmc": 0.2}
    names = {company: display for company, (display, _, _) in PRODUCTS.items()}

    cluster_ms, stories = _time_ms(lambda: cluster_stories(articles), args.runs)
    rank_ms, ranked = _time_ms(
        lambda: rank_stories(stories, now=NOW, company_priority=priority), args.runs
    )
    build_ms, _ = _time_ms(
        lambda: build_digest(
            ranked,
            title="ChipWire digest",
            period_start=NOW - timedelta(days=3),
            period_end=NOW,
            timezone="Europe/Rome",
            company_names=names,
            empty_note=None,
        ),
        args.runs,
    )
    multi = sum(1 for s in stories if len(s.article_ids) > 1)
    print(
        f"python {sys.version.split()[0]}; {len(articles):,} articles → {len(stories):,} stories "
        f"({multi:,} with several articles); median of {args.runs} runs"
    )
    print(f"{'cluster_stories':<16}{cluster_ms:>9.1f} ms")
    print(f"{'rank_stories':<16}{rank_ms:>9.1f} ms")
    print(f"{'build_digest':<16}{build_ms:>9.1f} ms")
    print(f"{'total':<16}{cluster_ms + rank_ms + build_ms:>9.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
