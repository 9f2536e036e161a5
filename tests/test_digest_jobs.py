"""Subscriptions changed from chat reach the running scheduler without a restart."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.jobs import DigestJobs
from bot.models import SubscriptionConfig
from bot.store import queries
from bot.store.repo import Store
from tests.support import writing

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    await opened.close()


async def subscribe(store: Store, target: str, schedule: str) -> None:
    config = SubscriptionConfig(target=target, schedule=schedule, timezone="Europe/Rome")
    async with writing(store) as conn:
        await conn.run_sync(queries.save_chat_subscription, config, NOW)


async def unsubscribe(store: Store, target: str) -> None:
    async with writing(store) as conn:
        await conn.run_sync(queries.remove_chat_subscription, target)


def digest_jobs(scheduler: AsyncIOScheduler) -> dict[str, str]:
    return {
        job.id: str(job.trigger) for job in scheduler.get_jobs() if job.id.startswith("digest-")
    }


async def test_subscribe_change_and_unsubscribe_reschedule_at_once(store: Store) -> None:
    scheduler = AsyncIOScheduler(timezone="UTC")
    running: Any = SimpleNamespace(app=SimpleNamespace(store=store))
    jobs = DigestJobs(scheduler, running)
    await jobs.refresh()  # before the scheduler starts: nothing stored, nothing fails
    assert digest_jobs(scheduler) == {}
    scheduler.start()
    try:
        await subscribe(store, "discord:1", "0 8 * * *")
        await subscribe(store, "slack:C2", "0 9 * * mon")
        await jobs.refresh()
        first = digest_jobs(scheduler)
        assert len(first) == 2
        await subscribe(store, "discord:1", "0 18 * * *")  # changed from chat
        await unsubscribe(store, "slack:C2")
        await jobs.refresh()
        [(job_id, trigger)] = digest_jobs(scheduler).items()
        assert job_id in first
        assert "hour='18'" in trigger
    finally:
        scheduler.shutdown(wait=False)
