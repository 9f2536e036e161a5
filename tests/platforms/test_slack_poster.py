"""The Slack poster against a fake Slack Web API on 127.0.0.1 (real HTTP through slack_sdk)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.digest.deliver import DeliveryContext, deliver_digest, deliver_pending
from bot.models import Digest, DigestSection, Subscription
from bot.platforms.journal import INTENDED, DeadTarget, MemoryJournal, Refused
from bot.platforms.slack.poster import SlackPoster, api_base_url, channel_of
from bot.platforms.slack.render import render_slack
from bot.store import outbox
from bot.store.repo import Store
from tests.digest.test_deliver import NVIDIA, Clock, stored, subscribe, utc
from tests.platforms import COMPANY_NAMES, PNG, chart, hostile_digest, make_story
from tests.platforms.test_discord_poster import Killed

TOKEN = "xoxb-1111-2222-secretsecret"
CHANNEL = "C0123ABCD"
NONCE = "cw7-1764313200"
FILE_ID = "F0CHART1"


@dataclass
class FakeSlack:
    """Records `chat.postMessage` calls (JSON or form); answers like Slack's Web API."""

    api_url: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)  # accepted, in order
    attempts: int = 0
    answers: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # attempt -> reply
    auth: set[str] = field(default_factory=set)
    events: list[str] = field(default_factory=list)  # every call, in order
    uploads: list[bytes] = field(default_factory=list)
    completed: list[dict[str, Any]] = field(default_factory=list)
    upload_status: int = 200
    complete_error: str | None = None
    histories: int = 0  # conversations.history calls
    hold: float = 0.0  # seconds chat.postMessage keeps its answer back, the message made

    async def history(self, request: web.Request) -> web.Response:
        """Newest first; metadata only with include_all_metadata, as Slack does."""
        self.histories += 1
        args = dict(request.query) | dict(await request.post())
        with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        found = [
            {"ts": m["ts"], "text": m["text"]}
            | ({"metadata": m["metadata"]} if with_metadata and "metadata" in m else {})
            for m in reversed(self.messages)
            if m["channel"] == args["channel"]
        ]
        return web.json_response({"ok": True, "messages": found, "has_more": False})

    async def post_message(self, request: web.Request) -> web.Response:
        self.auth.add(request.headers.get("Authorization", ""))
        self.events.append("chat.postMessage")
        body = await self._body(request)
        self.attempts += 1
        status, answer = self.answers.pop(self.attempts - 1, (200, {"ok": True}))
        if status == 429:
            return web.json_response(answer, status=429, headers={"Retry-After": "0"})
        if status == 200 and answer.get("ok"):
            ts = f"1764313200.{self.attempts:06d}"
            if isinstance(body.get("metadata"), str):
                body["metadata"] = json.loads(body["metadata"])
            self.messages.append(body | {"ts": ts})
            answer = {**answer, "channel": body["channel"], "ts": ts}
            await asyncio.sleep(self.hold)
        return web.json_response(answer, status=status)

    async def upload_url(self, request: web.Request) -> web.Response:
        self.events.append("files.getUploadURLExternal")
        base = self.api_url.removesuffix("/api/")
        return web.json_response(
            {"ok": True, "upload_url": f"{base}/upload/{FILE_ID}", "file_id": FILE_ID}
        )

    async def upload(self, request: web.Request) -> web.Response:
        self.events.append("upload")
        self.uploads.append(await request.read())
        return web.Response(status=self.upload_status, text="OK")

    async def complete(self, request: web.Request) -> web.Response:
        self.events.append("files.completeUploadExternal")
        args = dict(request.query) | dict(await request.post())
        if self.complete_error:
            return web.json_response({"ok": False, "error": self.complete_error})
        self.completed.append(args)
        return web.json_response({"ok": True, "files": json.loads(args["files"])})

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form: dict[str, Any] = dict(await request.post())
        blocks = form.get("blocks")
        if isinstance(blocks, str):
            form["blocks"] = json.loads(blocks)
        return form

    def answer(self, status: int, body: dict[str, Any], *, after: int = 0) -> None:
        self.answers[self.attempts + after] = (status, body)


@asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    app = web.Application()
    app.router.add_post("/api/chat.postMessage", fake.post_message)
    app.router.add_route("*", "/api/conversations.history", fake.history)
    app.router.add_post("/api/files.getUploadURLExternal", fake.upload_url)
    app.router.add_post("/api/files.completeUploadExternal", fake.complete)
    app.router.add_post(f"/upload/{FILE_ID}", fake.upload)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.api_url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    try:
        yield fake
    finally:
        await runner.cleanup()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with fake_slack() as server:
        yield server


@pytest.fixture
async def poster(fake: FakeSlack) -> AsyncIterator[SlackPoster]:
    opened = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url)
    yield opened
    await opened.close()


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
    for body, payload in zip(fake.messages, rendered, strict=True):
        assert body["channel"] == CHANNEL
        assert (body["text"], body["blocks"]) == (payload["text"], payload["blocks"])
        assert body["unfurl_links"] is False and body["unfurl_media"] is False


