"""`chipwire demo`: the whole pipeline, offline, on sample feeds bundled with the package.

A loopback HTTP server serves `bot/demo_feeds/`; the demo polls it into the configured store
(a temporary SQLite file when none is given), then polls again to show conditional GET at work.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import TextIO

from aiohttp import web

from bot.app import App, build_app
from bot.models import FeedConfig
from bot.platforms.console.ingest_report import poll_with_report
from bot.settings import (
    ConfigError,
    Settings,
    load_settings,
    settings_from_mapping,
    sqlite_url,
    to_async_url,
)

DEMO_FEEDS = {
    "chipwire-wire.xml": ("ChipWire Demo Wire", "en", "application/rss+xml"),
    "silicon-daily.atom": ("Silicon Daily (demo)", "en", "application/atom+xml"),
    "xinpian-kuaixun.xml": ("芯片快讯（演示）", "zh", "application/rss+xml"),
    "notizie-chip.xml": ("Notizie Chip (demo)", "it", "application/rss+xml"),
    "europa-halbleiter.json": ("Europa Halbleiter (demo)", None, "application/feed+json"),
    # an aggregator: its items are shown and counted as the publishers' they name
    "google-news-demo.xml": ("Google News: AI chips (demo)", "en", "application/rss+xml"),
}


def demo_feed_bytes(name: str) -> bytes:
    return files("bot").joinpath("demo_feeds", name).read_bytes()


def _handler(
    name: str, content_type: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    body = demo_feed_bytes(name)
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    async def serve(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type=content_type, headers={"ETag": etag})

    return serve


@asynccontextmanager
async def serve_demo_feeds() -> AsyncIterator[str]:
    """Serve the bundled feeds on 127.0.0.1 (an ephemeral port); yields the base URL."""
    app = web.Application()
    for name, (_, _, content_type) in DEMO_FEEDS.items():
        app.router.add_get(f"/{name}", _handler(name, content_type))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def demo_feed_configs(base_url: str) -> tuple[FeedConfig, ...]:
    return tuple(
        FeedConfig(
            url=f"{base_url}/{name}",
            name=title,
            language=language,
            interval=300,
            allow_private_address=True,  # the demo server is on loopback by design
        )
        for name, (title, language, _) in DEMO_FEEDS.items()
    )


def _demo_settings(config: str | None, database_url: str | None, folder: Path) -> Settings:
    try:
        base = load_settings(config, database_url)
    except ConfigError:
        if config:
            raise
        base = None  # no usable default config: the demo needs none
    if base is None:
        base = settings_from_mapping({}, folder / "demo.toml")
    explicit = database_url or os.environ.get("CHIPWIRE_DATABASE_URL")
    url = to_async_url(explicit) if explicit else sqlite_url(folder / "demo.db")
    return replace(base, database_url=url, feeds=(), data_dir=folder, parse_workers=0)


async def run_demo(config: str | None, database_url: str | None, out: TextIO) -> int:
    with tempfile.TemporaryDirectory(prefix="chipwire-demo-") as folder:
        settings = _demo_settings(config, database_url, Path(folder))
        async with serve_demo_feeds() as base_url:
            app = await build_app(settings)
            async with app:
                print(
                    f"ChipWire demo: serving {len(DEMO_FEEDS)} sample feeds at {base_url}", file=out
                )
                for feed in demo_feed_configs(base_url):
                    await app.store.add_feed(feed, "demo", app.clock(), history=False)
                feeds = await app.store.list_feeds()
                print("\n1. first poll (everything is new):", file=out)
                await poll_with_report(app.poll_context(), feeds, out)
                print("\n2. second poll (the server answers 304 Not Modified):", file=out)
                await poll_with_report(app.poll_context(), await app.store.list_feeds(), out)
                print("\n3. what is stored, newest first:", file=out)
                for article in await app.store.recent_articles(limit=50):
                    companies = ", ".join(article.companies) or "-"
                    mark = "AI-chip" if article.relevant else "other  "
                    print(
                        f"  [{mark}] {article.published_at:%Y-%m-%d %H:%M} "
                        f"{article.language or '??'}  {article.title[:90]}  ({companies})",
                        file=out,
                    )
                print(f"\n{await app.store.count_articles()} articles stored.", file=out)
                print("\n4. the digest a subscriber would get now (Europe/Rome):", file=out)
                print(await demo_digest(app), file=out)
                print('\n5. a chat command, as `chipwire ask "company huawei"` runs it:', file=out)
                print(await demo_answer(app, "company huawei"), file=out)
                print(NEXT_STEPS, file=out)
    return 0


NEXT_STEPS = """
Next, with your own feeds (config/chipwire.toml or --config):
  chipwire sync           the config's feeds and subscriptions into the store
  chipwire poll --once    a first poll: what feeds already carry is kept as history
  chipwire ask latest     those articles; chipwire digest --include-history as a digest
  chipwire run            polls on, and posts digests of what arrives from now on"""


async def demo_answer(app: App, text: str) -> str:
    from bot.platforms.console.commands import ask

    return await ask(app.command_context(), text)


async def demo_digest(app: App) -> str:
    from bot.digest.deliver import compose_digest
    from bot.models import Subscription
    from bot.platforms.console.render import render_console

    now = app.clock()
    preview = Subscription(target="demo", schedule="0 8 * * *", timezone="Europe/Rome")
    digest = await compose_digest(app.delivery_context({}), preview, now - timedelta(days=1), now)
    return render_console(digest, app.company_names)
