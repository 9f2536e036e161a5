"""Stories: one event from several sources and languages is one story; different events stay apart."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.stories import (
    cluster_stories,
    events_differ,
    jaccard,
    parties_differ,
    summary_distinctive,
    title_features,
    titles_match,
)
from bot.models import DigestArticle

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def art(
    id: int,
    title: str,
    *,
    source: str,
    hours: float = 0.0,
    language: str | None = "en",
    companies: tuple[str, ...] = ("nvidia",),
    score: float = 0.8,
    sources: tuple[str, ...] = (),
) -> DigestArticle:
    return DigestArticle(
        id=id,
        url=f"https://news.example/{id}",
        title=title,
        summary=f"Summary of {title}",
        published_at=T0 + timedelta(hours=hours),
        language=language,
        source=source,
        sources=sources or (source,),
        score=score,
        companies=companies,
    )


def groups(articles: list[DigestArticle]) -> set[frozenset[int]]:
    return {frozenset(story.article_ids) for story in cluster_stories(articles)}


H20 = [
    art(11, "US tightens H20 export rules", source="ChipWire Wire", hours=1.0, score=0.9),
    art(
        7,
        "美国收紧H20级AI芯片出口规则",
        source="芯片快讯",
        hours=0.5,
        language="zh-CN",
        score=0.85,
    ),
    art(
        23,
        "Gli Stati Uniti stringono le regole sull'export dei chip di classe H20",
        source="Notizie Chip",
        hours=3.0,
        language="it",
        score=0.7,
    ),
    art(
        31,
        "USA verschärfen Exportregeln für KI-Chips der H20-Klasse",
        source="Europa Halbleiter",
        hours=5.0,
        language="de",
        score=0.75,
    ),
]


def test_h20_in_four_languages_from_four_feeds_is_one_story_with_four_sources() -> None:
    (story,) = cluster_stories(H20)
    assert story.key == "a7"
    assert story.article_ids == (7, 11, 23, 31)
    assert story.title == "US tightens H20 export rules"  # the lead: highest score
    assert story.url == "https://news.example/11"
    assert story.language == "en"
    assert story.published_at == T0 + timedelta(hours=0.5)  # the earliest
    assert story.score == 0.9
    assert story.sources == ("ChipWire Wire", "芯片快讯", "Notizie Chip", "Europa Halbleiter")
    assert story.companies == ("nvidia",)


def test_h20_story_survives_any_input_order() -> None:
    expected = cluster_stories(H20)
    for seed in range(10):
        shuffled = H20[:]
        random.Random(seed).shuffle(shuffled)
        assert cluster_stories(shuffled) == expected


SYNDICATED = [
    art(
        101,
        "Nvidia to launch cheaper Blackwell AI chip for China, sources say",
        source="Wire A",
        hours=0,
    ),
    art(
        102,
        "Nvidia to launch cheaper Blackwell AI chip for China - sources",
        source="Wire B",
        hours=0.2,
    ),
    art(
        103,
        "Exclusive: Nvidia to launch cheaper Blackwell AI chip for China after US export curbs",
        source="Tech Daily",
        hours=1,
    ),
    art(
        104,
        "Nvidia plans cheaper Blackwell AI chip for China, sources say",
        source="Market Watcher",
        hours=2,
    ),
    art(
        105,
        "Nvidia to launch cheaper Blackwell AI chip for China, report says",
        source="Silicon Daily",
        hours=6,
    ),
]


def test_one_story_from_five_sources_is_one_entry_with_five_sources() -> None:
    (story,) = cluster_stories(SYNDICATED)
    assert story.article_ids == (101, 102, 103, 104, 105)
    assert len(story.sources) == 5
    assert story.sources[0] == "Wire A"  # equal scores: the earliest leads


def test_one_url_carried_by_five_feeds_counts_five_sources() -> None:
    feeds = ("Silicon Daily", "ChipWire Wire", "Tech Daily", "Wire A", "Wire B")
    (story,) = cluster_stories(
        [art(5, "TSMC begins 2nm mass production", source=feeds[0], sources=feeds)]
    )
    assert story.sources == feeds


def test_tracking_param_duplicate_counts_both_sources() -> None:
    # ?utm_source=... was stripped at ingest: one article, two feeds.
    merged = art(
        40,
        "SMIC quarterly revenue rises on AI chip demand",
        source="Silicon Daily",
        sources=("Silicon Daily", "ChipWire Wire"),
        companies=("smic",),
    )
    other = art(
        41,
        "SMIC revenue rises as AI chip demand grows, says co-CEO",
        source="Tech Daily",
        hours=2,
        companies=("smic",),
    )
    (story,) = cluster_stories([merged, other])
    assert story.sources == ("Silicon Daily", "ChipWire Wire", "Tech Daily")
    assert story.article_ids == (40, 41)


def test_different_same_day_stories_stay_apart() -> None:
    articles = [
        *H20,
        art(50, "Nvidia to ship B30A to China", source="Wire A", hours=2),
        art(52, "Nvidia reports record quarterly revenue", source="Wire A", hours=4),
        art(53, "Nvidia shares fall as investors weigh China risk", source="Wire B", hours=4),
        art(54, "英伟达市值突破五万亿美元", source="芯片快讯", language="zh", hours=3),
        art(55, "Nvidia unveils Rubin CPX for long-context inference", source="Wire A", hours=3),
        art(
            56,
            "Alibaba unveils new AI chip for inference",
            source="Wire A",
            hours=1,
            companies=("alibaba",),
        ),
        art(
            57,
            "Baidu unveils new AI chip for inference",
            source="Wire B",
            hours=1,
            companies=("baidu",),
        ),
        art(58, "Nvidia to invest in Intel", source="Wire A", companies=("nvidia", "intel")),
        art(59, "Nvidia to invest in OpenAI", source="Wire B", companies=("nvidia", "openai")),
    ]
    singles = {frozenset({k}) for k in (50, 52, 53, 54, 55, 56, 57, 58, 59)}
    assert groups(articles) == {frozenset({7, 11, 23, 31}), *singles}


def test_model_codes_that_differ_veto_similar_titles() -> None:
    articles = [
        art(62, "Nvidia to ship B30A to China", source="Wire A"),
        art(63, "Nvidia to ship H20 to China", source="Wire B", hours=1),
    ]
    assert groups(articles) == {frozenset({62}), frozenset({63})}


def test_two_english_items_sharing_only_a_model_code_stay_apart() -> None:
    articles = [
        art(60, "Nvidia H20 sales to China resume", source="Wire A"),
        art(61, "Chinese regulators question Nvidia over H20 security risks", source="Wire B"),
    ]
    assert groups(articles) == {frozenset({60}), frozenset({61})}


def test_same_language_rewording_with_shared_model_code_is_one_story() -> None:
    articles = [
        art(70, "AMD unveils MI400 accelerators at Advancing AI", source="A", companies=("amd",)),
        art(
            71,
            "AMD shows off MI400 accelerator at Advancing AI event",
            source="B",
            hours=3,
            companies=("amd",),
        ),
    ]
    assert groups(articles) == {frozenset({70, 71})}


def test_numbers_link_across_languages_whatever_their_separators() -> None:
    articles = [
        art(
            80,
            "Cambricon wins order for 30,000 AI accelerators",
            source="Wire A",
            companies=("cambricon",),
        ),
        art(
            81,
            "Cambricon, ordine da 30.000 acceleratori per l'AI",
            source="Notizie Chip",
            language="it",
            hours=4,
            companies=("cambricon",),
        ),
        art(
            82,
            "Ant Group cuts AI training costs by 20% with Chinese chips",
            source="Wire A",
            companies=("ant-group",),
        ),
        art(
            83,
            "蚂蚁集团用国产芯片训练AI模型，成本降低20%",
            source="芯片快讯",
            language="zh",
            hours=2,
            companies=("ant-group",),
        ),
    ]
    assert groups(articles) == {frozenset({80, 81}), frozenset({82, 83})}


def test_cross_language_needs_close_company_sets_and_48_hours() -> None:
    en = art(90, "US tightens H20 export rules", source="Wire A")
    zh_other_companies = art(
        91,
        "美国收紧H20级AI芯片出口规则",
        source="芯片快讯",
        language="zh",
        hours=1,
        companies=("nvidia", "huawei", "smic"),  # Jaccard 1/3 with ("nvidia",)
    )
    zh_late = art(92, "美国收紧H20级AI芯片出口规则", source="芯片快讯", language="zh", hours=50)
    assert groups([en, zh_other_companies]) == {frozenset({90}), frozenset({91})}
    assert groups([en, zh_late]) == {frozenset({90}), frozenset({92})}


def test_year_alone_links_nothing() -> None:
    articles = [
        art(93, "Huawei Ascend roadmap to 2028", source="A", companies=("huawei",)),
        art(
            94,
            "华为2028年前将推出新款AI服务器",
            source="B",
            language="zh",
            companies=("huawei",),
        ),
    ]
    assert len(groups(articles)) == 2


def test_near_duplicate_titles_need_48_hours() -> None:
    first = art(95, "Intel delays Falcon Shores AI chip to next year", source="A")
    again = art(96, "Intel delays Falcon Shores AI chip to next year", source="B", hours=47)
    late = art(97, "Intel delays Falcon Shores AI chip to next year", source="C", hours=50)
    assert groups([first, again]) == {frozenset({95, 96})}
    assert groups([first, late]) == {frozenset({95}), frozenset({97})}


def test_links_chain_through_a_third_article() -> None:
    # en ↔ zh by the model code, zh ↔ zh by title: all three are one story.
    articles = [
        art(1, "Huawei to mass-ship Ascend 910C in May", source="A", companies=("huawei",)),
        art(
            2,
            "华为昇腾910C将于五月大规模出货",
            source="B",
            language="zh",
            hours=1,
            companies=("huawei",),
        ),
        art(
            3,
            "华为昇腾910C五月大规模出货",
            source="C",
            language="zh",
            hours=2,
            companies=("huawei",),
        ),
    ]
    assert groups(articles) == {frozenset({1, 2, 3})}


def test_lead_is_highest_score_then_earliest_and_key_is_smallest_id() -> None:
    articles = [
        art(12, "TSMC raises 2026 capex on AI demand", source="Late", hours=2, score=0.9),
        art(30, "TSMC raises 2026 capex on AI demand", source="Early", hours=0, score=0.9),
        art(4, "TSMC raises 2026 capex on AI demand, report", source="Low", hours=1, score=0.5),
    ]
    (story,) = cluster_stories(articles)
    assert story.key == "a4"
    assert story.sources == ("Early", "Low", "Late")
    assert story.url == "https://news.example/30"
    assert story.score == 0.9


def test_companies_are_the_union_lead_first() -> None:
    articles = [
        art(1, "Nvidia and TSMC expand CoWoS capacity for AI", source="A", companies=("nvidia",)),
        art(
            2,
            "Nvidia and TSMC expand CoWoS capacity for AI chips",
            source="B",
            hours=1,
            score=0.95,
            companies=("tsmc", "nvidia"),
        ),
    ]
    (story,) = cluster_stories(articles)
    assert story.companies == ("tsmc", "nvidia")


def test_stories_come_out_earliest_first() -> None:
    stories = cluster_stories([*SYNDICATED, *H20])
    assert [s.key for s in stories] == ["a101", "a7"]
    assert cluster_stories([]) == []


def test_title_features() -> None:
    zh = title_features("美国收紧H20级AI芯片出口规则")
    assert {"美国", "收紧", "h20", "芯片", "出口", "ai"} <= zh.tokens
    assert zh.distinctive == {"h20"}
    it = title_features("Ordine da 30.000 chip, il 20% in più; 1,5 miliardi nel 2026")
    assert {"30000", "20"} <= it.distinctive
    assert "2026" not in it.distinctive
    assert "1.5" not in it.distinctive
    assert "30000" in title_features("order for 30,000 chips").distinctive
    codes = title_features("Intel 18A, HBM4 and MI400 on 3nm with 80GB — $NVDA, NASDAQ: AMD")
    assert codes.codes == {"18a", "hbm4", "mi400"}
    assert {"$nvda", "$amd"} <= codes.distinctive
    assert "the" not in title_features("The chip of the year").tokens


def test_jaccard() -> None:
    a = title_features("Nvidia to launch cheaper Blackwell AI chip for China").tokens
    b = title_features("Nvidia plans cheaper Blackwell AI chip for China").tokens
    assert jaccard(a, b) == 6 / 8
    assert jaccard(frozenset(), frozenset()) == 0.0


def test_many_identical_titles_stay_fast_and_one_story() -> None:
    articles = [
        art(k, "Nvidia H20 export rules tightened", source=f"feed {k % 40}", hours=k / 200)
        for k in range(3000)
    ]
    (story,) = cluster_stories(articles)
    assert len(story.sources) == 40


# --- the fast paths agree with the rules applied to every pair ---------------------------------

WORDS = [
    "Nvidia", "Huawei", "TSMC", "chip", "AI", "export", "rules", "China", "US", "H20", "B30A",
    "910C", "MI400", "18A", "20%", "30,000", "30.000", "launch", "cheaper", "Blackwell", "Ascend",
    "revenue", "record", "shares", "fall", "芯片", "出口", "美国收紧", "华为昇腾", "regole",
    "Exportregeln", "KI-Chips", "2026", "$NVDA", "3nm",
]  # fmt: skip


def _language_key(language: str | None) -> str | None:
    return language.split("-")[0].casefold() if language else None


def _linked(a: DigestArticle, b: DigestArticle) -> bool:
    """The module docstring's rules, for one pair."""
    fa, fb = title_features(a.title), title_features(b.title)
    gap = abs(a.published_at - b.published_at)
    compatible = not a.companies or not b.companies or bool(set(a.companies) & set(b.companies))
    if gap <= timedelta(hours=48) and compatible and titles_match(fa, fb):
        return True
    same_language = _language_key(a.language) == _language_key(b.language) is not None
    cross_a = fa.distinctive | summary_distinctive(a.summary)
    cross_b = fb.distinctive | summary_distinctive(b.summary)
    return (
        bool(a.companies)
        and bool(b.companies)
        and jaccard(frozenset(a.companies), frozenset(b.companies)) >= 0.5
        and gap <= timedelta(hours=48)
        and bool(cross_a & cross_b)
        and not events_differ(fa, fb)
        and (
            not same_language
            or (jaccard(fa.tokens, fb.tokens) >= 0.3 and not parties_differ(fa, fb))
        )
    )