async def test_not_ok_raises_and_a_gone_channel_is_dead(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    fake.answer(200, {"ok": False, "error": "not_in_channel"})
    with pytest.raises(Refused, match="not_in_channel"):
        await poster.post(subscription(), hostile_digest(), NONCE)
    for gone in ("channel_not_found", "is_archived"):
        fake.answer(200, {"ok": False, "error": gone})
        with pytest.raises(DeadTarget, match=gone):
            await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.messages == []


async def test_a_server_error_raises(fake: FakeSlack, poster: SlackPoster) -> None:
    fake.answer(500, {"ok": False, "error": "internal_error"})
    with pytest.raises(SlackApiError):
        await poster.post(subscription(), hostile_digest(), NONCE)


async def test_a_rate_limit_is_waited_out(fake: FakeSlack, poster: SlackPoster) -> None:
    fake.answer(429, {"ok": False, "error": "ratelimited"})
    await poster.post(subscription(), hostile_digest(), NONCE)
    assert fake.attempts == 2 and len(fake.messages) == 1


async def test_a_retry_resumes_at_the_part_that_failed(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    rendered = render_slack(long_digest(), COMPANY_NAMES)
    journal = MemoryJournal()
    fake.answer(200, {"ok": False, "error": "fatal_error"}, after=1)
    with pytest.raises(Refused):
        await poster.post(subscription(), long_digest(), NONCE, journal)
    assert [m["text"] for m in fake.messages] == [rendered[0]["text"]]
    await poster.post(subscription(), long_digest(), NONCE, journal)
    assert [m["text"] for m in fake.messages] == [p["text"] for p in rendered]
    assert [m["metadata"]["event_payload"] for m in fake.messages] == [
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
    assert fake.histories == 2 and fake.attempts == len(rendered) + 1
    assert [m["metadata"]["event_payload"]["part"] for m in fake.messages] == ["0", "1", "2"]
    unchecked = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url, dedupe=False)
    journal.parts["1"] = INTENDED
    await unchecked.post(subscription(), long_digest(), NONCE, journal)
    assert len(fake.messages) == 4  # without the check the part in doubt is posted twice


async def test_an_answer_after_the_client_timeout_is_found_not_posted_twice(
    fake: FakeSlack,
) -> None:
    poster = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url, timeout=1)
    journal = MemoryJournal()
    fake.hold = 1.5
    with pytest.raises(asyncio.TimeoutError):
        await poster.post(subscription(), hostile_digest(), NONCE, journal)
    fake.hold = 0
    assert fake.attempts == 1 and len(fake.messages) == 1  # Slack made it; the bot never heard
    await poster.post(subscription(), hostile_digest(), NONCE, journal)
    assert fake.attempts == 1 and fake.histories == 1 and len(fake.messages) == 1


async def test_the_token_is_sent_as_bearer_and_never_logged(
    fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    poster = SlackPoster(TOKEN, COMPANY_NAMES, api_url=fake.api_url)
    await poster.post(subscription(), hostile_digest(), NONCE)
    fake.answer(200, {"ok": False, "error": "not_in_channel"})
    with pytest.raises(Refused) as refused:
        await poster.post(subscription(), hostile_digest(), "cw7-2")
    await poster.close()
    assert fake.auth == {f"Bearer {TOKEN}"}
    assert "chat.postMessage" in caplog.text  # slack_sdk did log its requests
    assert TOKEN not in caplog.text
    assert TOKEN not in str(refused.value) and TOKEN not in repr(poster)


async def test_the_chart_is_uploaded_after_the_messages(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    digest = replace(long_digest(), chart=chart())
    await poster.post(subscription(), digest, NONCE)
    upload = ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert fake.events == ["chat.postMessage"] * 3 + upload
    assert fake.uploads == [PNG]
    [done] = fake.completed
    assert done["channel_id"] == CHANNEL
    assert json.loads(done["files"]) == [{"id": FILE_ID, "title": chart().description}]


async def test_a_failed_upload_never_fails_the_digest_nor_repeats(
    fake: FakeSlack, poster: SlackPoster
) -> None:
    digest = replace(hostile_digest(), chart=chart())
    journal = MemoryJournal()
    fake.complete_error = "not_in_channel"
    await poster.post(subscription(), digest, NONCE, journal)  # the text is out: not a failure
    assert len(fake.messages) == 1 and fake.completed == []
    fake.complete_error = None
    fake.events.clear()
    await poster.post(subscription(), digest, NONCE, journal)  # at most once: not tried again
    assert fake.events == []
    fake.upload_status = 500
    await poster.post(subscription(), digest, "cw7-3")
    assert len(fake.messages) == 2 and fake.completed == []


def test_targets_and_base_urls() -> None:
    assert channel_of("slack:C0123ABCD") == "C0123ABCD"
    for bad in ("slack:", "slack:#general", "discord:C1", "C1"):
        with pytest.raises(ValueError):
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
    fake.answer(200, {"ok": False, "error": "not_in_channel"})
    failed = await deliver_digest(ctx, sub, utc(2026, 11, 28, 7))
    assert failed.status == "failed" and "not_in_channel" in (failed.error or "")
    clock.now += ctx.first_backoff
    [sent] = await deliver_pending(ctx)
    assert (sent.status, sent.stories) == ("sent", 1)
    [message] = fake.messages
    assert any("Story 1 about chips" in json.dumps(b) for b in message["blocks"])
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
    assert fake.attempts == 1 and len(fake.messages) == 1 and fake.histories == 1
