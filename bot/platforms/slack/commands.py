"""The `/chipnews` slash command on Slack: request → `Command` → `dispatch` → `Reply` → Block Kit.

Thin on purpose: Bolt checks the request signature and timestamp (401 otherwise), we ack at once
(Slack wants an answer within 3 seconds), parse the text with `parse_command_line`, run the shared
command table and answer through the command's `response_url` (ephemeral or in the channel), or
with `chat.postEphemeral` / `chat.postMessage` when Slack sent no response_url.

A response_url refuses quietly: slack_sdk's webhook client returns Slack's answer instead of
raising, so every answer is checked. Slack takes at most five posts within thirty minutes
(`used_url`, `expired_url`), refuses bad Block Kit (`invalid_blocks`) and rate-limits (429); each
refusal is logged and the answer goes through the Web API instead (`chat.postEphemeral` for a
private answer, `chat.postMessage` for a public one). Where neither can reach the channel (the bot
is not in it, a direct message between people) it goes to the asker's direct message with the
bot. Web API calls wait out a 429 for its Retry-After once.

`build_app` makes no Web API call at start-up or per request for authorization (no `auth.test`):
it is a single-workspace app whose bot token is handed to Bolt by a local `authorize` function.
The only call it makes itself is `users.info`, and only for admin-only commands from users who are
not in the `admins` allow-list.

A reply's chart is uploaded after the reply with `files_upload_v2` (needs the `files:write` scope
and the bot in the channel: in a public channel it joins first, `channels:join`; in a private one
the asker is told privately how to invite it). Slack cannot attach an uploaded file to an
ephemeral message, so a private reply says so instead.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import ClientError, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.messages import (
    Attachment,
    Command,
    Reply,
    error_reply,
    parse_command_line,
)
from bot.commands.table import Context, dispatch, spec_named
from bot.platforms.slack.poster import MAX_ALT_TEXT, api_base_url
from bot.platforms.slack.render import (
    fallback_text,
    reply_blocks,
)
from bot.text import one_line, truncate

log = logging.getLogger(__name__)

SLASH_COMMAND = "/chipnews"
EVENTS_PATH = "/slack/events"
FAILED = "Something went wrong; try again or ask an admin."
BOT_NAME = "ChipWire"
NOT_IN_CHANNEL = "not_in_channel"
NOT_A_MEMBER = frozenset({NOT_IN_CHANNEL, "channel_not_found"})
SEND_ERRORS = (SlackApiError, SlackRequestError, ClientError, TimeoutError)
INVITE_NOTE = (
    "I could not post the chart here because I am not in this channel: "
    f"invite me with `/invite @{BOT_NAME}` and run the command again."
)
UPLOAD_FAILED_NOTE = "I could not post the chart here; try again later."
PRIVATE_CHART_NOTE = "Slack cannot attach a chart to a private reply; it is left out."

ContextFactory = Callable[[], Context | Awaitable[Context]]
AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(
    context_factory: ContextFactory,
    *,
    signing_secret: str,
    token: str,
    api_url: str | None = None,
    admins: frozenset[str] = frozenset(),
    process_before_response: bool = False,
) -> AsyncApp:
    """A Bolt app answering `/chipnews <command> [args…]` from the shared command table.

    `context_factory` gives the command `Context` (build it once, e.g. `lambda: ctx`; it may
    also be async). `api_url` is the Web API base (`SLACK_API_URL`; Slack's by default).
    `admins` are Slack user ids allowed to run admin commands besides the workspace's
    admins and owners (`users.info`).

    `process_before_response=True` makes Bolt run the listener to the end before
    `async_dispatch` returns (the ack is still the first thing the listener does): tests use it
    so the reply has arrived when dispatch returns. Over HTTP in production keep it False —
    Bolt then answers Slack's request right after `ack()` and finishes the command in the
    background, so a slow command cannot miss Slack's 3-second deadline.
    """

    async def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        # Single workspace, static bot token: no auth.test round trip to Slack.
        return AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, bot_token=token
        )

    app = AsyncApp(
        signing_secret=signing_secret,
        # The per-request client copies this one's base URL and retry handlers; `authorize`
        # gives it the token.
        client=AsyncWebClient(
            base_url=api_base_url(api_url),
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        ),
        authorize=authorize,
        process_before_response=process_before_response,
        name="chipwire",
    )

    @app.command(SLASH_COMMAND)
    async def chipnews(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        reply = await _run(context_factory, body, client, admins)
        await _answer(reply, body, respond, client)

    return app


def http_handler(app: AsyncApp) -> AiohttpHandler:
    """An aiohttp handler for `POST /slack/events` (EVENTS_PATH): Bolt verifies and dispatches."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return handle


async def _run(
    context_factory: ContextFactory,
    body: Mapping[str, Any],
    client: AsyncWebClient,
    admins: frozenset[str],
) -> Reply:
    try:
        name, args = parse_command_line(str(body.get("text") or ""))
    except ValueError as exc:
        return error_reply(str(exc), f"e.g. {SLASH_COMMAND} company huawei")
    user = str(body.get("user_id") or "")
    spec = spec_named(name)
    # users.info only when it matters: an admin-only command from someone not allow-listed.
    admin = user in admins or (
        spec is not None and spec.admin and await is_workspace_admin(client, user)
    )
    command = Command(
        name=name,
        args=args,
        channel=f"slack:{body.get('channel_id', '')}",
        user=f"slack:{user}",
        is_admin=admin,
    )
    try:
        made = context_factory()
        ctx = await made if inspect.isawaitable(made) else made
    except Exception:
        log.exception("could not build the command context for %r", name)
        return error_reply(FAILED)
    return await dispatch(ctx, command)


async def is_workspace_admin(client: AsyncWebClient, user: str) -> bool:
    """True when `users.info` says the user is a workspace admin or owner; False if it fails."""
    if not user:
        return False
    try:
        found = await client.users_info(user=user)
    except (SlackApiError, ClientError, TimeoutError) as exc:
        log.warning("users.info for %s failed (%s); treating them as not an admin", user, exc)
        return False
    info = found.get("user") or {}
    return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))


