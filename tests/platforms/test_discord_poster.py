"""The Discord poster against a fake Discord API on 127.0.0.1 (real HTTP through discord.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.deliver import (
    DeliveryContext,
    deliver_digest,
    deliver_due,
    deliver_pending,
    delivery_nonce,
)
from bot.models import Digest, DigestSection, Subscription
from bot.platforms.discord.poster import DiscordPoster, channel_id, part_nonce
from bot.platforms.discord.render import CHART_TOO_LARGE, MAX_FILE, render_discord
from bot.platforms.journal import (
    ACCEPTED,
    INTENDED,
    MAX_NONCE,
    DeadTarget,
    MemoryJournal,
    Refused,
)
from bot.store import outbox
from bot.store.repo import Store
from tests.digest.test_deliver import NVIDIA, Clock, RecordingPoster, stored, subscribe, utc
from tests.platforms import COMPANY_NAMES, PNG, chart, hostile_digest, make_story
from tests.support.fake_discord import TOKEN, FakeDiscord

CHANNEL = "123"
NONCE = "cw7-1764313200"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord().serving() as server:
        yield server


@pytest.fixture
async def poster(fake: FakeDiscord) -> AsyncIterator[DiscordPoster]:
    opened = DiscordPoster(TOKEN, COMPANY_NAMES, api_base=fake.base)
    yield opened
    await opened.close()


@pytest.fixture
def fast_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py waits 1, 3, 5, 7, 9 s between its own retries of a 5xx; skip the waiting."""
    real_sleep = asyncio.sleep

    async def no_wait(_: float, result: Any = None) -> Any:
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", no_wait)


def subscription(target: str = f"discord:{CHANNEL}") -> Subscription:
    return Subscription(target=target, schedule="0 8 * * *", timezone="Europe/Rome", id=7)


def long_digest() -> Digest:
    stories = tuple(
        make_story(k, f"Story {k} " + "x" * 200, "y " * 300, ("A",), False) for k in range(120)
    )
    return replace(
        hostile_digest(),
        sections=(DigestSection("One", stories[:70]), DigestSection("Two", stories[70:])),
    )


def without_default_flags(embed: dict[str, Any]) -> dict[str, Any]:
    """discord.py's Embed adds `flags: 0`; the rest must be exactly what the renderer built."""
    return {k: v for k, v in embed.items() if not (k == "flags" and v == 0)}


