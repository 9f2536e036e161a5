"""Digests to Slack channels through slack_sdk's Web API client (`chat.postMessage`).

Each rendered part is one message, in order, then the digest's chart is uploaded after them
(`files_upload_v2`). Slack has no idempotency key, so the parts Slack already took, the chart
included, are remembered (per process) under the delivery's nonce: a retry after part 2 of 3 (or
the chart) failed resumes there instead of repeating what was posted. A refusal raises
(`SlackApiError`; `SlackRequestError` when the file transfer itself fails), which
`bot.digest.deliver` retries and reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import Attachment, Digest, Subscription
from bot.platforms.accepted import AcceptedParts, fingerprint
from bot.platforms.slack.render import render_slack
from bot.platforms.textsafety import one_line, truncate

DEFAULT_API_URL = "https://slack.com/api/"
MAX_ALT_TEXT = 1000


def channel_of(target: str) -> str:
    """The channel of a "slack:<channel id>" target."""
    platform, _, channel = target.partition(":")
    if platform != "slack" or not channel or not channel.isalnum():
        raise ValueError(f"not a Slack channel target: {target!r}")
    return channel


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
    ) -> None:
        """`api_url` is slack_sdk's base URL (`SLACK_API_URL`), e.g. "http://127.0.0.1:9000/api/"."""
        self.company_names: Mapping[str, str] = company_names or {}
        self.api_url = api_base_url(api_url)
        # Slack answers 429 with Retry-After and has not posted anything: waiting is safe.
        retries = [*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
        self._client = AsyncWebClient(token=token, base_url=self.api_url, retry_handlers=retries)
        self._accepted = AcceptedParts()

    def __repr__(self) -> str:
        return f"SlackPoster(api_url={self.api_url!r})"

    async def post(self, subscription: Subscription, digest: Digest, nonce: str) -> None:
        channel = channel_of(subscription.target)
        for index, payload in enumerate(render_slack(digest, self.company_names)):
            key = f"{channel}:{nonce}:{index}:{fingerprint(payload)}"
            if key in self._accepted:
                continue
            await self._client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload["blocks"],
                unfurl_links=False,
                unfurl_media=False,
            )
            self._accepted.add(key)
        if digest.chart is not None:
            await self._upload(channel, digest.chart, nonce)

    async def _upload(self, channel: str, chart: Attachment, nonce: str) -> None:
        key = f"{channel}:{nonce}:chart:{hashlib.sha256(chart.data).hexdigest()}"
        if key in self._accepted:
            return
        alt = truncate(one_line(chart.description), MAX_ALT_TEXT) or None
        await self._client.files_upload_v2(
            channel=channel, file=chart.data, filename=chart.filename, title=alt, alt_txt=alt
        )
        self._accepted.add(key)

    async def close(self) -> None:
        """Nothing to release: slack_sdk opens a session per call when it is not given one."""
