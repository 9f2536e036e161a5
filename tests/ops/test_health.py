"""The health and metrics endpoint, served for real on a loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.models import PollOutcome
from bot.ops import health
from bot.ops.health import HealthReport, bound_port, health_app, serve
from bot.ops.metrics import Metrics, poll_result

POLLED = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
DIGESTED = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

HEALTHY = HealthReport(
    store_ok=True, scheduler_running=True, last_poll_at=POLLED, last_digest_at=DIGESTED
)

ClientFactory = Callable[[HealthReport | Exception, Metrics], Awaitable[TestClient]]


def answering(report: HealthReport | Exception) -> Callable[[], Awaitable[HealthReport]]:
    async def check() -> HealthReport:
        if isinstance(report, Exception):
            raise report
        return report

    return check


@pytest.fixture
async def client() -> AsyncIterator[ClientFactory]:
    clients: list[TestClient] = []

    async def make(report: HealthReport | Exception, metrics: Metrics) -> TestClient:
        server = TestServer(health_app(answering(report), metrics), host="127.0.0.1", port=0)
        test_client = TestClient(server)
        await test_client.start_server()
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        await test_client.close()


def outcome(
    status: int | None = 200,
    new_articles: int = 0,
    error: str | None = None,
    skipped_parse: bool = False,
) -> PollOutcome:
    return PollOutcome(
        feed_id=1,
        url="https://example.com/feed",
        status=status,
        new_articles=new_articles,
        error=error,
        skipped_parse=skipped_parse,
    )


def samples(exposition: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(exposition.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_healthy_answers_200_with_every_field(client: ClientFactory) -> None:
    test_client = await client(HEALTHY, Metrics())
    response = await test_client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "store": "ok",
        "scheduler": "running",
        "last_poll_at": "2025-03-01T08:30:00+00:00",
        "last_digest_at": "2025-03-01T08:00:00+00:00",
        "platforms": "ok",
    }


async def test_a_platform_that_stopped_serving_commands_is_503_with_its_reason(
    client: ClientFactory,
) -> None:
    down = "discord: Discord refused the bot token (401)"
    report = HealthReport(True, True, POLLED, None, platforms_down=(down,))
    response = await (await client(report, Metrics())).get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert (body["store"], body["scheduler"], body["platforms"]) == ("ok", "running", "down")
    assert body["reason"] == down


async def test_never_polled_yet_is_still_healthy_with_null_times(client: ClientFactory) -> None:
    report = HealthReport(True, True, last_poll_at=None, last_digest_at=None)
    response = await (await client(report, Metrics())).get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["last_poll_at"] is None
    assert body["last_digest_at"] is None


@pytest.mark.parametrize(
    ("report", "store", "scheduler", "reason"),
    [
        (HealthReport(False, True, POLLED, None), "error", "running", "store unreachable"),
        (HealthReport(True, False, POLLED, None), "ok", "stopped", "scheduler not running"),
        (
            HealthReport(False, True, None, None, detail="database is locked"),
            "error",
            "running",
            "database is locked",
        ),
    ],
)
async def test_unhealthy_answers_503_with_the_reason(
    client: ClientFactory, report: HealthReport, store: str, scheduler: str, reason: str
) -> None:
    response = await (await client(report, Metrics())).get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unhealthy"
    assert (body["store"], body["scheduler"], body["reason"]) == (store, scheduler, reason)


async def test_a_failing_check_is_503_without_its_message(client: ClientFactory) -> None:
    boom = OSError("connect to postgresql://bot:hunter2@db/chipwire failed")
    response = await (await client(boom, Metrics())).get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body == {"status": "unhealthy", "reason": "health check failed: OSError"}
    assert "hunter2" not in await response.text()


async def test_a_hung_check_is_503_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch, client: ClientFactory
) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 0.05)

    async def hang() -> HealthReport:
        await asyncio.sleep(10)
        return HEALTHY

    server = TestServer(health_app(hang, Metrics()), host="127.0.0.1", port=0)
    async with TestClient(server) as test_client:
        response = await test_client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["reason"] == "health check timed out"


async def test_metrics_count_each_poll_by_result(client: ClientFactory) -> None:
    metrics = Metrics()
    metrics.record_poll(
        [
            outcome(new_articles=3),
            outcome(status=200, new_articles=2),
            outcome(status=304, skipped_parse=True),
            outcome(status=200, skipped_parse=True),
            outcome(status=None, error="timeout"),
            outcome(status=500, error="HTTP 500"),
        ]
    )
    metrics.record_poll([outcome(status=304, skipped_parse=True)])
    metrics.record_relevant(4)

    response = await (await client(HEALTHY, metrics)).get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(await response.read())
    assert found[("chipwire_polls_total", (("result", "ok"),))] == 2
    assert found[("chipwire_polls_total", (("result", "not_modified"),))] == 2
    assert found[("chipwire_polls_total", (("result", "unchanged"),))] == 1
    assert found[("chipwire_polls_total", (("result", "failed"),))] == 2
    assert found[("chipwire_articles_stored_total", ())] == 5
    assert found[("chipwire_relevant_articles_total", ())] == 4


async def test_metrics_count_deliveries_and_time_commands(client: ClientFactory) -> None:
    metrics = Metrics()
    metrics.record_delivery("discord", ok=True)
    metrics.record_delivery("discord", ok=True)
    metrics.record_delivery("slack", ok=False)
    metrics.observe_command("chipnews", 0.2)
    metrics.observe_command("chipnews", 4.0)

    found = samples(await (await (await client(HEALTHY, metrics)).get("/metrics")).read())
    assert found[("chipwire_deliveries_total", (("platform", "discord"),))] == 2
    assert found[("chipwire_delivery_failures_total", (("platform", "slack"),))] == 1
    assert found[("chipwire_commands_total", (("command", "chipnews"),))] == 2
    assert found[("chipwire_command_seconds_count", (("command", "chipnews"),))] == 2
    assert found[("chipwire_command_seconds_sum", (("command", "chipnews"),))] == pytest.approx(4.2)
    assert (
        found[("chipwire_command_seconds_bucket", (("command", "chipnews"), ("le", "0.25")))] == 1
    )


def test_every_poll_result_is_exposed_at_zero_before_any_poll() -> None:
    found = samples(Metrics().exposition())
    for result in ("ok", "not_modified", "unchanged", "failed"):
        assert found[("chipwire_polls_total", (("result", result),))] == 0


def test_two_metrics_objects_do_not_share_counts() -> None:
    first, second = Metrics(), Metrics()
    first.record_relevant(7)
    assert samples(second.exposition())[("chipwire_relevant_articles_total", ())] == 0


def test_odd_label_values_are_folded_so_series_stay_bounded() -> None:
    metrics = Metrics()
    metrics.observe_command("'; DROP TABLE articles; --", 0.1)
    metrics.record_delivery("Discord", ok=True)
    found = samples(metrics.exposition())
    assert found[("chipwire_commands_total", (("command", "other"),))] == 1
    assert found[("chipwire_deliveries_total", (("platform", "discord"),))] == 1


def test_a_304_counts_as_not_modified_even_though_parsing_was_skipped() -> None:
    assert poll_result(outcome(status=304, skipped_parse=True)) == "not_modified"
    assert poll_result(outcome(status=304, error="odd")) == "failed"


async def test_serve_listens_until_cleanup() -> None:
    runner = await serve(health_app(answering(HEALTHY), Metrics()), "127.0.0.1", 0)
    port = bound_port(runner)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
            assert (await response.json())["status"] == "ok"
    finally:
        await runner.cleanup()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/healthz"),
        ):
            pass


async def test_serve_reports_a_port_in_use() -> None:
    first = await serve(web.Application(), "127.0.0.1", 0)
    try:
        with pytest.raises(OSError, match=r"address already in use|Errno 98"):
            await serve(web.Application(), "127.0.0.1", bound_port(first))
    finally:
        await first.cleanup()