def _partition_by_pairs(articles: list[DigestArticle]) -> set[frozenset[int]]:
    parent = {a.id: a.id for a in articles}

    def find(item: int) -> int:
        while parent[item] != item:
            item = parent[item]
        return item

    for k, a in enumerate(articles):
        for b in articles[k + 1 :]:
            if _linked(a, b):
                parent[find(a.id)] = find(b.id)
    groups: dict[int, set[int]] = {}
    for a in articles:
        groups.setdefault(find(a.id), set()).add(a.id)
    return {frozenset(group) for group in groups.values()}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=7).map(" ".join),
            st.sampled_from(["en", "en-US", "zh", "it", "de", None]),
            st.lists(st.sampled_from(["nvidia", "huawei", "tsmc"]), max_size=2, unique=True),
            st.integers(min_value=0, max_value=96),
        ),
        max_size=30,
    )
)
def test_clusters_equal_the_rules_applied_to_every_pair(
    rows: list[tuple[str, str | None, list[str], int]],
) -> None:
    articles = [
        art(k + 1, title, source=f"feed {k % 3}", hours=hours, language=lang, companies=tuple(cos))
        for k, (title, lang, cos, hours) in enumerate(rows)
    ]
    assert groups(articles) == _partition_by_pairs(articles)
    assert cluster_stories(articles[::-1]) == cluster_stories(articles)


