"""The commands that read company mentions and charts answer alike on SQLite and PostgreSQL."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.classify.catalog import load_catalog
from bot.commands.messages import Command, Reply
from bot.commands.table import Context, dispatch, make_context
from tests.commands.test_charts import NOW, seed
from tests.commands.test_commands import settings_for
from tests.support import open_store, postgres_available


@pytest.fixture(params=["sqlite", "postgresql"])
async def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Context]:
    if request.param == "postgresql":
        reason = await postgres_available()
        if reason:
            pytest.skip(reason)
    async with open_store(request.param, tmp_path) as store:
        await seed(store)
        yield make_context(store, load_catalog(), lambda: NOW, settings_for(tmp_path))


async def run(ctx: Context, text: str) -> Reply:
    name, *args = text.split()
    return await dispatch(ctx, Command(name, tuple(args), "console", "tester", False))


def ids(reply: Reply) -> list[str]:
    return [dict(card.fields)["id"] for card in reply.cards]


async def test_company_latest_search_and_trend_agree_across_stores(ctx: Context) -> None:
    card = await run(ctx, "company nvidia")
    assert "Mentions: 5 in the last 7 days, 0 in the 7 before (new this week)" in card.lines
    assert "Top sources: Wire (3), Xinpian (2)" in card.lines
    latest = await run(ctx, "latest nvidia 10")
    assert ids(latest) == ["#6", "#3", "#5", "#2", "#1", "#8"]  # newest first; #7 is phones
    found = await run(ctx, "search Story nvidia 7")
    assert ids(found) == ["#6", "#3", "#5", "#2", "#1"]  # #8 is 40 days old
    trend = await run(ctx, "trend nvidia huawei 7")
    assert trend.lines[1] == "Totals: Nvidia 5 · Huawei 2."
    assert trend.attachment is not None
    assert trend.attachment.data.startswith(b"\x89PNG")
