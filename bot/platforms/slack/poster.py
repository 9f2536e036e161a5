"""Digests to Slack channels through slack_sdk's Web API client (`chat.postMessage`).

Each rendered part is one message, in order, then the digest's chart is uploaded after them
(`files_upload_v2`). Slack has no idempotency key, so every message carries metadata naming its
delivery and part, and the delivery's journal records each part as intended, then accepted. A
part left in doubt (a crash, a dropped connection, an answer after the client's timeout) is looked
for in the channel's history (`conversations.history` with `include_all_metadata`) before it is
posted again. slack_sdk's own connection-error retry is off: it would resend blindly.

`chat:write.public` lets the bot post to a public channel it has not joined, but reading that
channel's history and sharing a file there need membership: when Slack answers `not_in_channel`,
the bot joins the channel (`conversations.join`, scope `channels:join`) and asks again. Only
public channels can be joined; a private channel the bot was removed from is gone for it.

A chart is posted at most once and its failure never fails the digest, whose text Slack already
took. A channel that is gone (deleted, archived, a private one the bot is no longer in) raises
`DeadTarget`, another refusal `Refused`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import Attachment, Digest, Subscription, Target
from bot.platforms.journal import (
    ACCEPTED,
    CHART,
    INTENDED,
    DeadTarget,
    MemoryJournal,
    PartJournal,
    Refused,
)
from bot.platforms.slack.render import render_slack
from bot.text import one_line, truncate

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
MAX_ALT_TEXT = 1000
METADATA_EVENT = "chipwire_delivery"
DEAD_CHANNEL_ERRORS = frozenset({"channel_not_found", "is_archived"})
NOT_IN_CHANNEL = "not_in_channel"
PRIVATE_CHANNEL = "method_not_supported_for_channel_type"  # conversations.join on a private one
HISTORY_PAGES = 5  # at 200 messages a page: further back than an in-doubt part can be
HISTORY_SLACK = timedelta(minutes=5)  # the clocks of Slack and the bot may differ


def channel_of(target: str) -> str:
    """The channel of a "slack:<channel id>" target."""
    try:
        parsed = Target.parse(target)
    except ValueError:
        parsed = None
    if parsed is None or parsed.platform != "slack":
        raise ValueError(f"not a Slack channel target: {target!r}")
    return parsed.channel


def api_base_url(api_url: str | None) -> str:
    """slack_sdk joins method names onto its base URL, so it must end with "/"."""
    url = api_url or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


class SlackPoster:
    """Posts digests to "slack:<channel id>" targets with a bot token."""

    def __init__(
        self,
        token: str,
        company_names: Mapping[str, str] | None = None,
        *,
        api_url: str | None = None,
        dedupe: bool = True,
        timeout: int = 30,
    ) -> None:
        """`api_url` is slack_sdk's base URL (`SLACK_API_URL`), e.g. "http://127.0.0.1:9000/api/".
        `dedupe=False` (tests only) skips the history check, to show what it prevents."""
        self.company_names: Mapping[str, str] = company_names or {}
        self.api_url = api_base_url(api_url)
        self._dedupe = dedupe
        # Slack answers 429 with Retry-After and has not posted anything: waiting is safe.
        retries: list[AsyncRetryHandler] = [AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
        self._client = AsyncWebClient(
            token=token, base_url=self.api_url, retry_handlers=retries, timeout=timeout
        )

    def __repr__(self) -> str:
        return f"SlackPoster(api_url={self.api_url!r})"

    async def post(
        self,
        subscription: Subscription,
        digest: Digest,
        nonce: str,
        journal: PartJournal | None = None,
    ) -> None:
        journal = journal or MemoryJournal()
        channel = channel_of(subscription.target)
        for index, payload in enumerate(render_slack(digest, self.company_names)):
            part = str(index)
            state = await journal.state(part)
            if state == ACCEPTED:
                continue
            if state == INTENDED and await self._posted(channel, nonce, part, journal.since):
                await journal.accept(part)
                continue
            await journal.intend(part)
            await self._in_channel(
                channel,
                partial(
                    self._client.chat_postMessage,
                    channel=channel,
                    text=payload["text"],
                    blocks=payload["blocks"],
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata={
                        "event_type": METADATA_EVENT,
                        "event_payload": {"delivery": nonce, "part": part},
                    },
                ),
            )
            await journal.accept(part)
        if digest.chart is not None:
            await self._chart(channel, digest.chart, journal)

    async def _posted(self, channel: str, nonce: str, part: str, since: datetime | None) -> bool:
        """Whether the channel's recent history holds this delivery's part (found by metadata)."""
        if not self._dedupe:
            return False
        oldest = f"{(since - HISTORY_SLACK).timestamp():.6f}" if since else None
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = await self._in_channel(
                channel,
                partial(
                    self._client.conversations_history,
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                ),
            )
            if any(_is_part(m, nonce, part) for m in page.get("messages") or ()):
                return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False
        return False

    async def _chart(self, channel: str, chart: Attachment, journal: PartJournal) -> None:
        """At most once: a chart in doubt is not uploaded again, and a failed one is only logged."""
        if await journal.state(CHART) is not None:
            return
        await journal.intend(CHART)
        try:
            await self._in_channel(channel, partial(self._upload, channel, chart))
        except Exception as exc:  # the digest's text is posted; the chart is not worth a repeat
            log.warning("digest chart not uploaded to %s: %r", channel, exc)
            return
        await journal.accept(CHART)

    async def _upload(self, channel: str, chart: Attachment) -> None:
        alt = truncate(one_line(chart.description), MAX_ALT_TEXT) or None
        await self._client.files_upload_v2(
            channel=channel, file=chart.data, filename=chart.filename, title=alt, alt_txt=alt
        )

    async def _in_channel(self, channel: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """The call's answer; when Slack says the bot is not in the channel, join and call again."""
        try:
            return await _answered(call())
        except NotInChannel:
            await self._join(channel)
            return await _answered(call())

    async def _join(self, channel: str) -> None:
        try:
            await self._client.conversations_join(channel=channel)
        except SlackApiError as exc:
            if _error_of(exc) == PRIVATE_CHANNEL:
                raise DeadTarget(
                    "Slack: not_in_channel: the bot is no longer in this private channel"
                ) from exc
            refusal = _refusal(exc)
            if refusal is None:
                raise
            raise refusal from exc
        log.info("joined Slack channel %s to post there", channel)

    async def close(self) -> None:
        """Nothing to release: slack_sdk opens a session per call when it is not given one."""


