"""Company mentions kept beside the articles, and newest-first search, on SQLite and PostgreSQL."""

import random
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import select, text

from bot.models import Classification, FeedConfig
from bot.store import queries
from bot.store.migrate import alembic_config
from bot.store.repo import Store
from bot.store.schema import article_companies
from bot.store.search import newest_matches_sqlite
from tests.support import article, ingest

NOW = datetime(2026, 11, 28, 8, tzinfo=UTC)
CHIPS = Classification(True, 0.9, ("nvidia", "huawei"), ("bench",))
PHONES = Classification(False, 0.1, ("huawei",), ("bench",))


async def feed(store: Store, name: str = "Wire"):
    config = FeedConfig(url=f"https://{name.lower()}.example/feed", name=name)
    return await store.add_feed(config, "cli", NOW - timedelta(days=400), history=False)


async def mention_rows(store: Store) -> set[tuple[str, int, bool | None]]:
    query = select(
        article_companies.c.company_id, article_companies.c.article_id, article_companies.c.relevant
    )
    async with store.engine.connect() as conn:
        return {(r.company_id, r.article_id, r.relevant) for r in await conn.execute(query)}


async def ids_by_url(store: Store) -> dict[str, int]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(text("SELECT url, id FROM articles"))
        return {row.url: row.id for row in rows}


async def test_ingest_records_one_mention_per_company(store: Store) -> None:
    state = await feed(store)
    await ingest(store, state, [(article(1), CHIPS), (article(2), PHONES)], NOW)
    ids = await ids_by_url(store)
    one, two = ids["https://news.example/1"], ids["https://news.example/2"]
    assert await mention_rows(store) == {
        ("nvidia", one, True),
        ("huawei", one, True),
        ("huawei", two, False),
    }


async def test_reclassifying_replaces_the_mentions(store: Store) -> None:
    state = await feed(store)
    await ingest(store, state, [(article(1), CHIPS)], NOW)
    one = (await ids_by_url(store))["https://news.example/1"]
    await store.set_classifications([(one, Classification(True, 0.7, ("amd",), ("x",)))])
    assert await mention_rows(store) == {("amd", one, True)}


async def test_deleting_an_article_deletes_its_mentions(store: Store) -> None:
    state = await feed(store)
    await ingest(store, state, [(article(1), CHIPS), (article(2), PHONES)], NOW)
    async with store.engine.begin() as conn:
        await conn.execute(text("DELETE FROM articles WHERE url = 'https://news.example/1'"))
    assert {company for company, _, _ in await mention_rows(store)} == {"huawei"}


async def test_a_future_date_is_clamped_to_when_the_entry_was_first_seen(store: Store) -> None:
    state = await feed(store)
    await ingest(store, state, [(article(1, published_at=NOW + timedelta(days=3)), CHIPS)], NOW)
    (stored,) = await store.search("Story")
    assert stored.published_at == NOW


async def fill_in_publication_order(store: Store, count: int) -> dict[int, datetime]:
    """`count` articles, every third about lithography, stored in batches as a bot stores them."""
    rng = random.Random(5)
    state = await feed(store)
    published = {n: NOW - timedelta(hours=count - n + rng.uniform(0, 3)) for n in range(count)}
    for start in range(0, count, 10):
        batch = range(start, min(count, start + 10))
        items = [
            (
                article(
                    n,
                    title=f"{'Lithography' if n % 3 == 0 else 'Foundry'} story {n}",
                    published_at=published[n],
                ),
                CHIPS if n % 2 == 0 else PHONES,
            )
            for n in batch
        ]
        await ingest(store, state, items, max(published[n] for n in batch) + timedelta(minutes=5))
    return published


def expected(published: dict[int, datetime], keep, limit: int) -> list[str]:
    chosen = sorted((n for n in published if keep(n)), key=lambda n: published[n], reverse=True)
    return [f"https://news.example/{n}" for n in chosen[:limit]]