def test_assigned_stories_are_built_as_clustering_builds_them() -> None:
    from dataclasses import replace

    from bot.digest.stories import stories_of

    articles = [
        art(1, "Nvidia ships H20 accelerators to Chinese clouds", source="Wire"),
        art(2, "Nvidia ships H20 accelerators to Chinese clouds", source="Daily", hours=1),
        art(
            3,
            "TSMC posts record revenue",
            source="Daily",
            companies=("tsmc",),
            sources=("Daily", "Wire"),
        ),
    ]
    clustered = cluster_stories(articles)
    keys = {a: s.key for s in clustered for a in s.article_ids}
    assigned = [replace(a, story=keys[a.id]) for a in articles]
    assert stories_of(assigned) == clustered
    assert stories_of(articles) == clustered  # nothing assigned yet: clustered on the spot


# --- issue 13: distinct events from one source stay apart -----------------------------------


def test_the_issues_distinct_events_from_one_source_stay_apart() -> None:
    pairs = [
        ("Nvidia stock rises 3% on Monday", "Nvidia stock falls 4% on Tuesday", ("nvidia",)),
        ("AMD MI355X wins Oracle cloud order", "AMD MI355X wins Microsoft Azure order", ("amd",)),
        ("TSMC October revenue rises 17%", "TSMC November revenue rises 12%", ("tsmc",)),
        ("TSMC October revenue hits record", "TSMC November revenue hits record", ("tsmc",)),
        ("Samsung HBM4 passes Nvidia qualification", "Samsung HBM4 fails Nvidia qualification", ()),
        ("QEMU version 10.1.0 released", "QEMU version 10.0.0 released", ()),
        ("Le azioni Nvidia salgono lunedì", "Le azioni Nvidia scendono lunedì", ("nvidia",)),
    ]
    for k, (first, second, companies) in enumerate(pairs):
        a = art(2 * k + 1, first, source="Wire", companies=companies)
        b = art(2 * k + 2, second, source="Wire", hours=1, companies=companies)
        assert len(cluster_stories([a, b])) == 2, (first, second)


