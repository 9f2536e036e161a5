"""Exactly once under crashes: `chipwire run` SIGKILLed at random and while a platform holds its
answer back, then restarted, posting digests (every minute) and live alerts from a feed that
gains items, to stand-in Discord and Slack servers that create each message before answering.

Afterwards every queued delivery is sent, each (target, story) and each (target, digest part)
is one message, and the platforms saw more attempts than messages (the crashes did bite). With
the nonce and the Slack history check switched off (CHIPWIRE_TEST_NO_DEDUPE=1, tests only) the
same run must show duplicates. `python -m tests.test_crash_delivery` prints the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import NO_DEDUPE_ENV
from bot.models import FeedConfig, SubscriptionConfig
from bot.store import queries
from bot.store.repo import Store
from bot.store.schema import articles, outbox
from tests.chatstandins import DISCORD_TOKEN, SLACK_BOT_TOKEN, ChatStandIns, chat_stand_ins
from tests.support import POSTGRES_ADMIN_URL, postgres_available, writing

TARGETS = ("discord:111", "discord:222", "slack:C111", "slack:C222")
ITEM_EVERY = 1.2  # seconds: the feed gains an item this often
MAX_ITEMS = 40
MIN_KILLS = 6  # the kills go on past the time given until this many happened
STORY_URL = re.compile(r"https://chipnews\.example/\d+")


class _GrowingFeed(BaseHTTPRequestHandler):
    started = time.monotonic()
    frozen_at = float("inf")  # the feed stops growing when the kills stop

    def do_GET(self) -> None:
        grown = min(time.monotonic(), self.frozen_at) - self.started
        count = min(MAX_ITEMS, 1 + int(grown / ITEM_EVERY))
        items = "".join(_item(n) for n in range(count))
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Chip news</title><link>https://chipnews.example/</link><language>en</language>"
            f"{items}</channel></rss>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


WORDS = [
    "falcon",
    "orchid",
    "granite",
    "velvet",
    "comet",
    "harbor",
    "meadow",
    "lantern",
    "cobalt",
    "willow",
    "ember",
    "summit",
    "prairie",
    "quartz",
    "saffron",
    "tundra",
    "beacon",
    "canyon",
    "delta",
    "fjord",
    "glacier",
    "horizon",
    "island",
    "jasmine",
    "kestrel",
    "lagoon",
    "mesa",
    "nebula",
    "oasis",
    "pinnacle",
    "quiver",
    "reef",
    "sierra",
    "tidal",
    "umber",
    "vortex",
    "zephyr",
    "aurora",
    "bramble",
    "cinder",
]


def _item(n: int) -> str:
    """Even items score above the alert threshold (alerts), odd ones only make the digest; each
    title its own words, so that no two items are grouped into one story."""
    word, other = WORDS[n % len(WORDS)], WORDS[(n * 7 + 3) % len(WORDS)]
    if n % 2 == 0:
        title = f"Nvidia {word} {other} story {n}"
        text = f"{title}: accelerators and HBM supply."
    else:
        title = f"Nvidia chip export rules {word} {other} {n}"
        text = f"{title}."
    return (
        f"<item><guid>g{n}</guid><link>https://chipnews.example/{n}</link><title>{title}</title>"
        f"<description>{text}</description>"
        "<pubDate>Thu, 03 Dec 2026 06:00:00 GMT</pubDate></item>"
    )


@contextlib.contextmanager
def growing_feed() -> Iterator[str]:
    _GrowingFeed.started, _GrowingFeed.frozen_at = time.monotonic(), float("inf")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GrowingFeed)
    server.handle_error = lambda *args: None  # type: ignore[method-assign]  # a killed bot hung up
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/chips.xml"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class CrashResult:
    kills: int
    mid_delivery: int  # kills while a platform held an answer back
    messages: int
    attempts: int
    duplicate_messages: int
    pairs_twice: int  # (target, story) pairs in more than one message
    lost: int  # deliveries not sent, or sent without one of their stories in the channel
    deliveries: int

    def row(self, label: str) -> str:
        return (
            f"| {label} | {self.kills} ({self.mid_delivery}) | {self.messages} | {self.attempts} "
            f"| {self.duplicate_messages} | {self.pairs_twice} | {self.lost} |"
        )


async def _seed(url: str, feed_url: str) -> None:
    """Feeds polled every 2 s and subscriptions made two minutes ago, as chat would make them."""
    store = await Store.open(url)
    try:
        past = datetime.now(UTC) - timedelta(minutes=2)
        feed = FeedConfig(url=feed_url, name="Chip news", interval=2, allow_private_address=True)
        await store.add_feed(feed, "cli", past, history=False)
        async with writing(store) as conn:
            for target in TARGETS:
                config = SubscriptionConfig(
                    target=target,
                    schedule="* * * * *",
                    timezone="UTC",
                    live_alerts=True,
                    alerts_per_hour=1000,
                    empty_note=False,  # each digest part is then a text of its own
                )
                await conn.run_sync(queries.save_chat_subscription, config, past)
    finally:
        await store.close()


async def _ledger(url: str) -> tuple[list[tuple[str, str, tuple[int, ...]]], dict[int, str]]:
    store = await Store.open(url, migrate=False)
    try:
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(outbox))).all()
            urls = dict((await conn.execute(select(articles.c.id, articles.c.url))).all())
        posts = [(r.target, r.state, tuple(json.loads(r.article_ids))) for r in rows]
        return posts, {int(k): str(v) for k, v in urls.items()}
    finally:
        await store.close()


def _start(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run", "--tick", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _wait_for_work(chat: ChatStandIns, attempts: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and chat.attempts == attempts:
        time.sleep(0.05)


def _wait_for_hold(chat: ChatStandIns, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if chat.holding:
            return True
        time.sleep(0.02)
    return False


def run_crashes(
    tmp_path: Path,
    url: str,
    *,
    processes: int = 1,
    dedupe: bool = True,
    seconds: float = 40.0,
    seed: int = 1,
) -> CrashResult:
    rng = random.Random(seed)
    with growing_feed() as feed_url, chat_stand_ins(hold_chance=0.35, seed=seed) as chat:
        asyncio.run(_seed(url, feed_url))
        config = tmp_path / "crash.toml"
        config.write_text(
            f'[chipwire]\ndata_dir = "{tmp_path / "data"}"\nparse_workers = 0\n'
            "[ops]\nhealth_port = 0\n"
        )
        env = os.environ | {
            "CHIPWIRE_DATABASE_URL": url,
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "DISCORD_API_URL": chat.discord_api,
            "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
            "SLACK_API_URL": chat.slack_api,
            NO_DEDUPE_ENV: "0" if dedupe else "1",
        }
        log = tmp_path / "bot.log"
        bots = [_start(config, env, log) for _ in range(processes)]
        kills = mid = 0
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline or (
                kills < MIN_KILLS and time.monotonic() < deadline + seconds
            ):
                _wait_for_work(chat, chat.attempts, 6.0)  # up and posting (start-up takes s)
                if rng.random() < 0.5:
                    _wait_for_hold(chat, 5.0)
                else:
                    time.sleep(rng.uniform(0.1, 2.0))
                victim = rng.randrange(processes)
                mid += 1 if chat.holding else 0
                bots[victim].send_signal(signal.SIGKILL)
                bots[victim].wait(10)
                kills += 1
                bots[victim] = _start(config, env, log)
            chat.hold_chance = 0.0
            _GrowingFeed.frozen_at = time.monotonic()
            _settle(chat, url)
        finally:
            for bot in bots:
                bot.send_signal(signal.SIGTERM)
            for bot in bots:
                try:
                    bot.wait(15)
                except subprocess.TimeoutExpired:
                    bot.kill()
        return _tally(chat, url, kills, mid)


def _settle(chat: ChatStandIns, url: str, quiet: float = 4.0, longest: float = 50.0) -> None:
    """Wait until nothing is queued and the platforms have been quiet for a while."""
    end = time.monotonic() + longest
    last, count = time.monotonic(), chat.attempts
    while time.monotonic() < end:
        time.sleep(0.5)
        if chat.attempts != count:
            last, count = time.monotonic(), chat.attempts
        posts, _ = asyncio.run(_ledger(url))
        if time.monotonic() - last > quiet and all(state != "queued" for _, state, _ in posts):
            return


def _tally(chat: ChatStandIns, url: str, kills: int, mid: int) -> CrashResult:
    posts, urls = asyncio.run(_ledger(url))
    bodies = Counter(
        (m.platform, m.channel, json.dumps(_visible(m.body), sort_keys=True)) for m in chat.messages
    )
    pairs: Counter[tuple[str, str]] = Counter()
    seen: dict[str, set[str]] = {}
    for m in chat.messages:
        target = f"{m.platform}:{m.channel}"
        found = set(STORY_URL.findall(json.dumps(_visible(m.body))))
        pairs.update((target, u) for u in found)
        seen.setdefault(target, set()).update(found)
    lost = sum(
        1
        for target, state, ids in posts
        if state != "sent" or (ids and not {urls[i] for i in ids} & seen.get(target, set()))
    )
    return CrashResult(
        kills=kills,
        mid_delivery=mid,
        messages=len(chat.messages),
        attempts=chat.attempts,
        duplicate_messages=sum(n - 1 for n in bodies.values()),
        pairs_twice=sum(1 for n in pairs.values() if n > 1),
        lost=lost,
        deliveries=len(posts),
    )


def _visible(body: dict[str, object]) -> dict[str, object]:
    """What a reader sees of a message: its text, not the nonce or timestamps."""
    keys = ("content", "embeds", "text", "blocks")
    return {k: body[k] for k in keys if k in body}


def _check_exactly_once(result: CrashResult) -> None:
    assert result.kills >= MIN_KILLS
    assert result.deliveries > 0
    assert result.lost == 0, result
    assert result.duplicate_messages == 0, result
    assert result.pairs_twice == 0, result
    assert result.attempts > result.messages, result  # the crashes and held answers did bite


def test_one_process_on_sqlite_posts_each_message_exactly_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    _check_exactly_once(run_crashes(tmp_path, url, seconds=30, seed=1))


def test_without_the_nonce_and_the_slack_check_the_same_crashes_post_twice(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    result = run_crashes(tmp_path, url, dedupe=False, seconds=15, seed=2)
    assert result.lost == 0, result
    assert result.duplicate_messages > 0, result
    assert result.pairs_twice > 0, result


async def _postgres_or_skip() -> None:
    reason = await postgres_available()
    if reason:
        pytest.skip(reason)


async def _database(name: str, *, drop: bool = False) -> str:
    """Create (or drop) a database of its own: the bot's processes, not this test, use it."""
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            if drop:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def test_two_processes_on_postgresql_post_each_message_exactly_once(tmp_path: Path) -> None:
    asyncio.run(_postgres_or_skip())
    name = f"chipwire_crash_{uuid.uuid4().hex[:12]}"
    url = asyncio.run(_database(name))
    try:
        _check_exactly_once(run_crashes(tmp_path, url, processes=2, seconds=30, seed=3))
    finally:
        asyncio.run(_database(name, drop=True))


if __name__ == "__main__":  # the table for the report: python -m tests.test_crash_delivery
    import tempfile

    print(
        "| store, processes | kills (mid-delivery) | messages | attempts | duplicate messages "
        "| channel-story pairs twice | lost |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, processes, dedupe, seed in (
        ("SQLite, one process", 1, True, 1),
        ("SQLite, one process, no nonce / Slack check", 1, False, 2),
    ):
        with tempfile.TemporaryDirectory() as folder:  # 40 s of kills each
            db = f"sqlite+aiosqlite:///{Path(folder) / 'crash.db'}"
            result = run_crashes(Path(folder), db, processes=processes, dedupe=dedupe, seed=seed)
            print(replace(result).row(label), flush=True)
