"""Subjects and mentions kept apart in the store: counts read subjects, search and why show both."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.models import ABOUT, MENTIONED, Classification, FeedConfig
from bot.store.repo import Store
from bot.store.schema import article_companies
from tests.support import article, ingest

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)
BERRY = Classification(False, 0.0, (), ("meta: mentioned in passing",), (("meta", MENTIONED),))
RUBIN = Classification(
    True, 0.95, ("nvidia",), ("bench",), (("nvidia", ABOUT), ("sk-hynix", MENTIONED))
)


async def stored(store: Store) -> None:
    config = FeedConfig(url="https://wire.example/feed", name="Wire")
    state = await store.add_feed(config, "cli", NOW - timedelta(days=3), history=False)
    items = [
        (
            article(1, title="Chuck Berry dies at 90", summary="His family posted on Facebook."),
            BERRY,
        ),
        (article(2, title="Nvidia Rubin enters production", summary="HBM4 from SK Hynix."), RUBIN),
    ]
    await ingest(store, state, items, NOW)


async def test_company_counts_read_subjects_only(store: Store) -> None:
    await stored(store)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(article_companies.c.company_id))).all()
    assert sorted(r.company_id for r in rows) == ["nvidia"]  # not meta, not sk-hynix


async def test_search_and_why_read_both_saliences(store: Store) -> None:
    await stored(store)
    (berry,) = await store.search("Berry")
    assert berry.companies == ()
    assert berry.mentioned == ("meta",)
    (rubin,) = await store.search("Rubin")
    assert rubin.companies == ("nvidia",)
    assert rubin.mentions == RUBIN.mentions
    found = await store.find_article(str(rubin.id))
    assert found is not None
    assert found.mentioned == ("sk-hynix",)


async def test_reclassifying_rewrites_the_mentions(store: Store) -> None:
    await stored(store)
    (berry,) = await store.search("Berry")
    verdict = Classification(False, 0.0, ("meta",), (), (("meta", ABOUT),))
    await store.set_classifications([(berry.id, verdict)])
    (again,) = await store.search("Berry")
    assert again.companies == ("meta",)
    assert again.mentions == (("meta", ABOUT),)
