"""`/chipnews` through Bolt's own request path: signed requests in, replies at a fake Slack.

Requests are signed with slack_sdk's `SignatureVerifier` and dispatched with
`AsyncApp.async_dispatch` (and once through the aiohttp handler on a real local server); the
replies go over real HTTP to the Slack stand-in on 127.0.0.1 (tests/support/fake_slack.py:
response_urls that expire and wear out, `users.info`, `chat.postMessage`, `chat.postEphemeral`,
scopes per token, channel membership). The command table runs on a real SQLite store.

Charts go through slack_sdk's `files_upload_v2`, whose three steps the stand-in answers too:
`files.getUploadURLExternal` (an upload URL pointing back at it), the POST of the bytes to it,
and `files.completeUploadExternal` (the bot must be in the channel).

The apps are built with `process_before_response=True`: Bolt then runs the listener (which acks
first) to its end before `async_dispatch` returns, so the reply has reached the fake Slack when
the test looks. In production over HTTP it stays False and the command finishes after the ack.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientSession, web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.classify.catalog import load_catalog
from bot.commands.messages import Card, Command, Moment, Phrase, Reply
from bot.commands.table import Context, make_context
from bot.digest.schedules import next_fire, parse_schedule
from bot.platforms.slack.commands import (
    EVENTS_PATH,
    INVITE_NOTE,
    PRIVATE_CHART_NOTE,
    UPLOAD_FAILED_NOTE,
    build_app,
    http_handler,
)
from bot.platforms.slack.render import (
    MAX_BLOCKS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    fallback_text,
    reply_blocks,
)
from bot.store.repo import Store
from bot.text import local_time, text_len
from tests.commands.test_commands import HUAWEI, NOW, ago, settings_for, stored
from tests.platforms import HOSTILE_SUMMARY, HOSTILE_TITLE, PNG, chart
from tests.support.fake_slack import (
    BOT_SCOPES,
    RESPONSE_URL_LIFETIME,
    RESPONSE_URL_USES,
    Channel,
    FakeSlack,
    serving,
    slash_payload,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-1111-2222-secretsecret"
TEAM = "T0TEAM"
CHANNEL = "C0123ABCD"
ADMIN = "UADMIN"
MEMBER = "UMEMBER"
LISTED = "ULISTED"
FILE_ID = "F0CHART1"
THREAD = "1764313200.000100"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with serving(FakeSlack(tokens={TOKEN: BOT_SCOPES}, admins={ADMIN})) as server:
        yield server


def replies(fake: FakeSlack) -> list[dict[str, Any]]:
    """What reached the response_urls, in order."""
    return [answered.body for answered in fake.responses]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(settings_for(tmp_path).database_url)
    await stored(
        opened,
        "Chip Wire",
        (1, HUAWEI, {"title": "Huawei Ascend 910C ships in volume", "published_at": ago(1)}),
        (2, HUAWEI, {"title": HOSTILE_TITLE, "summary": HOSTILE_SUMMARY, "published_at": ago(2)}),
    )
    await stored(
        opened,
        "Xinpian",
        (3, HUAWEI, {"title": "华为昇腾芯片量产", "published_at": ago(3), "language": "zh"}),
    )
    yield opened
    await opened.close()


@pytest.fixture
def ctx(store: Store, tmp_path: Path) -> Context:
    return make_context(store, load_catalog(), lambda: NOW, settings_for(tmp_path))


@pytest.fixture
def app(ctx: Context, fake: FakeSlack) -> AsyncApp:
    return build_app(
        lambda: ctx,
        signing_secret=SECRET,
        token=TOKEN,
        api_url=fake.api_url,
        admins=frozenset({LISTED}),
        process_before_response=True,
    )


def slash_body(
    text: str, *, user: str = MEMBER, response_url: str | None = None, **extra: str
) -> str:
    form = slash_payload(text, user=user, channel=CHANNEL, **extra)
    if response_url is not None:
        form["response_url"] = response_url
    return urlencode(form)


def signed_headers(
    body: str, *, timestamp: int | None = None, secret: str = SECRET
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": signature or "",
    }


async def send(app: AsyncApp, body: str, headers: dict[str, str]) -> int:
    wanted: dict[str, str | Sequence[str]] = dict(headers)
    request = AsyncBoltRequest(body=body, headers=wanted)
    response = await app.async_dispatch(request)
    return response.status


async def command(app: AsyncApp, fake: FakeSlack, text: str, *, user: str = MEMBER) -> int:
    body = slash_body(text, user=user, response_url=fake.response_url())
    return await send(app, body, signed_headers(body))


def dumped(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def assert_within_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert text_len(block["text"]["text"]) <= MAX_HEADER_TEXT
        elif block["type"] == "section":
            assert text_len(block["text"]["text"]) <= MAX_SECTION_TEXT
            assert block["text"]["verbatim"] is True


# the request path ----------------------------------------------------------------------------


async def test_company_card_arrives_at_the_response_url(app: AsyncApp, fake: FakeSlack) -> None:
    assert await command(app, fake, "company huawei") == 200
    [answer] = replies(fake)
    assert answer["response_type"] == "in_channel"
    assert answer["text"] == "Huawei"
    blocks = answer["blocks"]
    assert_within_limits(blocks)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Huawei", "emoji": True},
    }
    text = dumped(blocks)
    assert "华为" in text  # "Also known as: …, 华为, …"
    assert "Top sources: Chip Wire (2), Xinpian (1)" in text
    assert "*<https://news.example/1|Huawei Ascend 910C ships in volume>*" in text
    assert "华为昇腾芯片量产" in text
    assert fake.methods() == []  # not an admin command: no users.info, no auth.test


async def test_the_chinese_alias_gives_the_same_card(app: AsyncApp, fake: FakeSlack) -> None:
    assert await command(app, fake, "company 华为") == 200
    assert await command(app, fake, "company huawei") == 200
    first, second = replies(fake)
    assert first["blocks"] == second["blocks"]


async def test_a_bad_signature_is_refused_with_401(app: AsyncApp, fake: FakeSlack) -> None:
    body = slash_body("company huawei", response_url=fake.response_url())
    assert await send(app, body, signed_headers(body, secret="not-the-secret")) == 401
    tampered = slash_body("subscribe nvidia", user=ADMIN, response_url=fake.response_url())
    assert await send(app, tampered, signed_headers(body)) == 401  # signature of another body
    unsigned = {"content-type": "application/x-www-form-urlencoded"}
    assert await send(app, body, unsigned) == 401
    assert replies(fake) == []
    assert fake.calls == []


async def test_a_ten_minute_old_request_is_refused_with_401(app: AsyncApp, fake: FakeSlack) -> None:
    body = slash_body("company huawei", response_url=fake.response_url())
    old = int(time.time()) - 10 * 60
    assert await send(app, body, signed_headers(body, timestamp=old)) == 401
    assert replies(fake) == []


async def test_a_member_cannot_subscribe(app: AsyncApp, fake: FakeSlack) -> None:
    assert await command(app, fake, "subscribe nvidia", user=MEMBER) == 200
    [answer] = replies(fake)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("⚠ ")
    assert "Only admins can use 'subscribe'" in dumped(answer["blocks"])
    [call] = fake.calls
    assert (call.method, call.args["user"]) == ("users.info", MEMBER)
    assert fake.auth == {f"Bearer {TOKEN}"}


async def test_without_users_read_only_the_allow_list_is_admin(
    app: AsyncApp, fake: FakeSlack
) -> None:
    fake.tokens[TOKEN] = BOT_SCOPES - {"users:read"}
    assert await command(app, fake, "subscribe nvidia", user=ADMIN) == 200
    assert await command(app, fake, "unsubscribe", user=LISTED) == 200
    refused, allowed = replies(fake)
    assert refused["response_type"] == "ephemeral"
    assert "Only admins can use 'subscribe'" in dumped(refused["blocks"])
    assert "Only admins" not in dumped(allowed["blocks"])
    assert fake.errors() == [("users.info", "missing_scope")]


async def test_workspace_admins_and_listed_users_can_subscribe(
    app: AsyncApp, fake: FakeSlack, store: Store
) -> None:
    assert await command(app, fake, "subscribe nvidia", user=ADMIN) == 200
    assert await command(app, fake, "unsubscribe", user=LISTED) == 200
    made, gone = replies(fake)
    assert "Only admins" not in dumped(made["blocks"])
    assert "nvidia" in dumped(made["blocks"]).lower()
    assert f"slack:{CHANNEL}" in dumped(made["blocks"])
    assert "Unsubscribed this channel" in dumped(gone["blocks"])
    assert fake.methods() == ["users.info"]  # the allow-listed user needed no lookup


async def test_unreadable_text_and_unknown_commands_are_private_errors(
    app: AsyncApp, fake: FakeSlack
) -> None:
    assert await command(app, fake, "") == 200
    assert await command(app, fake, 'search "Ascend') == 200
    assert await command(app, fake, "frobnicate") == 200
    for answer in replies(fake):
        assert answer["response_type"] == "ephemeral"
        assert answer["text"].startswith("⚠ ")
    assert "Unknown command 'frobnicate'" in dumped(replies(fake)[2]["blocks"])


async def test_hostile_text_is_inert_in_the_blocks(app: AsyncApp, fake: FakeSlack) -> None:
    assert await command(app, fake, "company huawei") == 200
    assert await command(app, fake, "company '<!channel> @everyone *bold* <@U1|x>'") == 200
    card, error = (dumped(answer["blocks"]) for answer in replies(fake))
    assert "Nvidia &lt;!channel&gt; leak" in card  # the stored hostile title, escaped
    assert "&lt;script&gt;" in card
    error_text = error + replies(fake)[1]["text"]
    for blocks in (card, error_text):
        for live in ("<!channel>", "<!here>", "<@", "<#", "@everyone", "@here", "**", "`"):
            assert live not in blocks, live
    assert "&lt;!channel&gt;" in error_text
    assert "∗bold∗" in replies(fake)[1]["text"]  # mrkdwn fallback: look-alike asterisks


async def test_without_a_response_url_it_posts_through_the_web_api(
    app: AsyncApp, fake: FakeSlack
) -> None:
    public = slash_body("company huawei")
    private = slash_body("subscribe nvidia")
    assert await send(app, public, signed_headers(public)) == 200
    assert await send(app, private, signed_headers(private)) == 200
    assert fake.methods() == ["chat.postMessage", "users.info", "chat.postEphemeral"]
    posted, ephemeral = fake.calls[0].args, fake.calls[2].args
    assert posted["channel"] == CHANNEL
    assert posted["text"] == "Huawei"
    assert "Ascend 910C" in dumped(posted["blocks"])
    assert (ephemeral["channel"], ephemeral["user"]) == (CHANNEL, MEMBER)
    assert "Only admins" in dumped(ephemeral["blocks"])


async def test_the_aiohttp_handler_serves_slack_events(app: AsyncApp, fake: FakeSlack) -> None:
    server = web.Application()
    server.router.add_post(EVENTS_PATH, http_handler(app))
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{EVENTS_PATH}"
    body = slash_body("company huawei", response_url=fake.response_url())
    try:
        async with ClientSession() as session:
            async with session.post(url, data=body, headers=signed_headers(body)) as ok:
                assert ok.status == 200
            bad = signed_headers(body, secret="wrong")
            async with session.post(url, data=body, headers=bad) as refused:
                assert refused.status == 401
    finally:
        await runner.cleanup()
    [answer] = replies(fake)
    assert answer["text"] == "Huawei"


# times ---------------------------------------------------------------------------------------


def slack_date(moment: datetime, fallback: str) -> str:
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


async def test_card_times_are_slack_dates_each_reader_sees_in_their_zone(
    app: AsyncApp, fake: FakeSlack
) -> None:
    assert await command(app, fake, "company huawei") == 200
    [answer] = replies(fake)
    text = dumped(answer["blocks"])
    assert slack_date(ago(1), local_time(ago(1), UTC)) in text
    assert "published: <!date^" in text


async def test_the_next_digest_time_is_a_slack_date(app: AsyncApp, fake: FakeSlack) -> None:
    schedule = "daily 08:00"
    assert await command(app, fake, f'subscribe nvidia "{schedule}" Europe/Rome', user=ADMIN) == 200
    assert await command(app, fake, "subscriptions") == 200
    made, listed = replies(fake)
    upcoming = next_fire(parse_schedule(schedule), "Europe/Rome", NOW)
    expected = slack_date(upcoming, local_time(upcoming, ZoneInfo("Europe/Rome")))
    for answer in (made, listed):
        assert f"next {expected}" in dumped(answer["blocks"])


def test_moments_in_lines_and_fields_keep_the_text_around_them_inert() -> None:
    at = datetime(2026, 11, 30, 13, 5, tzinfo=UTC)
    line = Phrase("<!channel> *next* ", Moment(at, "Mon 30 Nov 14:05 CET"), " ok")
    card = Card("T", None, "", (("when", Moment(at, "Mon 30 Nov 14:05 CET")), ("by", "<@U1>")))
    blocks = reply_blocks(Reply(title="Times", lines=(line,), cards=(card,)))
    stamp = slack_date(at, "Mon 30 Nov 14:05 CET")
    assert blocks[1]["text"]["text"] == f"&lt;!channel&gt; ∗next∗ {stamp} ok"
    assert blocks[3]["elements"][0]["text"] == f"when: {stamp} · by: &lt;@U1&gt;"
    assert str(line) == "<!channel> *next* Mon 30 Nov 14:05 CET ok"  # what the console shows


# refused response_urls ------------------------------------------------------------------------


async def slow_command(app: AsyncApp, fake: FakeSlack, text: str, *, user: str = MEMBER) -> int:
    """A command whose answer comes after its response_url expired."""
    url = fake.response_url()
    fake.advance(RESPONSE_URL_LIFETIME + 1)
    body = slash_body(text, user=user, response_url=url)
    return await send(app, body, signed_headers(body))


async def test_an_expired_response_url_is_logged_and_answered_in_the_channel(
    app: AsyncApp, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    assert await slow_command(app, fake, "company huawei") == 200
    assert replies(fake) == []
    [posted] = fake.messages
    assert posted.channel == CHANNEL
    assert posted.body["text"] == "Huawei"
    assert "Ascend 910C" in dumped(posted.body["blocks"])
    assert "HTTP 404 expired_url" in caplog.text


async def test_a_used_up_response_url_gives_a_private_answer_by_chat_post_ephemeral(
    app: AsyncApp, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    url = fake.response_url()
    body = slash_body("frobnicate", response_url=url)
    for _ in range(RESPONSE_URL_USES + 1):
        assert await send(app, body, signed_headers(body)) == 200
    assert len(replies(fake)) == RESPONSE_URL_USES
    [private] = fake.ephemerals
    assert (private.channel, private.body["user"]) == (CHANNEL, MEMBER)
    assert "Unknown command 'frobnicate'" in dumped(private.body["blocks"])
    assert "used_url" in caplog.text
    assert fake.messages == []


@pytest.mark.parametrize(
    ("refusal", "logged"),
    [((400, "invalid_blocks"), "HTTP 400 invalid_blocks"), ((429, None), "HTTP 429")],
)
async def test_a_refused_or_rate_limited_response_url_falls_back_to_the_web_api(
    app: AsyncApp,
    fake: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    refusal: tuple[int, str | None],
    logged: str,
) -> None:
    status, error = refusal
    if error:
        fake.fail("response_url", error, status=status)
    else:
        fake.rate_limit("response_url", retry_after=30)
    assert await command(app, fake, "company huawei") == 200
    assert replies(fake) == []
    assert len(fake.messages) == 1
    assert logged in caplog.text


async def test_a_rate_limited_web_api_answer_waits_for_its_retry_after(
    app: AsyncApp, fake: FakeSlack
) -> None:
    fake.rate_limit("chat.postMessage", retry_after=1)
    body = slash_body("company huawei")
    assert await send(app, body, signed_headers(body)) == 200
    [posted] = fake.messages
    assert posted.body["text"] == "Huawei"
    (_, limited), (_, retried) = fake.arrivals
    assert retried - limited >= 1  # slack_sdk waited as long as Slack asked


async def test_blocks_slack_calls_invalid_are_sent_again_as_text(
    app: AsyncApp, fake: FakeSlack
) -> None:
    fake.fail("response_url", "invalid_blocks", status=400)
    fake.fail("chat.postMessage", "invalid_blocks")
    assert await command(app, fake, "company huawei") == 200
    [posted] = fake.messages
    assert posted.body["text"] == "Huawei"
    assert "blocks" not in posted.body


async def test_where_no_ephemeral_can_go_the_answer_goes_to_the_askers_dm(
    app: AsyncApp, fake: FakeSlack
) -> None:
    """A public channel the bot never joined takes no ephemeral from it."""
    fake.channels[CHANNEL] = Channel(CHANNEL, bot_member=False)
    assert await slow_command(app, fake, "frobnicate") == 200
    assert fake.errors() == [("chat.postEphemeral", "not_in_channel")]
    [direct] = fake.messages
    assert direct.channel == MEMBER
    assert "Unknown command 'frobnicate'" in dumped(direct.body["blocks"])


async def test_an_answer_nothing_takes_is_logged_not_raised(
    app: AsyncApp, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake.tokens.clear()  # the token was revoked: invalid_auth everywhere
    assert await slow_command(app, fake, "company huawei") == 200
    assert fake.errors() == [("chat.postMessage", "invalid_auth")] * 2
    assert "the answer is lost" in caplog.text


async def test_a_chart_note_after_the_response_url_is_used_up_goes_by_web_api(
    app: AsyncApp, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_with(monkeypatch, trend_reply())
    fake.channels[CHANNEL] = Channel(CHANNEL, private=True, bot_member=False)
    fake.fail("response_url", "used_url", status=404, after=1)
    assert await command(app, fake, "trend nvidia") == 200
    [reply] = replies(fake)
    assert reply["response_type"] == "in_channel"
    # the bot cannot reach a private channel it is not in: the note goes to the asker's DM
    [note] = fake.messages
    assert (note.channel, note.body["text"]) == (MEMBER, INVITE_NOTE)


# charts --------------------------------------------------------------------------------------


def answer_with(monkeypatch: pytest.MonkeyPatch, reply: Reply) -> list[Command]:
    """The adapter's dispatch answers `reply` (the trend command is not in the table yet)."""
    seen: list[Command] = []

    async def dispatch(_: Context, command: Command) -> Reply:
        seen.append(command)
        return reply

    monkeypatch.setattr("bot.platforms.slack.commands.dispatch", dispatch)
    return seen