def _is_part(message: Mapping[str, Any], nonce: str, part: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return (
        metadata.get("event_type") == METADATA_EVENT
        and payload.get("delivery") == nonce
        and str(payload.get("part")) == part
    )


class NotInChannel(Refused):
    """Slack wants the bot in the channel for this call (a public channel can be joined)."""


async def _answered(call: Awaitable[Any]) -> Any:
    """The call's answer; Slack's refusals in the delivery queue's terms. A 5xx, a timeout or a
    dropped connection propagate unchanged: whether Slack posted is then unknown."""
    try:
        return await call
    except SlackApiError as exc:
        refusal = _refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc


def _data_of(exc: SlackApiError) -> Mapping[str, Any]:
    data = getattr(exc.response, "data", None)
    return data if isinstance(data, dict) else {}


def _error_of(exc: SlackApiError) -> str:
    return str(_data_of(exc).get("error", ""))


def _refusal(exc: SlackApiError) -> Exception | None:
    """What a Slack error means for the delivery queue; None for a 5xx (the outcome is unknown)."""
    error = _error_of(exc)
    if error in DEAD_CHANNEL_ERRORS:
        return DeadTarget(f"Slack: {error}")
    if error == NOT_IN_CHANNEL:
        return NotInChannel(f"Slack: {error}")
    if error == "missing_scope":
        needed = _data_of(exc).get("needed")
        return Refused(
            f"Slack: missing_scope: the bot token needs {needed}; add it under OAuth & "
            "Permissions and reinstall the app"
        )
    if getattr(exc.response, "status_code", 200) < 500:
        return Refused(f"Slack: {error or exc.response.status_code}")
    return None
