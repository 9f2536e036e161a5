"""Search finds Chinese, Japanese and Korean words inside longer runs, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text

from bot.models import Classification, FeedConfig
from bot.store.cjk import has_cjk, index_text, query_grams
from bot.store.migrate import alembic_config
from bot.store.repo import Store
from tests.support import article, ingest

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)
CHIPS = Classification(True, 0.9, ("huawei",), ("test",))

# Real-looking headlines: the words sit inside runs with no spaces, as Chinese is written.
TEXTS = {
    1: ("华为发布新一代昇腾芯片", "华为周四在深圳发布了新的人工智能处理器。"),
    2: ("英伟达H20芯片对华出口受限", "美国商务部收紧了对英伟达的出口许可。"),
    3: ("台积电十月营收创新高", "受人工智能需求推动，先进制程产能满载。"),
    4: ("Nvidia results beat estimates", "英伟达第三季度数据中心收入大增，芯片供不应求。"),
    5: ("ソフトバンク、半導体に投資", "エヌビディアの新型GPUを採用する。"),
    6: ("삼성전자 HBM 공급 확대", "삼성전자는 엔비디아에 고대역폭메모리를 공급한다."),
    7: ("Huawei unveils Ascend chips", "Shares rose in Shenzhen."),
}


async def stored(store: Store) -> dict[int, int]:
    config = FeedConfig(url="https://wire.example/feed", name="Wire")
    state = await store.add_feed(config, "cli", NOW - timedelta(days=30), history=False)
    items = [
        (article(n, title=title, summary=summary, published_at=NOW - timedelta(hours=n)), CHIPS)
        for n, (title, summary) in TEXTS.items()
    ]
    await ingest(store, state, items, NOW)
    async with store.engine.connect() as conn:
        rows = await conn.execute(text("SELECT url, id FROM articles"))
        return {int(row.url.rsplit("/", 1)[1]): row.id for row in rows}


async def found(store: Store, query: str) -> set[int]:
    return {int(a.url.rsplit("/", 1)[1]) for a in await store.search(query, 50)}


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ("华为", {1}),
        ("芯片", {1, 2, 4}),
        ("英伟达", {2, 4}),
        ("伟达", {2, 4}),  # the tail of a word inside a run
        ("营收创新高", {3}),
        ("H20芯片", {2}),  # Latin and CJK in one term
        ("华", {1, 2}),  # one character (华为, 对华)
        ("高", {3}),  # one character ending a run
        ("芯片 出口", {2}),  # every term must match
        ("英伟达 Nvidia", {4}),
        ("半導体", {5}),
        ("삼성전자", {6}),
        ("엔비디아에", {6}),
        ("华为芯片", set()),  # not a substring of any article
        ("Huawei", {7}),  # words still match as words
    ],
)
async def test_cjk_words_are_found_inside_longer_runs(
    store: Store, query: str, numbers: set[int]
) -> None:
    await stored(store)
    assert await found(store, query) == numbers


async def test_cjk_search_keeps_the_company_filter_and_newest_first(store: Store) -> None:
    await stored(store)
    assert [a.title for a in await store.search("芯片", 2)] == [TEXTS[1][0], TEXTS[2][0]]
    assert await store.search("芯片", 5, company="nvidia") == []
    assert len(await store.search("芯片", 5, company="huawei")) == 3


async def test_deleting_an_article_drops_it_from_cjk_search(store: Store) -> None:
    ids = await stored(store)
    async with store.engine.begin() as conn:
        await conn.execute(text("DELETE FROM articles WHERE id = :id"), {"id": ids[1]})
    assert await found(store, "华为") == set()
    assert await found(store, "芯片") == {2, 4}


async def test_migration_0006_indexes_the_articles_already_stored(store: Store) -> None:
    await stored(store)
    async with store.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0005"))
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
    assert await found(store, "华为") == {1}
    assert await found(store, "英伟达") == {2, 4}


def test_runs_are_indexed_as_pairs_and_their_last_character() -> None:
    assert index_text("英伟达H20") == " 英伟 伟达 达 H20"
    assert index_text("no cjk here") == "no cjk here"
    assert has_cjk("AI芯片")
    assert not has_cjk("AI chips, café")


def test_a_query_run_is_spelled_as_indexed_where_the_term_bounds_it() -> None:
    assert query_grams("英伟达").phrase == "英伟 伟达"
    assert query_grams("英伟达H20").phrase == "英伟 伟达 达 H20"
    one = query_grams("股")
    assert (one.phrase, one.prefix) == ("股", True)
    assert query_grams("华为，").phrase == "华为"