def test_the_same_event_retold_stays_one_story() -> None:
    a = art(1, "Nvidia stock rises 13% as analysts lift targets", source="Wire A")
    b = art(2, "Nvidia stock rises 13% after analysts lift price targets", source="Wire B", hours=2)
    c = art(3, "Le azioni Nvidia salgono del 13%", source="Notizie", language="it", hours=3)
    assert groups([a, b, c]) == {frozenset({1, 2, 3})}


def test_events_differ_reads_numbers_directions_and_dates() -> None:
    def differ(a: str, b: str) -> bool:
        return events_differ(title_features(a), title_features(b))

    assert differ("GTAC 2017 registration is open", "GTAC 2016 registration deadline")
    assert differ("Nvidia-Aktie steigt", "Nvidia-Aktie fällt")
    assert differ("台积电10月营收创新高", "台积电11月营收创新高")
    assert differ("iOS beta removes Pencil navigation", "Apple restores Pencil navigation")
    assert not differ("Nvidia stock rises 3%", "Nvidia shares up 3% on AI demand")
    assert not differ("TSMC revenue hits record", "TSMC posts record revenue in October")


def test_a_translated_event_joins_on_names_in_the_summary() -> None:
    """No code in either title: the brands and model codes of the summaries join them."""
    en = replace(
        art(1, "Ant Group says Chinese-made chips carry its training", source="Wire"),
        summary="Trained on Alibaba's T-Head and Huawei Ascend parts, cheaper than Nvidia H800s.",
        companies=("ant-group",),
    )
    es = replace(
        art(2, "Ant Group entrena sus modelos con chips chinos", source="Europa", language="es"),
        summary="Con aceleradores de T-Head y Huawei Ascend, un 20 % más barato que H800.",
        companies=("ant-group",),
        published_at=en.published_at + timedelta(hours=30),
    )
    assert groups([en, es]) == {frozenset({1, 2})}


def test_titles_that_open_with_different_subjects_are_two_stories_in_any_case_style() -> None:
    corporation = art(
        201, "Corporation Bank bags MSME Banking Excellence Awards", source="A", companies=()
    )
    karnataka = art(
        202, "KARNATAKA BANK BAGS MSME BANKING EXCELLENCE AWARDS", source="B", companies=()
    )
    assert groups([corporation, karnataka]) == {frozenset({201}), frozenset({202})}
    shouted = art(203, "CORPORATION BANK BAGS MSME BANKING AWARDS", source="C", companies=())
    assert groups([corporation, shouted]) == {frozenset({201, 203})}
    chinese = [
        art(204 + k, "美国收紧 H20 出口规则", source=f"S{k}", companies=()) for k in range(2)
    ]
    assert groups(chinese) == {frozenset({204, 205})}