async def test_search_is_newest_first_with_filters_in_the_query(store: Store) -> None:
    published = await fill_in_publication_order(store, 90)
    found = await store.search("lithography", 7)
    assert [a.url for a in found] == expected(published, lambda n: n % 3 == 0, 7)
    about_nvidia = await store.search("lithography", 50, company="nvidia")
    assert [a.url for a in about_nvidia] == expected(published, lambda n: n % 6 == 0, 50)
    since = NOW - timedelta(hours=30)
    recent = await store.search("lithography", 50, since=since)
    assert [a.url for a in recent] == expected(
        published, lambda n: n % 3 == 0 and published[n] > since, 50
    )


async def test_sqlite_search_reading_small_chunks_finds_the_same_newest(tmp_path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'chunks.db'}")
    try:
        published = await fill_in_publication_order(store, 120)
        for chunk in (1, 2, 5):
            for company, since in (
                (None, None),
                ("nvidia", None),
                (None, NOW - timedelta(hours=50)),
            ):
                async with store.engine.connect() as conn:
                    rows = await conn.run_sync(
                        lambda c, company=company, since=since, chunk=chunk: newest_matches_sqlite(
                            c,
                            ["lithography"],
                            limit=6,
                            company=company,
                            since=since,
                            first_chunk=chunk,
                        )
                    )
                want = await store.search("lithography", 6, company=company, since=since)
                assert [r.url for r in rows] == [a.url for a in want]
        assert [a.url for a in await store.search("lithography", 6)] == expected(
            published, lambda n: n % 3 == 0, 6
        )
    finally:
        await store.close()


async def test_search_when_stored_order_says_nothing_about_dates(tmp_path) -> None:
    """A year of history stored in one go: the chunked read gives up and sorts every match."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'import.db'}")
    try:
        state = await feed(store)
        rng = random.Random(3)
        published = {n: NOW - timedelta(days=rng.uniform(1, 365)) for n in range(3000)}
        items = [
            (article(n, title=f"Lithography {n}", published_at=published[n]), CHIPS)
            for n in published
        ]
        await ingest(store, state, items, NOW)
        async with store.engine.connect() as conn:
            rows = await conn.run_sync(
                lambda c: newest_matches_sqlite(c, ["lithography"], limit=5, first_chunk=2)
            )
        assert [r.url for r in rows] == expected(published, lambda n: True, 5)
    finally:
        await store.close()


async def test_migration_0005_copies_the_mentions_of_stored_articles(store: Store) -> None:
    state = await feed(store)
    await ingest(store, state, [(article(1), CHIPS), (article(2), PHONES)], NOW)
    before = await mention_rows(store)
    async with store.engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0004"))
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
    assert await mention_rows(store) == before
    assert len(before) == 3


async def test_stories_count_once_per_company_on_their_first_utc_day(store: Store) -> None:
    state = await feed(store)
    late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    items = [
        (article(1, published_at=late), CHIPS),  # nvidia + huawei, story s1, day 26
        (article(2, published_at=late + timedelta(hours=1)), CHIPS),  # s1 again, day 27
        (article(3, published_at=late + timedelta(hours=2)), CHIPS),  # no story yet: its own
        (article(4, published_at=late + timedelta(hours=3)), PHONES),  # not relevant
        (article(5, published_at=late - timedelta(days=5)), CHIPS),  # before the window
    ]
    await ingest(store, state, items, NOW)
    ids = await ids_by_url(store)
    await store.set_story_keys([(ids[f"https://news.example/{n}"], "s1") for n in (1, 2)])
    since = datetime(2026, 11, 25, tzinfo=UTC)
    async with store.engine.connect() as conn:
        rows = await conn.run_sync(
            queries.first_day_counts,
            ["nvidia", "huawei", "amd"],
            since,
            NOW,
            min_score=0.5,
        )
    assert sorted(rows) == [
        ("huawei", "2026-11-26", 1),
        ("huawei", "2026-11-27", 1),
        ("nvidia", "2026-11-26", 1),
        ("nvidia", "2026-11-27", 1),
    ]
