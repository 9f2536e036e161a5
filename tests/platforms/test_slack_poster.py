"""The Slack poster against the Slack stand-in on 127.0.0.1 (real HTTP through slack_sdk).

The stand-in (tests/support/fake_slack.py) refuses what Slack refuses: scopes per token, channel
membership for history and uploads, archived and deleted channels, 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.digest.deliver import DeliveryContext, deliver_digest, deliver_pending
from bot.models import Digest, DigestSection, Subscription
from bot.platforms.console.poster import ConsolePoster
from bot.platforms.journal import INTENDED, DeadTarget, MemoryJournal, Refused
from bot.platforms.slack.poster import SlackPoster, api_base_url, channel_of
from bot.platforms.slack.render import render_slack
from bot.store import outbox
from bot.store.repo import Store
from tests.digest.test_deliver import NVIDIA, Clock, stored, subscribe, utc
from tests.platforms import COMPANY_NAMES, PNG, chart, hostile_digest, make_story
from tests.platforms.test_discord_poster import Killed
from tests.support.fake_slack import BOT_SCOPES, Channel, FakeSlack, serving

TOKEN = "xoxb-1111-2222-secretsecret"
CHANNEL = "C0123ABCD"
NONCE = "cw7-1764313200"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with serving(FakeSlack(tokens={TOKEN: BOT_SCOPES})) as server:
        yield server


@pytest.fixture
async def poster(fake: FakeSlack) -> AsyncIterator[SlackPoster]:
    opened = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url)
    yield opened
    await opened.close()


def texts(fake: FakeSlack) -> list[str]:
    return [m.body["text"] for m in fake.messages]


def subscription(target: str = f"slack:{CHANNEL}") -> Subscription:
    return Subscription(target=target, schedule="0 8 * * *", timezone="Europe/Rome", id=7)


def long_digest() -> Digest:
    stories = tuple(make_story(k, f"Story {k}", "Body.", ("A",), False) for k in range(130))
    return replace(
        hostile_digest(),
        sections=(DigestSection("One", stories[:70]), DigestSection("Two", stories[70:])),
    )


async def test_every_part_is_posted_in_order_without_unfurls(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    rendered = render_slack(long_digest(), COMPANY_NAMES)
    assert len(rendered) == 3
    await poster.post(subscription(), long_digest(), NONCE)
    assert len(fake.messages) == 3
    for posted, payload in zip(fake.messages, rendered, strict=True):
        body = posted.body
        assert posted.channel == CHANNEL
        assert (body["text"], body["blocks"]) == (payload["text"], payload["blocks"])
        assert body["unfurl_links"] is False
        assert body["unfurl_media"] is False
    assert fake.errors() == []  # within Block Kit's limits: the stand-in checks them


async def test_a_gone_channel_is_dead_and_nothing_is_posted(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    fake.channels["CDELETED"] = Channel("CDELETED", deleted=True)
    fake.channels["CARCHIVE"] = Channel("CARCHIVE", archived=True)
    fake.channels["CPRIVATE"] = Channel("CPRIVATE", private=True, bot_member=False)
    for channel, error in (
        ("CDELETED", "channel_not_found"),
        ("CARCHIVE", "is_archived"),
        ("CPRIVATE", "channel_not_found"),  # a private channel the bot left is invisible to it
    ):
        with pytest.raises(DeadTarget, match=error):
            await poster.post(subscription(f"slack:{channel}"), hostile_digest(), NONCE)
    assert fake.messages == []


async def test_a_public_channel_not_joined_takes_the_text_with_chat_write_public(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    fake.channels[CHANNEL] = Channel(CHANNEL, bot_member=False)
    await poster.post(subscription(), hostile_digest(), NONCE)
    assert len(fake.messages) == 1
    assert "conversations.join" not in fake.methods()


async def test_without_chat_write_public_the_bot_joins_then_posts(fake: FakeSlack) -> None:
    fake.tokens[TOKEN] = BOT_SCOPES - {"chat:write.public"}
    fake.channels[CHANNEL] = Channel(CHANNEL, bot_member=False)
    poster = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url)
    await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.methods() == ["chat.postMessage", "conversations.join", "chat.postMessage"]
    assert fake.errors() == [("chat.postMessage", "not_in_channel")]
    assert len(fake.messages) == 1
    assert fake.channels[CHANNEL].bot_member


@pytest.mark.parametrize(
    ("join_error", "reason"),
    [
        (None, "channel_not_found"),  # the stand-in: a private channel the bot left is invisible
        ("method_not_supported_for_channel_type", "no longer in this private channel"),
    ],
)
async def test_not_in_a_private_channel_is_dead_after_trying_to_join(
    fake: FakeSlack, poster: SlackPoster, join_error: str | None, reason: str
) -> None:
    fake.channels[CHANNEL] = Channel(CHANNEL, private=True, bot_member=False)
    fake.fail("chat.postMessage", "not_in_channel")
    if join_error:
        fake.fail("conversations.join", join_error)
    with pytest.raises(DeadTarget, match=reason):
        await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.methods() == ["chat.postMessage", "conversations.join"]
    assert fake.messages == []
    assert not fake.channels[CHANNEL].bot_member


async def test_a_missing_scope_is_refused_naming_the_scope(fake: FakeSlack) -> None:
    fake.tokens[TOKEN] = BOT_SCOPES - {"chat:write.public", "channels:join"}
    fake.channels[CHANNEL] = Channel(CHANNEL, bot_member=False)
    poster = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url)
    with pytest.raises(Refused, match="needs channels:join"):
        await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.errors()[-1] == ("conversations.join", "missing_scope")
    assert fake.messages == []


async def test_a_bad_token_is_refused(fake: FakeSlack) -> None:
    poster = SlackPoster("xoxb-revoked", COMPANY_NAMES, api_url=fake.api_url)
    with pytest.raises(Refused, match="invalid_auth"):
        await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.messages == []


async def test_a_server_error_raises(fake: FakeSlack, poster: SlackPoster) -> None:
    fake.fail("chat.postMessage", "internal_error", status=500)
    with pytest.raises(SlackApiError):
        await poster.post(subscription(), hostile_digest(), NONCE)


async def test_a_rate_limit_is_waited_out_for_its_retry_after(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    fake.rate_limit("chat.postMessage", retry_after=1)
    await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.attempts == 2
    assert len(fake.messages) == 1
    (_, limited), (_, retried) = fake.arrivals
    assert retried - limited >= 1  # slack_sdk waited as long as Slack asked


async def test_a_rate_limit_beyond_the_retries_is_refused_not_posted(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    fake.rate_limit("chat.postMessage", times=3)
    with pytest.raises(Refused, match="ratelimited"):
        await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.attempts == 3
    assert fake.messages == []


async def test_a_retry_resumes_at_the_part_that_failed(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    rendered = render_slack(long_digest(), COMPANY_NAMES)
    journal = MemoryJournal()
    fake.fail("chat.postMessage", "fatal_error", after=1)
    with pytest.raises(Refused):
        await poster.post(subscription(), long_digest(), NONCE, journal)
    assert texts(fake) == [rendered[0]["text"]]
    await poster.post(subscription(), long_digest(), NONCE, journal)
    assert texts(fake) == [p["text"] for p in rendered]
    assert [m.body["metadata"]["event_payload"] for m in fake.messages] == [
        {"delivery": NONCE, "part": str(k)} for k in range(len(rendered))
    ]
    await poster.post(subscription(), long_digest(), "cw7-other")  # another delivery: sent again
    assert len(fake.messages) == 2 * len(rendered)


async def test_a_part_in_doubt_found_in_the_history_is_not_posted_again(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    rendered = render_slack(long_digest(), COMPANY_NAMES)
    journal = MemoryJournal()
    await poster.post(subscription(), long_digest(), NONCE, journal)
    journal.parts["1"] = INTENDED  # as if the process died before recording Slack's answer
    journal.parts["2"] = INTENDED  # and this one was never really sent
    fake.messages.pop()
    await poster.post(subscription(), long_digest(), NONCE, journal)
    assert fake.count("conversations.history") == 2
    assert fake.attempts == len(rendered) + 1
    assert [m.body["metadata"]["event_payload"]["part"] for m in fake.messages] == ["0", "1", "2"]
    unchecked = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url, dedupe=False)
    journal.parts["1"] = INTENDED
    await unchecked.post(subscription(), long_digest(), NONCE, journal)
    assert len(fake.messages) == 4  # without the check the part in doubt is posted twice


async def test_the_history_of_a_channel_not_joined_is_read_after_joining(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    """chat:write.public posts without membership; reading the history needs it."""
    fake.channels[CHANNEL] = Channel(CHANNEL, bot_member=False)
    journal = MemoryJournal()
    await poster.post(subscription(), hostile_digest(), NONCE, journal)
    journal.parts["0"] = INTENDED
    await poster.post(subscription(), hostile_digest(), NONCE, journal)
    assert fake.methods() == [
        "chat.postMessage",
        "conversations.history",
        "conversations.join",
        "conversations.history",
    ]
    assert len(fake.messages) == 1


async def test_an_answer_after_the_client_timeout_is_found_not_posted_twice(
    fake: FakeSlack,
) -> None:
    poster = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url, timeout=1)
    journal = MemoryJournal()
    fake.hold = lambda: asyncio.sleep(1.5)
    with pytest.raises(asyncio.TimeoutError):
        await poster.post(subscription(), hostile_digest(), NONCE, journal)
    fake.hold = None
    assert fake.attempts == 1
    assert len(fake.messages) == 1
    await poster.post(subscription(), hostile_digest(), NONCE, journal)
    assert fake.attempts == 1
    assert fake.count("conversations.history") == 1
    assert len(fake.messages) == 1


async def test_the_token_is_sent_as_bearer_and_never_logged(
    fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    poster = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url)
    await poster.post(subscription(), hostile_digest(), NONCE)
    fake.fail("chat.postMessage", "fatal_error")
    with pytest.raises(Refused) as refused:
        await poster.post(subscription(), hostile_digest(), "cw7-2")
    await poster.close()
    assert fake.auth == {f"Bearer {TOKEN}"}
    assert "chat.postMessage" in caplog.text  # slack_sdk did log its requests
    assert TOKEN not in caplog.text
    assert TOKEN not in str(refused.value)
    assert TOKEN not in repr(poster)


UPLOAD = ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


async def test_the_chart_is_uploaded_after_the_messages(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    digest = replace(long_digest(), chart=chart())
    await poster.post(subscription(), digest, NONCE)
    assert fake.events == ["chat.postMessage"] * 3 + UPLOAD
    [(file_id, data)] = fake.uploads
    assert data == PNG
    [done] = fake.shared
    assert done["channel_id"] == CHANNEL
    assert done["files"] == [{"id": file_id, "title": chart().description}]


async def test_a_chart_for_a_channel_not_joined_joins_it_first(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    fake.channels[CHANNEL] = Channel(CHANNEL, bot_member=False)
    await poster.post(subscription(), replace(hostile_digest(), chart=chart()), NONCE)
    assert fake.events == ["chat.postMessage", *UPLOAD, "conversations.join", *UPLOAD]
    assert fake.errors() == [("files.completeUploadExternal", "not_in_channel")]
    [done] = fake.shared
    assert done["channel_id"] == CHANNEL
    assert len(fake.messages) == 1


async def test_a_failed_upload_never_fails_the_digest_nor_repeats(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    digest = replace(hostile_digest(), chart=chart())
    journal = MemoryJournal()
    fake.fail("files.completeUploadExternal", "file_uploads_disabled")
    await poster.post(subscription(), digest, NONCE, journal)  # the text is out: not a failure
    assert len(fake.messages) == 1
    assert fake.shared == []
    fake.events.clear()
    await poster.post(subscription(), digest, NONCE, journal)  # at most once: not tried again
    assert fake.events == []
    fake.tokens[TOKEN] = BOT_SCOPES - {"files:write"}
    await poster.post(subscription(), digest, "cw7-3")
    assert len(fake.messages) == 2
    assert fake.shared == []
    assert fake.errors()[-1] == ("files.getUploadURLExternal", "missing_scope")


def test_targets_and_base_urls() -> None:
    assert channel_of("slack:C0123ABCD") == "C0123ABCD"
    for bad in ("slack:", "slack:#general", "discord:C1", "C1"):
        with pytest.raises(ValueError, match="not a Slack channel target"):
            channel_of(bad)
    assert api_base_url(None) == "https://slack.com/api/"
    assert api_base_url("http://127.0.0.1:9000/api") == "http://127.0.0.1:9000/api/"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}")
    yield opened
    await opened.close()


async def test_deliver_digest_posts_records_and_retries_through_slack(
    store: Store, fake: FakeSlack, poster: SlackPoster
) -> None:
    clock = Clock(utc(2026, 11, 28, 7))
    sub = await subscribe(store, utc(2026, 11, 27, 12), target=f"slack:{CHANNEL}")
    ctx = DeliveryContext(store, {"slack": poster}, clock)
    await stored(store, utc(2026, 11, 28, 1), (1, NVIDIA))
    fake.fail("chat.postMessage", "fatal_error")
    failed = await deliver_digest(ctx, sub, utc(2026, 11, 28, 7))
    assert failed.status == "failed"
    assert "fatal_error" in (failed.error or "")
    clock.now += ctx.first_backoff
    [sent] = await deliver_pending(ctx)
    assert (sent.status, sent.stories) == ("sent", 1)
    [message] = fake.messages
    assert any("Story 1 about chips" in json.dumps(b) for b in message.body["blocks"])
    assert await store.digest_state(sub.id, utc(2026, 11, 28, 7)) == "sent"


async def test_a_crash_after_slack_took_a_part_is_resolved_from_the_history(
    store: Store, fake: FakeSlack, poster: SlackPoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(utc(2026, 11, 28, 7))
    sub = await subscribe(store, utc(2026, 11, 27, 12), target=f"slack:{CHANNEL}")
    ctx = DeliveryContext(store, {"slack": poster}, clock)
    await stored(store, utc(2026, 11, 28, 1), (1, NVIDIA))
    real_mark = outbox.mark_part

    def killed_before_accepting(conn: Any, post_id: int, part: str, state: str, now: Any) -> None:
        if state == outbox.ACCEPTED:
            raise Killed
        real_mark(conn, post_id, part, state, now)

    monkeypatch.setattr(outbox, "mark_part", killed_before_accepting)
    with pytest.raises(Killed):
        await deliver_digest(ctx, sub, utc(2026, 11, 28, 7))
    monkeypatch.setattr(outbox, "mark_part", real_mark)
    await store.release_stale_leases()
    [resolved] = await deliver_pending(ctx)
    assert resolved.status == "sent"
    assert fake.attempts == 1
    assert len(fake.messages) == 1
    assert fake.count("conversations.history") == 1


async def test_a_lost_channel_disables_the_subscription_and_tells_the_admins(
    store: Store, fake: FakeSlack, poster: SlackPoster
) -> None:
    clock = Clock(utc(2026, 11, 28, 7))
    sub = await subscribe(store, utc(2026, 11, 27, 12), target=f"slack:{CHANNEL}")
    admins = StringIO()
    posters: dict[str, Any] = {"slack": poster, "console": ConsolePoster(admins, COMPANY_NAMES)}
    ctx = DeliveryContext(store, posters, clock, admin_target="console")
    await stored(store, utc(2026, 11, 28, 1), (1, NVIDIA))
    fake.channels[CHANNEL] = Channel(CHANNEL, private=True, bot_member=False)  # removed from it
    dead = await deliver_digest(ctx, sub, utc(2026, 11, 28, 7))
    assert dead.status == "dead"
    assert "channel_not_found" in (dead.error or "")
    [disabled] = await store.list_subscriptions()
    assert disabled.disabled
    assert "channel_not_found" in disabled.disabled
    assert f"ChipWire stopped posting to slack:{CHANNEL}" in admins.getvalue()
    clock.now += ctx.max_backoff
    assert await deliver_pending(ctx) == []  # never retried
    assert fake.messages == []


async def test_a_digest_slack_took_part_of_is_pending_not_failed_and_ends_sent(
    store: Store, fake: FakeSlack, poster: SlackPoster
) -> None:
    clock = Clock(utc(2026, 11, 28, 7))
    target = f"slack:{CHANNEL}"
    sub = await subscribe(store, utc(2026, 11, 27, 12), target=target, top_stories=60)
    ctx = DeliveryContext(store, {"slack": poster}, clock)
    for n in range(0, 90, 30):  # enough stories for several messages
        await stored(
            store, utc(2026, 11, 28, 1), *((k, NVIDIA) for k in range(n, n + 30)), feed=f"f{n}"
        )
    fake.fail("chat.postMessage", "fatal_error", after=1)
    period = utc(2026, 11, 28, 7)
    first = await deliver_digest(ctx, sub, period)
    assert first.status == "failed"
    assert len(fake.messages) == 1
    assert await store.digest_state(sub.id, period) == "pending"  # readers saw its first part
    clock.now += ctx.first_backoff
    [sent] = await deliver_pending(ctx)
    assert sent.status == "sent"
    assert await store.digest_state(sub.id, period) == "sent"
    parts = [m.body["metadata"]["event_payload"]["part"] for m in fake.messages]
    assert parts == [str(k) for k in range(len(parts))]
    assert len(parts) > 1