async def test_every_part_is_posted_in_order_with_its_embeds_and_no_mentions(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    digest = long_digest()
    rendered = render_discord(digest, COMPANY_NAMES)
    assert len(rendered) > 1
    await poster.post(subscription(), digest, NONCE)
    assert len(fake.messages) == len(rendered)
    for body, payload in zip(fake.messages, rendered, strict=True):
        assert [without_default_flags(e) for e in body["embeds"]] == payload["embeds"]
        assert body["allowed_mentions"] == {"parse": []}
        assert body["enforce_nonce"] is True
        assert body["tts"] is False
    nonces = fake.nonces()
    assert nonces == [f"{NONCE}p{k}" for k in range(len(rendered))]
    assert len(set(nonces)) == len(nonces)
    assert all(len(n) <= MAX_NONCE for n in nonces)


async def test_the_empty_note_is_content_without_mentions(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    empty = replace(hostile_digest(), sections=(), empty_note="@everyone nothing new")
    await poster.post(subscription(), empty, NONCE)
    [body] = fake.messages
    assert body["embeds"] == []
    assert body["allowed_mentions"] == {"parse": []}
    assert "@\u200beveryone" in body["content"]


async def test_the_same_delivery_gets_the_same_nonces_after_a_restart(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    await poster.post(subscription(), long_digest(), NONCE)
    first = fake.nonces(fake.attempts)
    restarted = DiscordPoster(TOKEN, COMPANY_NAMES, api_base=fake.base)
    try:
        await restarted.post(subscription(), long_digest(), NONCE)
    finally:
        await restarted.close()
    assert fake.nonces(fake.attempts) == first + first  # every part re-sent with its nonce
    assert fake.nonces() == first  # and Discord (enforce_nonce) created nothing new


async def test_a_retry_resumes_at_the_part_that_failed(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    parts = len(render_discord(long_digest(), COMPANY_NAMES))
    journal = MemoryJournal()
    fake.fail(403, after=1)  # part 0 is taken, part 1 refused
    with pytest.raises(Refused):
        await poster.post(subscription(), long_digest(), NONCE, journal)
    assert fake.nonces() == [f"{NONCE}p0"]
    assert journal.parts == {"0": ACCEPTED, "1": INTENDED}
    tried = len(fake.attempts)
    await poster.post(subscription(), long_digest(), NONCE, journal)
    assert fake.nonces(fake.attempts[tried:]) == [f"{NONCE}p{k}" for k in range(1, parts)]
    assert fake.nonces() == [f"{NONCE}p{k}" for k in range(parts)]


async def test_a_server_error_raises_after_discord_py_retried_with_the_same_nonce(
    fake: FakeDiscord, poster: DiscordPoster, fast_sleep: None
) -> None:
    fake.fail(500, times=5)  # discord.py itself tries a 500 five times
    with pytest.raises(discord.DiscordServerError):
        await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.nonces(fake.attempts) == [f"{NONCE}p0"] * 5
    assert fake.messages == []


async def test_an_unavailable_api_raises_at_once(fake: FakeDiscord, poster: DiscordPoster) -> None:
    fake.fail(503)
    with pytest.raises(discord.DiscordServerError):
        await poster.post(subscription(), hostile_digest(), NONCE)
    assert len(fake.attempts) == 1


async def test_the_token_is_sent_as_bot_auth_and_never_logged(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    poster = DiscordPoster(TOKEN, COMPANY_NAMES, api_base=fake.base)
    try:
        await poster.post(subscription(), hostile_digest(), NONCE)
        fake.fail(400)
        with pytest.raises(Refused) as refused:
            await poster.post(subscription(), hostile_digest(), "cw7-2")
    finally:
        await poster.close()
    assert fake.auth == {f"Bot {TOKEN}"}
    assert "/api/v10/channels/123/messages" in caplog.text  # discord.py did log its requests
    assert TOKEN not in caplog.text
    assert TOKEN not in str(refused.value)
    assert TOKEN not in repr(poster)


async def test_a_bad_token_fails_the_post_and_login_is_tried_again_next_time(
    fake: FakeDiscord,
) -> None:
    poster = DiscordPoster("wrong", api_base=fake.base)
    try:
        for _ in range(2):
            with pytest.raises(discord.LoginFailure):
                await poster.post(subscription(), hostile_digest(), NONCE)
    finally:
        await poster.close()
    assert fake.logins == 2
    assert fake.attempts == []


async def test_a_rate_limit_is_waited_out_by_discord_py_and_posts_once(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    fake.rate_limit(times=2)  # 429 with Retry-After twice, then Discord takes it
    await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.nonces(fake.attempts) == [f"{NONCE}p0"] * 3
    assert fake.nonces() == [f"{NONCE}p0"]


async def test_a_missing_permission_is_a_refusal_that_names_it(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    fake.forbidden.add(CHANNEL)  # the bot may see the channel but not post embeds in it
    with pytest.raises(Refused) as refused:
        await poster.post(subscription(), hostile_digest(), NONCE)
    assert "403 50013 Missing Permissions" in str(refused.value)
    assert fake.messages == []


@pytest.mark.parametrize(("where", "code"), [("gone", "10003"), ("hidden", "50001")])
async def test_a_channel_deleted_or_out_of_sight_is_a_dead_target(
    fake: FakeDiscord, poster: DiscordPoster, where: str, code: str
) -> None:
    getattr(fake, where).add(CHANNEL)
    with pytest.raises(DeadTarget) as dead:
        await poster.post(subscription(), hostile_digest(), NONCE)
    assert code in str(dead.value)


async def test_a_chart_at_discords_default_upload_limit_is_accepted(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    """The limit assumed is Discord's (10 MiB for a bot in a server without boosts): a chart the
    renderer lets through is one the stand-in, holding Discord's limit, accepts."""
    largest = replace(hostile_digest(), chart=chart(data=b"\0" * MAX_FILE))
    await poster.post(subscription(), largest, NONCE)
    assert [len(data) for _, data in fake.attempt_files()[0]] == [MAX_FILE]
    assert fake.upload_limit == MAX_FILE


def test_targets_and_nonces() -> None:
    assert channel_id("discord:123") == 123
    for bad in ("discord:", "discord:#general", "slack:123", "123"):
        with pytest.raises(ValueError, match="not a Discord channel target"):
            channel_id(bad)
    long = "cw123456-1764313200a99999"  # deliver.py's nonce is already 25 characters
    assert part_nonce("cw1-2", 3) == "cw1-2p3"
    hashed = {part_nonce(long, k) for k in range(20)}
    assert len(hashed) == 20
    assert all(len(n) <= MAX_NONCE for n in hashed)
    assert part_nonce(long, 4) == part_nonce(long, 4)


async def test_the_api_base_does_not_touch_discord_py_globals(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    await poster.post(subscription(), hostile_digest(), NONCE)
    assert discord.http.Route.BASE == "https://discord.com/api/v10"


# charts --------------------------------------------------------------------------------------


async def test_the_chart_is_a_file_on_the_last_part_with_its_nonce(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    digest = replace(long_digest(), chart=chart())
    parts = len(render_discord(digest, COMPANY_NAMES))
    await poster.post(subscription(), digest, NONCE)
    assert fake.nonces() == [f"{NONCE}p{k}" for k in range(parts)]
    assert fake.attempt_files() == {
        parts - 1: [(chart().filename, PNG)]
    }  # only the last part has a file
    *earlier, last = fake.messages
    assert all("attachments" not in body for body in earlier)
    assert all("image" not in e for body in earlier for e in body["embeds"])
    assert last["embeds"][0]["image"] == {"url": f"attachment://{chart().filename}"}
    assert last["attachments"] == [
        {"id": 0, "filename": chart().filename, "description": chart().description}
    ]
    assert last["enforce_nonce"] is True
    assert last["allowed_mentions"] == {"parse": []}


async def test_a_retry_of_the_chart_part_sends_the_file_again_and_nothing_else(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    digest = replace(long_digest(), chart=chart())
    parts = len(render_discord(digest, COMPANY_NAMES))
    journal = MemoryJournal()
    fake.fail(403, after=parts - 1)
    with pytest.raises(Refused):
        await poster.post(subscription(), digest, NONCE, journal)
    tried = len(fake.attempts)
    await poster.post(subscription(), digest, NONCE, journal)
    assert fake.nonces(fake.attempts[tried:]) == [f"{NONCE}p{parts - 1}"]
    assert fake.attempt_files()[tried] == [(chart().filename, PNG)]
    assert fake.nonces() == [f"{NONCE}p{k}" for k in range(parts)]


async def test_an_empty_note_carries_the_chart_as_a_plain_file(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    empty = replace(hostile_digest(), sections=(), empty_note="Nothing new.", chart=chart())
    await poster.post(subscription(), empty, NONCE)
    [body] = fake.messages
    assert body["content"] == "Nothing new."
    assert body["embeds"] == []
    assert fake.attempt_files() == {0: [(chart().filename, PNG)]}


async def test_a_chart_over_the_limit_is_not_sent_and_the_digest_says_so(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    huge = replace(hostile_digest(), chart=chart(data=b"\0" * (MAX_FILE + 1)))
    await poster.post(subscription(), huge, NONCE)
    [body] = fake.messages
    assert fake.attempt_files() == {}
    assert "attachments" not in body
    assert "image" not in body["embeds"][0]
    assert body["embeds"][0]["description"].endswith("\n" + CHART_TOO_LARGE)


# End to end: deliver_digest with a real store, posting to the fake Discord.


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'discord.db'}")
    yield opened
    await opened.close()


async def test_deliver_digest_posts_records_and_retries_through_discord(
    store: Store, fake: FakeDiscord, poster: DiscordPoster
) -> None:
    clock = Clock(utc(2026, 11, 28, 7))
    sub = await subscribe(store, utc(2026, 11, 27, 12), target=f"discord:{CHANNEL}")
    ctx = DeliveryContext(store, {"discord": poster}, clock)
    await stored(store, utc(2026, 11, 28, 1), (1, NVIDIA))
    sent = await deliver_digest(ctx, sub, utc(2026, 11, 28, 7))
    assert (sent.status, sent.stories) == ("sent", 1)
    [message] = fake.messages
    assert "Story 1 about chips" in message["embeds"][1]["description"]
    assert (await deliver_digest(ctx, sub, utc(2026, 11, 28, 7))).status == "already-sent"

    await stored(store, utc(2026, 11, 28, 20), (2, NVIDIA), feed="b")
    fake.fail(400)
    clock.now = utc(2026, 11, 29, 7)
    failed = await deliver_digest(ctx, sub, utc(2026, 11, 29, 7))
    assert failed.status == "failed"
    assert "Refused" in (failed.error or "")
    assert await store.digest_state(sub.id, utc(2026, 11, 29, 7)) == "failed"
    clock.now += ctx.first_backoff
    [retried] = await deliver_pending(ctx)
    assert retried.status == "sent"
    assert await store.digest_state(sub.id, utc(2026, 11, 29, 7)) == "sent"
    assert len(fake.messages) == 2
    assert fake.messages[1]["nonce"] == fake.attempts[1]["nonce"]  # the delivery's own nonce
    assert "Story 2 about chips" in fake.messages[1]["embeds"][1]["description"]


class Killed(BaseException):
    """Stands for SIGKILL: no handler of the bot's catches it."""


async def test_a_crash_after_discord_took_a_part_is_resolved_by_its_nonce(
    store: Store, fake: FakeDiscord, poster: DiscordPoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(utc(2026, 11, 28, 7))
    sub = await subscribe(store, utc(2026, 11, 27, 12), target=f"discord:{CHANNEL}")
    ctx = DeliveryContext(store, {"discord": poster}, clock)
    await stored(store, utc(2026, 11, 28, 1), (1, NVIDIA))
    real_mark = outbox.mark_part

    def killed_before_accepting(conn: Any, post_id: int, part: str, state: str, now: Any) -> None:
        if state == outbox.ACCEPTED:
            raise Killed  # the process died right after Discord answered
        real_mark(conn, post_id, part, state, now)

    monkeypatch.setattr(outbox, "mark_part", killed_before_accepting)
    with pytest.raises(Killed):
        await deliver_digest(ctx, sub, utc(2026, 11, 28, 7))
    monkeypatch.setattr(outbox, "mark_part", real_mark)
    assert len(fake.messages) == 1
    await store.release_stale_leases()  # the restarted process
    [resolved] = await deliver_pending(ctx)
    assert resolved.status == "sent"
    assert len(fake.attempts) == 2
    assert len(fake.messages) == 1
    assert fake.attempts[0]["nonce"] == fake.attempts[1]["nonce"]


async def test_a_deleted_channel_is_disabled_reported_and_never_tried_again(
    store: Store, fake: FakeDiscord, poster: DiscordPoster
) -> None:
    clock = Clock(utc(2026, 11, 28, 7))
    sub = await subscribe(store, utc(2026, 11, 27, 12), target=f"discord:{CHANNEL}")
    admin_out = RecordingPoster()
    posters = {"discord": poster, "console": admin_out}
    ctx = DeliveryContext(store, posters, clock, admin_target="console")  # type: ignore[arg-type]
    await stored(store, utc(2026, 11, 28, 1), (1, NVIDIA))
    fake.gone.add(CHANNEL)
    dead = await deliver_digest(ctx, sub, utc(2026, 11, 28, 7))
    assert dead.status == "dead"
    assert "10003" in (dead.error or "")
    [disabled] = await store.list_subscriptions()
    assert disabled.disabled
    assert "10003" in disabled.disabled
    assert f"stopped posting to discord:{CHANNEL}" in admin_out.out.getvalue()
    tried = len(fake.attempts)
    clock.now = utc(2026, 11, 29, 7)
    assert [o.status for o in await deliver_due(ctx)] == ["dead"]
    clock.now += timedelta(hours=1)
    assert await deliver_pending(ctx) == []
    assert len(fake.attempts) == tried


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(st.integers(min_value=1, max_value=10**30), min_size=2, max_size=6, unique=True),
    ends=st.lists(
        st.integers(min_value=0, max_value=4_102_444_800), min_size=1, max_size=3, unique=True
    ),
    parts=st.integers(min_value=1, max_value=12),
)
def test_every_part_of_every_delivery_has_its_own_nonce_within_25_characters(
    ids: list[int], ends: list[int], parts: int
) -> None:
    """Large subscription ids once made nonces that were cut to 25 characters and collided;
    Discord then dropped the second post as a repeat."""
    deliveries = [
        delivery_nonce(sub, datetime.fromtimestamp(end, UTC), key)
        for sub in ids
        for end in ends
        for key in ("", f"story-{end}")
    ]
    nonces = [part_nonce(nonce, index) for nonce in deliveries for index in range(parts)]
    assert len(set(deliveries)) == len(deliveries)
    assert len(set(nonces)) == len(nonces)
    assert all(len(n) <= MAX_NONCE for n in deliveries + nonces)


async def test_a_long_nonce_is_accepted_by_discords_form_check(
    fake: FakeDiscord, poster: DiscordPoster
) -> None:
    nonce = delivery_nonce(10**20, datetime(2026, 11, 28, 7, tzinfo=UTC))
    await poster.post(subscription(), long_digest(), nonce)
    assert len(fake.messages) == len(fake.attempts) > 1
