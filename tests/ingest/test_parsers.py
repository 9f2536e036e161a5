"""Parsing on worker processes: lazy start, recovery from a dead worker, classification switch."""

import signal
from datetime import UTC, datetime

import psutil

from bot.ingest.jobs import ClassifierSpec, ParseJob
from bot.ingest.parsers import InlineParser, PoolParser
from tests.feedserver import rss

FEED = rss(
    ("g1", "https://n.example/1", "Nvidia ships H20 accelerators to Chinese clouds")
).encode()


def job(body: bytes = FEED) -> ParseJob:
    return ParseJob(
        body=body,
        content_type="application/rss+xml",
        base_url="https://feeds.example/rss",
        source="Test",
        declared_language="en",
        first_seen=datetime(2026, 11, 20, tzinfo=UTC),
    )


async def test_the_pool_starts_no_process_until_there_is_work() -> None:
    before = len(psutil.Process().children(recursive=True))
    parser = PoolParser(2, ClassifierSpec())
    try:
        assert len(psutil.Process().children(recursive=True)) == before
        output = await parser.parse(job())
        assert [item.title for item in output.items] == [
            "Nvidia ships H20 accelerators to Chinese clouds"
        ]
    finally:
        parser.close()


def pool_workers() -> list[psutil.Process]:
    """Workers are forked by the multiprocessing forkserver, a child of this process."""
    servers = [
        p
        for p in psutil.Process().children()
        if "multiprocessing.forkserver" in " ".join(p.cmdline())
    ]
    return [worker for server in servers for worker in server.children()]


async def test_a_killed_worker_is_replaced_and_the_job_still_done() -> None:
    parser = PoolParser(1, ClassifierSpec(enabled=False))
    try:
        await parser.parse(job())
        victims = pool_workers()
        assert victims
        for victim in victims:
            victim.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=5)
        output = await parser.parse(job())
        assert output.error is None
        assert len(output.items) == 1
        assert {w.pid for w in pool_workers()}.isdisjoint(v.pid for v in victims)
    finally:
        parser.close()


async def test_classification_can_be_switched_off() -> None:
    on = await InlineParser(ClassifierSpec()).parse(job())
    assert on.items[0].relevant is True
    assert on.items[0].companies == '["nvidia"]'
    off = await InlineParser(ClassifierSpec(enabled=False)).parse(job())
    assert (off.items[0].relevant, off.items[0].companies) == (None, None)


async def test_the_worker_hashes_the_body_when_the_caller_did_not() -> None:
    import hashlib

    output = await InlineParser().parse(job())
    assert output.body_hash == hashlib.sha256(FEED).hexdigest()