def trend_reply(**options: Any) -> Reply:
    return Reply(title="Trend: Nvidia", lines=("up 20%",), attachment=chart(), **options)


async def test_a_chart_is_uploaded_into_the_channel_after_the_reply(
    app: AsyncApp, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = answer_with(monkeypatch, trend_reply())
    assert await command(app, fake, "trend nvidia") == 200
    assert [(c.name, c.args) for c in seen] == [("trend", ("nvidia",))]
    [answer] = replies(fake)
    assert answer["response_type"] == "in_channel"
    assert answer["text"] == "Trend: Nvidia"
    assert fake.methods() == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    wanted = fake.args("files.getUploadURLExternal")
    assert (wanted["filename"], wanted["length"]) == (chart().filename, str(len(PNG)))
    assert wanted["alt_txt"] == chart().description
    assert fake.uploads == [(FILE_ID, PNG)]
    done = fake.args("files.completeUploadExternal")
    assert done["channel_id"] == CHANNEL
    assert "thread_ts" not in done
    assert done["files"] == [{"id": FILE_ID, "title": chart().description}]
    assert fake.auth == {f"Bearer {TOKEN}"}


async def test_a_chart_goes_into_the_thread_the_command_came_from(
    app: AsyncApp, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_with(monkeypatch, trend_reply())
    body = slash_body("trend nvidia", response_url=fake.response_url(), thread_ts=THREAD)
    assert await send(app, body, signed_headers(body)) == 200
    done = fake.args("files.completeUploadExternal")
    assert (done["channel_id"], done["thread_ts"]) == (CHANNEL, THREAD)


async def test_a_chart_for_a_public_channel_not_joined_joins_it_and_uploads(
    app: AsyncApp, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_with(monkeypatch, trend_reply())
    fake.channels[CHANNEL] = Channel(CHANNEL, bot_member=False)
    assert await command(app, fake, "trend nvidia") == 200
    [reply] = replies(fake)  # the response_url needs no membership
    assert reply["response_type"] == "in_channel"
    upload = ["files.getUploadURLExternal", "files.completeUploadExternal"]
    assert fake.methods() == [*upload, "conversations.join", *upload]
    assert fake.args("conversations.join")["channel"] == CHANNEL
    [shared] = fake.shared
    assert shared["channel_id"] == CHANNEL


@pytest.mark.parametrize(
    ("channel", "error", "note"),
    [
        (Channel(CHANNEL, private=True, bot_member=False), None, INVITE_NOTE),
        (Channel(CHANNEL), "file_uploads_disabled", UPLOAD_FAILED_NOTE),
    ],
)
async def test_a_refused_upload_is_a_private_note_not_a_crash(
    app: AsyncApp,
    fake: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    channel: Channel,
    error: str | None,
    note: str,
) -> None:
    answer_with(monkeypatch, trend_reply())
    fake.channels[CHANNEL] = channel
    if error:
        fake.fail("files.completeUploadExternal", error)
    assert await command(app, fake, "trend nvidia") == 200  # Bolt answers 500 if we raised
    reply, hint = replies(fake)
    assert reply["response_type"] == "in_channel"
    assert hint["response_type"] == "ephemeral"
    assert hint["replace_original"] is False
    assert hint["text"] == note
    if note == INVITE_NOTE:
        assert "`/invite @ChipWire`" in hint["text"]
    assert fake.shared == []


async def test_without_a_response_url_the_chart_follows_the_posted_message(
    app: AsyncApp, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_with(monkeypatch, trend_reply())
    fake.fail("files.completeUploadExternal", "file_uploads_disabled")
    body = slash_body("trend nvidia")
    assert await send(app, body, signed_headers(body)) == 200
    assert fake.methods() == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "chat.postEphemeral",
    ]
    hint = fake.args("chat.postEphemeral")
    assert (hint["channel"], hint["user"], hint["text"]) == (CHANNEL, MEMBER, UPLOAD_FAILED_NOTE)


async def test_a_private_reply_says_the_chart_is_left_out_and_uploads_nothing(
    app: AsyncApp, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_with(monkeypatch, trend_reply(ephemeral=True))
    assert await command(app, fake, "trend nvidia") == 200
    [answer] = replies(fake)
    assert answer["response_type"] == "ephemeral"
    assert PRIVATE_CHART_NOTE in dumped(answer["blocks"])
    assert fake.calls == []
    assert fake.uploads == []


# Block Kit -----------------------------------------------------------------------------------


def test_reply_blocks_stay_within_slack_limits() -> None:
    huge = "x" * 5000
    cards = tuple(
        Card(
            title=huge, url=f"https://news.example/{k}?a=1&b=<2>", body=huge, fields=(("id", huge),)
        )
        for k in range(40)
    )
    reply = Reply(title="T" * 400, lines=tuple(huge for _ in range(60)), cards=cards)
    blocks = reply_blocks(reply)
    assert_within_limits(blocks)
    assert blocks[-1]["type"] == "context"
    assert "More not shown" in dumped(blocks[-1:])
    assert sum(text_len(json.dumps(b, ensure_ascii=False)) for b in blocks) < 45_000
    assert text_len(blocks[0]["text"]["text"]) == MAX_HEADER_TEXT


def test_many_small_cards_are_cut_at_fifty_blocks() -> None:
    cards = tuple(
        Card(f"Story {k}", f"https://news.example/{k}?a=1&b=<2>", "Body.", (("id", f"#{k}"),))
        for k in range(40)
    )
    blocks = reply_blocks(Reply(title="Many", lines=("one", "two"), cards=cards))
    assert_within_limits(blocks)
    assert len(blocks) == MAX_BLOCKS
    assert blocks[-1]["type"] == "context"
    assert "More not shown" in dumped(blocks[-1:])
    assert blocks[1]["text"]["text"] == "one\ntwo"
    assert (
        blocks[2]["text"]["text"] == "*<https://news.example/0?a=1&amp;b=%3C2%3E|Story 0>*\nBody."
    )
    assert blocks[3] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "id: #0", "verbatim": True}],
    }


def test_error_replies_are_marked_and_cards_without_links_are_plain() -> None:
    reply = Reply(
        title="No <b>",
        lines=("", "one", "two"),
        cards=(Card("urn:x", "urn:x", ""),),
        ephemeral=True,
        error=True,
    )
    blocks = reply_blocks(reply)
    assert blocks[0]["text"]["text"] == "⚠ No &lt;b&gt;"
    assert blocks[1]["text"]["text"] == "one\ntwo"
    assert blocks[2]["text"]["text"] == "*urn:x*"
    assert fallback_text(reply) == "⚠ No &lt;b&gt;"


async def test_the_share_command_uploads_its_real_chart(app: AsyncApp, fake: FakeSlack) -> None:
    assert await command(app, fake, "share 30") == 200
    [answer] = replies(fake)
    assert answer["text"] == "Share of mentions, last 30 days"
    assert "1. Huawei — 3 stories (100% of mentions)" in json.dumps(
        answer["blocks"], ensure_ascii=False
    )
    assert fake.args("files.getUploadURLExternal")["filename"] == "share-30d.png"
    [(_, data)] = fake.uploads
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 675)
    assert fake.args("files.completeUploadExternal")["channel_id"] == CHANNEL
