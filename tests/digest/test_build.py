"""Digest: ranking, sections, every story once, and the empty period."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.build import (
    OTHER_HEADING,
    TOP_HEADING,
    build_digest,
    rank_score,
    rank_stories,
)
from bot.digest.stories import cluster_stories
from bot.models import Digest, DigestArticle, Story

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
NAMES = {
    "nvidia": "Nvidia",
    "huawei": "Huawei",
    "tsmc": "TSMC",
    "amd": "AMD",
    "ant-group": "Ant Group",
    "smic": "SMIC",
}


def story(
    key: str,
    *,
    score: float = 0.8,
    hours_ago: float = 1.0,
    sources: int = 1,
    companies: tuple[str, ...] = ("nvidia",),
) -> Story:
    number = int(key.removeprefix("a"))
    return Story(
        key=key,
        title=f"Story {key}",
        summary=f"One line about {key}.",
        url=f"https://news.example/{key}",
        published_at=NOW - timedelta(hours=hours_ago),
        language="en",
        companies=companies,
        score=score,
        sources=tuple(f"feed {k}" for k in range(sources)),
        article_ids=(number,),
    )


NOTE = "Nothing new in AI chips since the last digest."


def build(
    stories: Sequence[Story],
    *,
    top_n: int = 5,
    per_company: int = 5,
    followed: Sequence[str] = (),
    empty_note: str | None = NOTE,
) -> Digest:
    return build_digest(
        stories,
        title="ChipWire digest — Mon 30 Nov 2026",
        period_start=NOW - timedelta(days=1),
        period_end=NOW,
        timezone="Europe/Rome",
        company_names=NAMES,
        followed=followed,
        top_n=top_n,
        per_company=per_company,
        empty_note=empty_note,
    )


def keys(stories: Iterable[Story]) -> list[str]:
    return [s.key for s in stories]


def layout(digest: Digest) -> list[tuple[str, list[str]]]:
    return [(s.heading, keys(s.stories)) for s in digest.sections]


# --- ranking ---------------------------------------------------------------------------------


def test_rank_score_weights() -> None:
    fresh = story("a1", score=0.6, hours_ago=0, sources=1)
    assert math.isclose(rank_score(fresh, now=NOW), 0.6 + 0.5)
    older = story("a2", score=0.6, hours_ago=12, sources=5, companies=("huawei", "tsmc"))
    expected = 0.6 + 0.3 * math.log1p(4) + 0.5 * 0.5 + 0.2
    assert math.isclose(
        rank_score(older, now=NOW, company_priority={"tsmc": 0.2, "nvidia": 0.3}), expected
    )


def test_relevance_leads_when_all_else_is_equal() -> None:
    ranked = rank_stories([story("a1", score=0.5), story("a2", score=0.9)], now=NOW)
    assert keys(ranked) == ["a2", "a1"]


def test_more_sources_rank_higher() -> None:
    ranked = rank_stories([story("a1", sources=1), story("a2", sources=5)], now=NOW)
    assert keys(ranked) == ["a2", "a1"]


def test_fresher_ranks_higher() -> None:
    ranked = rank_stories([story("a1", hours_ago=20), story("a2", hours_ago=2)], now=NOW)
    assert keys(ranked) == ["a2", "a1"]


def test_company_priority_lifts_a_slightly_less_relevant_story() -> None:
    stories = [story("a1", score=0.8, companies=("amd",)), story("a2", score=0.7)]
    assert keys(rank_stories(stories, now=NOW)) == ["a1", "a2"]
    priority = {"nvidia": 0.3}
    assert keys(rank_stories(stories, now=NOW, company_priority=priority)) == ["a2", "a1"]


def test_a_story_from_the_future_counts_as_fresh() -> None:
    assert rank_score(story("a1", hours_ago=-3), now=NOW) == rank_score(
        story("a1", hours_ago=0), now=NOW
    )


def test_ties_break_on_later_then_key_whatever_the_input_order() -> None:
    tied = [story("a9"), story("a3"), story("a5")]
    assert keys(rank_stories(tied, now=NOW)) == ["a3", "a5", "a9"]
    assert keys(rank_stories(tied[::-1], now=NOW)) == ["a3", "a5", "a9"]
    # equal rank score (both count as fresh), different times: the later one first
    now_story = story("a1", hours_ago=0)
    ahead = story("a2", hours_ago=-2)
    assert keys(rank_stories([now_story, ahead], now=NOW)) == ["a2", "a1"]


# --- layout ----------------------------------------------------------------------------------


def test_sections_top_then_companies_by_best_story_then_other() -> None:
    ranked = [
        story("a1", companies=("nvidia",)),
        story("a2", companies=("huawei",)),
        story("a3", companies=("tsmc", "nvidia")),
        story("a4", companies=()),
        story("a5", companies=("huawei", "smic")),
        story("a6", companies=("nvidia",)),
        story("a7", companies=("smic",)),
    ]
    digest = build(ranked, top_n=2)
    assert layout(digest) == [
        (TOP_HEADING, ["a1", "a2"]),
        ("TSMC", ["a3"]),
        ("Huawei", ["a5"]),
        ("Nvidia", ["a6"]),
        ("SMIC", ["a7"]),
        (OTHER_HEADING, ["a4"]),
    ]
    assert digest.empty_note is None
    assert digest.timezone == "Europe/Rome"


def test_followed_companies_only_and_first_followed_mention() -> None:
    ranked = [
        story("a1", companies=("nvidia",)),
        story("a2", companies=("tsmc", "huawei")),
        story("a3", companies=("amd",)),
        story("a4", companies=("nvidia", "huawei")),
    ]
    digest = build(ranked, top_n=1, followed=("huawei", "nvidia"))
    assert layout(digest) == [
        (TOP_HEADING, ["a1"]),
        ("Huawei", ["a2"]),
        ("Nvidia", ["a4"]),
        (OTHER_HEADING, ["a3"]),
    ]


def test_unknown_company_is_headed_by_its_id() -> None:
    digest = build([story("a1", companies=("cerebras",))], top_n=0)
    assert [s.heading for s in digest.sections] == ["cerebras"]


def test_caps_drop_stories_but_never_move_or_repeat_them() -> None:
    ranked = [story(f"a{k}", companies=("nvidia",)) for k in range(1, 10)]
    ranked.append(story("a10", companies=()))
    ranked.append(story("a11", companies=()))
    digest = build(ranked, top_n=3, per_company=2)
    assert layout(digest) == [
        (TOP_HEADING, ["a1", "a2", "a3"]),
        ("Nvidia", ["a4", "a5"]),
        (OTHER_HEADING, ["a10", "a11"]),
    ]
    assert digest.left_out == 4  # a6 … a9


def test_no_top_section_when_top_n_is_zero() -> None:
    digest = build([story("a1"), story("a2", companies=("amd",))], top_n=0)
    assert [s.heading for s in digest.sections] == ["Nvidia", "AMD"]


def test_empty_period_gives_the_note_or_nothing() -> None:
    digest = build([])
    assert digest.sections == ()
    assert digest.empty_note == NOTE
    assert digest.period_end == NOW
    silent = build([], empty_note=None)
    assert silent.sections == ()
    assert silent.empty_note is None


def test_h20_in_four_languages_is_one_entry_with_four_sources_in_the_digest() -> None:
    def article(id: int, title: str, source: str, language: str, minutes: int) -> DigestArticle:
        return DigestArticle(
            id=id,
            url=f"https://news.example/{id}",
            title=title,
            summary="Washington narrows what Nvidia may sell to China.",
            published_at=NOW - timedelta(hours=6) + timedelta(minutes=minutes),
            language=language,
            source=source,
            sources=(source,),
            score=0.9,
            companies=("nvidia",),
        )

    articles = [
        article(1, "US tightens H20 export rules", "ChipWire Wire", "en", 0),
        article(2, "美国收紧H20级AI芯片出口规则", "芯片快讯", "zh", 20),
        article(3, "Gli Stati Uniti stringono le regole sull'export dei chip di classe H20", "Notizie Chip", "it", 40),
        article(4, "USA verschärfen Exportregeln für KI-Chips der H20-Klasse", "Europa Halbleiter", "de", 60),
        article(5, "TSMC begins 2nm mass production", "Silicon Daily", "en", 30),
    ]  # fmt: skip
    stories = cluster_stories(articles)
    digest = build(rank_stories(stories, now=NOW), top_n=5)
    (top,) = digest.sections
    assert keys(top.stories) == ["a1", "a5"]  # four sources outrank one
    assert len(top.stories[0].sources) == 4


# --- property: cluster → rank → build ---------------------------------------------------------

WORDS = [
    "Nvidia", "Huawei", "TSMC", "AMD", "chip", "AI", "export", "rules", "China", "US", "H20",
    "910C", "MI400", "HBM4", "18A", "20%", "30,000", "30.000", "launch", "cheaper", "Blackwell",
    "Ascend", "revenue", "record", "shares", "fall", "芯片", "出口", "美国收紧", "华为昇腾",
    "regole", "Exportregeln", "KI-Chips", "2026",
]  # fmt: skip
COMPANIES = ["nvidia", "huawei", "tsmc", "amd"]

articles_strategy = st.lists(
    st.tuples(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join),
        st.sampled_from(["en", "zh", "it", "de", None]),
        st.lists(st.sampled_from(COMPANIES), max_size=3, unique=True).map(tuple),
        st.integers(min_value=0, max_value=72 * 60),
        st.floats(min_value=0, max_value=1),
        st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=1, max_size=3, unique=True),
    ),
    max_size=40,
)


Row = tuple[str, str | None, tuple[str, ...], int, float, list[str]]


def make_articles(rows: list[Row]) -> list[DigestArticle]:
    return [
        DigestArticle(
            id=k + 1,
            url=f"https://news.example/{k + 1}",
            title=title,
            summary="",
            published_at=NOW - timedelta(minutes=minutes),
            language=language,
            source=feeds[0],
            sources=tuple(feeds),
            score=score,
            companies=companies,
        )
        for k, (title, language, companies, minutes, score, feeds) in enumerate(rows)
    ]


@settings(max_examples=200, deadline=None)
@given(
    rows=articles_strategy,
    top_n=st.integers(min_value=0, max_value=6),
    per_company=st.integers(min_value=1, max_value=4),
    followed=st.lists(st.sampled_from(COMPANIES), max_size=2, unique=True),
)
def test_every_story_at_most_once_and_in_rank_order(
    rows: list[Row],
    top_n: int,
    per_company: int,
    followed: list[str],
) -> None:
    articles = make_articles(rows)
    stories = cluster_stories(articles)
    # stories partition the articles
    ids = sorted(i for s in stories for i in s.article_ids)
    assert ids == [a.id for a in articles]
    ranked = rank_stories(stories, now=NOW, company_priority={"nvidia": 0.3})
    position = {s.key: k for k, s in enumerate(ranked)}
    assert len(position) == len(ranked)

    capped = build(ranked, top_n=top_n, per_company=per_company, followed=followed)
    shown = keys(capped.stories)
    assert len(shown) == len(set(shown))
    assert len(shown) + capped.left_out == len(ranked)  # each story shown or counted as left out
    assert set(shown) <= set(position)
    for section in capped.sections:
        assert section.stories
        assert len(section.stories) <= (top_n if section.heading == TOP_HEADING else per_company)
        order = [position[s.key] for s in section.stories]
        assert order == sorted(order)
    if ranked and top_n:
        top = capped.sections[0]
        assert top.heading == TOP_HEADING
        assert keys(top.stories) == keys(ranked[:top_n])
    if not ranked:
        assert capped.sections == ()

    roomy = build(ranked, top_n=top_n, per_company=len(ranked) + 1, followed=followed)
    assert sorted(keys(roomy.stories)) == sorted(position)
