"""Search reads French and Italian elisions as the reader means them: `l'export` is `export`."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.models import Classification, FeedConfig
from bot.store.articles import search_terms
from bot.store.repo import Store
from tests.support import article, ingest

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)
CHIPS = Classification(True, 0.9, ("nvidia",), ("test",))
TEXTS = {
    1: ("Gli Stati Uniti stringono le regole sull'export dei chip", "Nuove licenze per la Cina."),
    2: ("L’Europe mise sur l’IA souveraine", "Des puces d’Intel et de Nvidia."),
    3: ("Nvidia's export licence", "The rule covers H20 accelerators."),
}


async def stored(store: Store) -> None:
    config = FeedConfig(url="https://wire.example/feed", name="Wire")
    state = await store.add_feed(config, "cli", NOW - timedelta(days=30), history=False)
    items = [
        (article(n, title=title, summary=summary, published_at=NOW - timedelta(hours=n)), CHIPS)
        for n, (title, summary) in TEXTS.items()
    ]
    await ingest(store, state, items, NOW)


async def found(store: Store, query: str) -> set[int]:
    return {int(a.url.rsplit("/", 1)[1]) for a in await store.search(query, 50)}


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ("l'export", {1, 3}),  # "sull'export" and "export": the word the reader means
        ("dell'export", {1, 3}),
        ("l’IA", {2}),  # a typographic apostrophe elides too
        ("d'Intel", {2}),
        ("export", {1, 3}),
        ("Nvidia's", {3}),  # an English possessive is not an elision: still the phrase
    ],
)
async def test_an_elided_word_is_searched_as_the_word(
    store: Store, query: str, numbers: set[int]
) -> None:
    await stored(store)
    assert await found(store, query) == numbers


def test_only_elisions_are_dropped() -> None:
    assert search_terms("l'export  d’Intel O'Neill Nvidia's qu'il") == [
        "export",
        "Intel",
        "O'Neill",
        "Nvidia's",
        "il",
    ]
    assert search_terms("l'") == ["l'"]  # nothing follows: kept as typed
