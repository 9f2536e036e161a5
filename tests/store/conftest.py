from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.repo import Store
from tests.support import open_store, postgres_available


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "postgresql":
        reason = await postgres_available()
        if reason:
            pytest.skip(reason)
    async with open_store(request.param, tmp_path) as opened:
        yield opened
