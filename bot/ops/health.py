"""The operations endpoint: `GET /healthz` for orchestrators, `GET /metrics` for Prometheus.

The app knows nothing of the store or the scheduler: whoever builds it passes a `check` that
looks at them and answers with a `HealthReport`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.ops.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable["HealthReport"]]

# Below the Docker HEALTHCHECK timeout (5 s), so a hung store answers 503 rather than nothing.
CHECK_TIMEOUT = 4.0

_CHECK_KEY: web.AppKey[HealthCheck] = web.AppKey("health_check")
_METRICS_KEY = web.AppKey("metrics", Metrics)


@dataclass(frozen=True)
class HealthReport:
    store_ok: bool
    scheduler_running: bool
    last_poll_at: datetime | None
    last_digest_at: datetime | None
    detail: str = ""
    # A chat platform that stopped serving commands (a refused login, a gateway task that died):
    # the bot still posts digests, but nobody can use its commands, so it is not healthy.
    platforms_down: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.store_ok and self.scheduler_running and not self.platforms_down

    def reason(self) -> str:
        problems = [
            text
            for failed, text in (
                (not self.store_ok, self.detail or "store unreachable"),
                (not self.scheduler_running, "scheduler not running"),
            )
            if failed
        ]
        return "; ".join([*problems, *self.platforms_down])


def report_body(report: HealthReport) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "ok" if report.healthy else "unhealthy",
        "store": "ok" if report.store_ok else "error",
        "scheduler": "running" if report.scheduler_running else "stopped",
        "last_poll_at": _iso(report.last_poll_at),
        "last_digest_at": _iso(report.last_digest_at),
        "platforms": "ok" if not report.platforms_down else "down",
    }
    if not report.healthy:
        body["reason"] = report.reason()
    return body


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def failure_body(reason: str) -> dict[str, Any]:
    return {"status": "unhealthy", "reason": reason}


async def _healthz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            report = await request.app[_CHECK_KEY]()
    except TimeoutError:
        return web.json_response(failure_body("health check timed out"), status=503)
    except Exception as exc:
        # The type only: an exception's text can carry a database URL with its password.
        log.warning("health check failed", exc_info=True)
        return web.json_response(
            failure_body(f"health check failed: {type(exc).__name__}"), status=503
        )
    return web.json_response(report_body(report), status=200 if report.healthy else 503)


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[_METRICS_KEY].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def health_app(check: HealthCheck, metrics: Metrics) -> web.Application:
    app = web.Application()
    app[_CHECK_KEY] = check
    app[_METRICS_KEY] = metrics
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    return app


SHUTDOWN_GRACE_SECONDS = 2.0


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving `app`; the caller stops it with `await runner.cleanup()`."""
    # No access log: Prometheus and the health probe would write a line every few seconds.
    # A short grace for in-flight requests: SIGTERM promises a stop within 10 seconds.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port actually listened on (useful after asking for port 0)."""
    address = runner.addresses[0]
    return int(address[1])
