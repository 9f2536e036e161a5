"""Async HTTP for feeds: conditional GET, size and time caps, redirects re-checked hop by hop.

The fetcher never raises for network or HTTP trouble; every outcome is a `FetchResult` whose
`error` says, in a few words, what went wrong. It returns bytes and never looks inside them
(a refusal brings its first bytes, so that a poll can tell a bot challenge from a plain 403).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import math
import socket
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDictProxy
from yarl import URL

from bot.ingest.urlsafety import (
    IPAddress,
    check_url_scheme,
    forbidden_reason,
    is_metadata,
    parse_ip,
)
from bot.models import FetchResult, Refusal

try:
    _VERSION = importlib.metadata.version("chipwire")
except importlib.metadata.PackageNotFoundError:
    _VERSION = "dev"

DEFAULT_USER_AGENT = f"ChipWire/{_VERSION} (+https://github.com/chipwire/chipwire)"
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_CHUNK = 64 * 1024
_REFUSALS = frozenset({401, 403, 429, 503})
_REFUSAL_HEAD = 64 * 1024  # enough to recognise a challenge page


@dataclass(frozen=True)
class FetchLimits:
    """Caps that keep one feed from holding the bot up or filling its memory."""

    total_connections: int = 20
    per_host: int = 2
    connect_timeout: float = 10.0  # seconds
    total_timeout: float = 30.0  # seconds, the whole redirect chain and body included
    max_bytes: int = 5 * 1024 * 1024  # decompressed
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT


class ForbiddenAddressError(OSError):
    """A host resolved to an address the fetcher must not contact."""

    def __init__(self, host: str, address: str, reason: str, *, metadata: bool) -> None:
        super().__init__(f"refused: host {host} resolves to {address} ({reason})")
        self.metadata = metadata


class _GuardedResolver(AbstractResolver):
    """Checks every address a name resolves to before aiohttp may connect to it.

    Checking inside the resolver (rather than resolving once beforehand) means the connection
    goes to exactly the addresses that were checked: there is no second lookup that a
    rebinding DNS server could answer differently.
    """

    def __init__(self, inner: AbstractResolver, *, allow_private: bool) -> None:
        self._inner = inner
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            ip = parse_ip(result["host"])
            reason = _refusal(ip, allow_private=self._allow_private)
            if reason is not None:
                metadata = ip is not None and is_metadata(ip)
                raise ForbiddenAddressError(host, result["host"], reason, metadata=metadata)
        return results

    async def close(self) -> None:
        """The inner resolver is shared and closed by the Fetcher."""


def _refusal(ip: IPAddress | None, *, allow_private: bool) -> str | None:
    """Why `ip` is off limits, or None. Metadata services stay off limits even when a feed
    opted in to private addresses: no feed lives there, and credentials do."""
    if ip is None:
        return "not an IP address"
    reason = forbidden_reason(ip)
    if reason is None or (allow_private and "metadata" not in reason):
        return None
    return reason


def _human_size(n: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def _seconds(t: float) -> str:
    return f"{t:g} s"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _refusal_kind(metadata: bool, chain: _Chain) -> Refusal:
    if metadata:
        return "metadata"
    return "private" if chain.on_feed_host(chain.url) else "redirected"


class _Chain:
    """Where a redirect chain has got to; only lives for one `fetch` call."""

    def __init__(self, url: URL, *, allow_private: bool) -> None:
        self.feed_host = (url.host or "").lower()
        self.feed_port = url.port  # yarl gives the scheme's default when none is written
        self.allow_private = allow_private
        self.url = url
        self.permanent_url: URL | None = None
        self.still_permanent = True

    def on_feed_host(self, url: URL) -> bool:
        return (url.host or "").lower() == self.feed_host and url.port == self.feed_port

    def private_allowed_for(self, url: URL) -> bool:
        """The opt-in covers the feed's own host and port, not the host's other services."""
        return self.allow_private and self.on_feed_host(url)

    def follow(self, status: int, target: URL) -> None:
        if self.still_permanent and status in _PERMANENT:
            self.permanent_url = target
        else:
            self.still_permanent = False
        self.url = target


class Fetcher:
    """Fetches feed URLs safely; use as `async with Fetcher() as fetcher`.

    Two sessions, chosen per hop, carry the private-address permission: `_strict` refuses every
    forbidden address, `_permissive` accepts private ones and is used only for a hop whose host
    is the feed's own host on a feed that opted in. A permission tied to the session (not to
    shared mutable state or a context variable) cannot leak between concurrent fetches, and
    neither can pooled keep-alive connections or the DNS cache, which are per connector.
    """

    def __init__(
        self,
        limits: FetchLimits = FetchLimits(),  # frozen, so one shared default is safe
        *,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.limits = limits
        self._resolver = resolver
        self._owns_resolver = resolver is None
        self._strict: aiohttp.ClientSession | None = None
        self._permissive: aiohttp.ClientSession | None = None
        # Politeness is ours, not the connector's: a feed waits for its host's slot (and a
        # slot overall) *before* its timeout starts, so a queue never turns into timeouts.
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._overall = asyncio.Semaphore(limits.total_connections)

    async def __aenter__(self) -> Self:
        return self.open()

    def open(self) -> Self:
        """Create the sessions (inside a running event loop); `async with` calls it."""
        if self._strict is not None:
            return self
        if self._resolver is None:
            self._resolver = aiohttp.DefaultResolver()
        self._strict = self._session(_GuardedResolver(self._resolver, allow_private=False))
        self._permissive = self._session(_GuardedResolver(self._resolver, allow_private=True))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        for session in (self._strict, self._permissive):
            if session is not None:
                await session.close()
        self._strict = self._permissive = None
        if self._owns_resolver and self._resolver is not None:
            await self._resolver.close()
            self._resolver = None

    def _session(self, resolver: AbstractResolver) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=0,  # bounded by the fetcher's own host and overall slots (see __init__)
            limit_per_host=0,
            resolver=resolver,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.limits.connect_timeout),
            headers={"User-Agent": self.limits.user_agent, "Accept": _ACCEPT},
            cookie_jar=aiohttp.DummyCookieJar(),  # no state carried from one feed to another
            trust_env=False,  # a proxy would do its own DNS, out of our checks' reach
        )

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allow_private_address: bool = False,
    ) -> FetchResult:
        """GET `url`, following redirects; never raises for network or HTTP failures.

        `allow_private_address` lets the feed's own host (only) resolve to a private address.
        `permanent_url` is set when the chain began with 301/308 hops and ended in 2xx or 304.
        """
        try:
            start = URL(url)
        except (ValueError, TypeError):
            return FetchResult(url=url, status=None, error=f"invalid URL: {url!r}")
        chain = _Chain(start, allow_private=allow_private_address)
        headers = _conditional_headers(etag, last_modified)
        async with self._host_slot(chain.feed_host), self._overall:
            try:
                async with asyncio.timeout(self.limits.total_timeout):
                    return await self._follow(chain, headers)
            except TimeoutError:
                error = f"timed out after {_seconds(self.limits.total_timeout)}"
                return FetchResult(url=str(chain.url), status=None, error=error)

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        """At most `per_host` requests at a time to one feed host (its name as configured,
        whatever addresses or families it resolves to), the whole redirect chain included."""
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self.limits.per_host)
        return slot

    async def _follow(self, chain: _Chain, headers: dict[str, str]) -> FetchResult:
        for _ in range(self.limits.max_redirects + 1):
            refusal = self._precheck(chain.url, chain)
            if refusal is not None:
                return refusal
            outcome = await self._hop(chain, headers)
            if isinstance(outcome, FetchResult):
                return outcome
        error = f"too many redirects (more than {self.limits.max_redirects})"
        return FetchResult(url=str(chain.url), status=None, error=error)

    def _precheck(self, url: URL, chain: _Chain) -> FetchResult | None:
        """Scheme, host, and IP literals (which aiohttp connects to without any lookup)."""
        problem = check_url_scheme(str(url))
        if problem is not None:
            return FetchResult(url=str(url), status=None, error=problem)
        host = url.host or ""
        ip = parse_ip(host)
        if ip is None:
            return None
        reason = _refusal(ip, allow_private=chain.private_allowed_for(url))
        if reason is None:
            return None
        error = f"refused: host {host} is {reason}"
        refused = _refusal_kind(is_metadata(ip), chain)
        return FetchResult(url=str(url), status=None, error=error, refused=refused)

    async def _hop(self, chain: _Chain, headers: dict[str, str]) -> FetchResult | None:
        """One request. Returns the final result, or None after moving `chain` on."""
        session = self._permissive if chain.private_allowed_for(chain.url) else self._strict
        if session is None:
            raise RuntimeError("Fetcher used outside `async with`")
        try:
            async with session.get(chain.url, headers=headers, allow_redirects=False) as resp:
                if resp.status in _REDIRECTS:
                    return self._redirect(chain, resp.status, resp.headers)
                return await self._answer(chain, resp)
        except aiohttp.ClientError as exc:
            forbidden = getattr(exc, "os_error", None)
            refused = (
                _refusal_kind(forbidden.metadata, chain)
                if isinstance(forbidden, ForbiddenAddressError)
                else None
            )
            error = self._describe(exc)
            return FetchResult(url=str(chain.url), status=None, error=error, refused=refused)

    def _redirect(
        self, chain: _Chain, status: int, headers: CIMultiDictProxy[str]
    ) -> FetchResult | None:
        location = headers.get("Location")
        if not location:
            error = f"HTTP {status} redirect without a Location"
            return FetchResult(url=str(chain.url), status=status, error=error)
        try:
            target = chain.url.join(URL(location))
        except (ValueError, TypeError):
            error = f"HTTP {status} redirect to an invalid URL: {location!r}"
            return FetchResult(url=str(chain.url), status=status, error=error)
        chain.follow(status, target.with_fragment(None))
        return None

    async def _answer(self, chain: _Chain, resp: aiohttp.ClientResponse) -> FetchResult:
        url, status = str(chain.url), resp.status
        if status == 304 or 200 <= status < 300:
            body = None if status == 304 else await self._read_capped(resp)
            if status != 304 and body is None:
                error = f"response larger than {_human_size(self.limits.max_bytes)}"
                return FetchResult(url=url, status=status, error=error)
            return FetchResult(
                url=url,
                status=status,
                body=body,
                content_type=resp.headers.get("Content-Type"),
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                permanent_url=str(chain.permanent_url) if chain.permanent_url else None,
            )
        return await self._refused(url, status, resp)

    async def _refused(self, url: str, status: int, resp: aiohttp.ClientResponse) -> FetchResult:
        """An HTTP error; for a refusal its first bytes come along, so the poll can tell a
        bot-protection challenge from a plain refusal."""
        failed = _http_error(url, status, resp.headers)
        if status not in _REFUSALS:
            return failed
        head = bytearray()
        try:
            while len(head) < _REFUSAL_HEAD and (chunk := await resp.content.read(_CHUNK)):
                head += chunk
        except (aiohttp.ClientError, TimeoutError):
            return failed
        return replace(
            failed, body=bytes(head[:_REFUSAL_HEAD]), content_type=resp.headers.get("Content-Type")
        )

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes | None:
        """The decompressed body, or None as soon as it passes `max_bytes`."""
        cap = self.limits.max_bytes
        # Content-Length counts encoded bytes, which never exceed what decoding yields.
        if resp.content_length is not None and resp.content_length > cap:
            return None
        body = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > cap:
                return None
        return bytes(body)

    def _describe(self, exc: aiohttp.ClientError) -> str:
        if isinstance(exc, aiohttp.ClientConnectorError):
            if isinstance(exc.os_error, ForbiddenAddressError):
                return str(exc.os_error)
            if isinstance(exc.os_error, socket.gaierror):
                return f"cannot resolve host {exc.host}"
            return f"cannot connect to {exc.host}:{exc.port} ({exc.strerror or exc.os_error})"
        if isinstance(exc, aiohttp.ServerTimeoutError):
            return f"connection timed out after {_seconds(self.limits.connect_timeout)}"
        if isinstance(exc, aiohttp.InvalidURL):
            return f"invalid URL: {exc.url}"
        if isinstance(exc, aiohttp.ClientPayloadError):
            return "broken response body"
        detail = str(exc) or type(exc).__name__
        return f"network error: {detail}"


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {"Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _http_error(url: str, status: int, headers: CIMultiDictProxy[str]) -> FetchResult:
    if status not in _RETRY_AFTER_STATUSES:
        return FetchResult(url=url, status=status, error=f"HTTP {status}")
    retry_after = parse_retry_after(headers.get("Retry-After"), datetime.now(UTC))
    if retry_after is None:
        return FetchResult(url=url, status=status, error=f"HTTP {status}")
    error = f"HTTP {status} (retry after {math.ceil(retry_after)} s)"
    return FetchResult(url=url, status=status, retry_after=retry_after, error=error)