async def _answer(
    reply: Reply, body: Mapping[str, Any], respond: AsyncRespond, client: AsyncWebClient
) -> None:
    if reply.attachment is not None and reply.ephemeral:
        reply = replace(reply, lines=(*reply.lines, PRIVATE_CHART_NOTE), attachment=None)
    await _post_reply(reply, body, respond, client)
    if reply.attachment is not None:
        await _upload_chart(reply.attachment, body, respond, client)


@dataclass(frozen=True)
class Answer:
    """One message for the asker: mrkdwn fallback text, Block Kit (or None), who sees it."""

    text: str
    blocks: list[dict[str, Any]] | None
    ephemeral: bool
    replace_original: bool | None = None  # response_url only: False keeps the earlier answer


async def _post_reply(
    reply: Reply, body: Mapping[str, Any], respond: AsyncRespond, client: AsyncWebClient
) -> None:
    answer = Answer(fallback_text(reply), reply_blocks(reply), reply.ephemeral)
    await send_answer(answer, body, respond, client)


async def send_answer(
    answer: Answer, body: Mapping[str, Any], respond: AsyncRespond, client: AsyncWebClient
) -> bool:
    """The response_url, else the Web API in the channel, else the asker's direct message with
    the bot: True once one of them took the answer; every refusal is logged."""
    if body.get("response_url") and await _via_response_url(answer, respond):
        return True
    channel, user = str(body.get("channel_id") or ""), str(body.get("user_id") or "")
    if channel and await _via_web_api(answer, channel, user, client):
        return True
    # Nothing reaches that channel: the asker's DM with the bot (chat:write suffices).
    if user and await _via_web_api(replace(answer, ephemeral=False), user, user, client):
        return True
    log.error("no way to answer %s in %s: the answer is lost", user, channel)
    return False


async def _via_response_url(answer: Answer, respond: AsyncRespond) -> bool:
    try:
        result = await respond(
            text=answer.text,
            blocks=answer.blocks,
            response_type="ephemeral" if answer.ephemeral else "in_channel",
            replace_original=answer.replace_original,
            unfurl_links=False,
            unfurl_media=False,
        )
    except (ClientError, TimeoutError, ValueError) as exc:
        log.warning("response_url failed (%r); answering through the Web API", exc)
        return False
    if result.status_code < 400:
        return True
    log.warning(
        "Slack refused the response_url: HTTP %s %s; answering through the Web API",
        result.status_code,
        one_line(str(result.body))[:200],
    )
    return False


async def _via_web_api(answer: Answer, channel: str, user: str, client: AsyncWebClient) -> bool:
    """`chat.postEphemeral` or `chat.postMessage`; once more without blocks if Slack calls them
    invalid."""
    for blocks in (answer.blocks, None) if answer.blocks else (None,):
        try:
            if answer.ephemeral:
                await client.chat_postEphemeral(
                    channel=channel, user=user, text=answer.text, blocks=blocks
                )
            else:
                await client.chat_postMessage(
                    channel=channel,
                    text=answer.text,
                    blocks=blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            return True
        except SEND_ERRORS as exc:
            error = _error_of(exc)
            log.warning("answer to %s in %s refused: %s", user, channel, error)
            if error != "invalid_blocks":
                return False
    return False


def _error_of(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return repr(exc)


async def _upload_chart(
    chart: Attachment, body: Mapping[str, Any], respond: AsyncRespond, client: AsyncWebClient
) -> None:
    """Upload into the command's channel (its thread when Slack names one), joining a public
    channel first if need be; a refusal becomes a private note to the asker, never an error for
    Bolt."""
    channel = str(body.get("channel_id") or "")
    try:
        try:
            await _upload(chart, body, client)
        except SlackApiError as exc:
            if exc.response.get("error") != NOT_IN_CHANNEL:
                raise
            await client.conversations_join(channel=channel)
            await _upload(chart, body, client)
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("chart upload to %s refused: %s", channel, error)
        await _tell_asker(
            INVITE_NOTE if error in NOT_A_MEMBER else UPLOAD_FAILED_NOTE, body, respond, client
        )
    except (SlackRequestError, ClientError, TimeoutError) as exc:
        log.warning("chart upload to %s failed: %s", channel, exc)
        await _tell_asker(UPLOAD_FAILED_NOTE, body, respond, client)


async def _upload(chart: Attachment, body: Mapping[str, Any], client: AsyncWebClient) -> None:
    alt = truncate(one_line(chart.description), MAX_ALT_TEXT) or None
    await client.files_upload_v2(
        channel=body["channel_id"],
        file=chart.data,
        filename=chart.filename,
        title=alt,
        alt_txt=alt,
        # Slash-command payloads carry no thread today; honour one if Slack ever sends it.
        thread_ts=body.get("thread_ts") or None,
    )


async def _tell_asker(
    note: str, body: Mapping[str, Any], respond: AsyncRespond, client: AsyncWebClient
) -> None:
    """A private note; the response_url works even where the bot is not a member."""
    await send_answer(Answer(note, None, True, replace_original=False), body, respond, client)
