"""The fetcher against a real HTTP server on 127.0.0.1, plus the pure URL-safety helpers."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from bot.ingest.fetch import Fetcher, FetchLimits, parse_retry_after
from bot.ingest.urlsafety import check_url_scheme, is_forbidden_address
from bot.models import FetchResult

ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"
CAP = 4096
LIMITS = FetchLimits(total_timeout=0.5, connect_timeout=0.5, max_bytes=CAP)


# --------------------------------------------------------------------------- test server


@dataclass
class Site:
    server: TestServer
    hits: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


async def _feed(request: web.Request) -> web.Response:
    if request.headers.get("If-None-Match") == ETAG:
        return web.Response(status=304, headers={"ETag": ETAG})
    if request.headers.get("If-Modified-Since") == LAST_MODIFIED:
        return web.Response(status=304)
    headers = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
    return web.Response(body=FEED, content_type="application/rss+xml", headers=headers)


def _redirect(status: int, location: str) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


async def _hops(request: web.Request) -> web.Response:
    """/hops/<status>/<n>: n redirects with <status>, then the feed."""
    status, n = int(request.match_info["status"]), int(request.match_info["n"])
    return _redirect(status, f"/hops/{status}/{n - 1}" if n > 1 else "/feed")


async def _loop(request: web.Request) -> web.Response:
    return _redirect(302, f"/loop/{int(request.match_info['n']) + 1}")


async def _retry_date(request: web.Request) -> web.Response:
    when = datetime.now(UTC) + timedelta(seconds=120)
    return web.Response(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.Response(body=FEED)


async def _chunked(request: web.Request) -> web.StreamResponse:
    """Streams far more than the cap with no Content-Length, until the client goes away."""
    resp = web.StreamResponse()
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        for _ in range(10_000):
            await resp.write(b"x" * 1024)
    except (ConnectionError, RuntimeError):
        pass
    return resp


async def _gzip(request: web.Request) -> web.Response:
    body = gzip.compress(FEED)
    return web.Response(body=body, headers={"Content-Encoding": "gzip"})


async def _gzip_bomb(request: web.Request) -> web.Response:
    body = gzip.compress(b"\0" * (CAP * 64))  # a few hundred bytes on the wire
    return web.Response(body=body, headers={"Content-Encoding": "gzip"})


async def _declares_huge_length(request: web.Request) -> web.StreamResponse:
    """Announces a body far over the cap, then sends almost nothing and stalls."""
    resp = web.StreamResponse(headers={"Content-Length": str(CAP * 1000)})
    await resp.prepare(request)
    await resp.write(b"x")
    await asyncio.sleep(2)
    return resp


async def _echo_user_agent(request: web.Request) -> web.Response:
    return web.Response(text=request.headers.get("User-Agent", ""))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fixed(make: Callable[[], web.Response]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return make()

    return handler


def _routes(port_hint: list[int]) -> list[web.RouteDef]:
    def to(status: int, location: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            return _redirect(status, location.format(port=port_hint[0]))

        return handler

    return [
        web.get("/feed", _feed),
        web.get("/hops/{status}/{n}", _hops),
        web.get("/loop/{n}", _loop),
        web.get("/mixed", to(301, "/temporary")),
        web.get("/temporary", to(302, "/feed")),
        web.get("/temporary-first", to(302, "/hops/301/1")),
        web.get("/relative/dir/", to(301, "../../feed")),
        web.get("/no-location", fixed(lambda: web.Response(status=302))),
        web.get(
            "/retry-seconds",
            fixed(lambda: web.Response(status=429, headers={"Retry-After": "120"})),
        ),
        web.get("/retry-date", _retry_date),
        web.get("/error", fixed(lambda: web.Response(status=500))),
        web.get("/slow", _slow),
        web.get("/big", fixed(lambda: web.Response(body=b"x" * (CAP + 1)))),
        web.get("/at-cap", fixed(lambda: web.Response(body=b"x" * CAP))),
        web.get("/chunked", _chunked),
        web.get("/huge-length", _declares_huge_length),
        web.get("/gzip", _gzip),
        web.get("/gzip-bomb", _gzip_bomb),
        web.get(
            "/html", fixed(lambda: web.Response(body=b"<html></html>", content_type="text/html"))
        ),
        web.get("/empty", fixed(lambda: web.Response(body=b""))),
        web.get("/ua", _echo_user_agent),
        web.get("/to-localhost", to(302, "http://localhost:{port}/feed")),
        web.get("/to-private", to(302, "http://10.0.0.1/feed")),
        web.get("/to-other-name", to(301, "http://other.test:{port}/feed")),
        web.get("/to-same-name", to(301, "http://feeds.test:{port}/feed")),
        web.get("/to-metadata", to(302, "http://169.254.169.254/latest/meta-data/")),
        web.get("/to-file", to(302, "file:///etc/passwd")),
    ]


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    hits: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        hits.append(f"{request.host.split(':')[0]} {request.path}")
        return await handler(request)

    port_hint = [0]
    app = web.Application(middlewares=[record])
    app.add_routes(_routes(port_hint))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    assert server.port is not None
    port_hint[0] = server.port
    try:
        yield Site(server, hits)
    finally:
        await server.close()


class FakeResolver(AbstractResolver):
    """Maps made-up host names to fixed addresses; anything else does not resolve."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = self.names[host]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


NAMES = {
    "feeds.test": "127.0.0.1",
    "other.test": "127.0.0.1",
    "metadata.test": "169.254.169.254",
}


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LIMITS, resolver=FakeResolver(NAMES)) as f:
        yield f


async def get(
    fetcher: Fetcher,
    site: Site,
    path: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """A loopback feed, so it opts in to private addresses as a config file would."""
    return await fetcher.fetch(
        site.url(path), etag=etag, last_modified=last_modified, allow_private_address=True
    )


# --------------------------------------------------------------------------- plain answers


async def test_200_returns_body_and_validators(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/feed")
    assert result.ok
    assert result.status == 200
    assert result.body == FEED
    assert result.etag == ETAG
    assert result.last_modified == LAST_MODIFIED
    assert result.content_type is not None
    assert result.content_type.startswith("application/rss+xml")
    assert result.url == site.url("/feed")
    assert result.permanent_url is None
    assert result.error is None


async def test_etag_gives_304_without_body(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/feed", etag=ETAG)
    assert result.not_modified
    assert result.body is None
    assert result.error is None


async def test_last_modified_gives_304(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/feed", last_modified=LAST_MODIFIED)
    assert result.status == 304
    assert result.body is None


async def test_stale_validators_get_the_full_body(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/feed", etag='"old"', last_modified="Mon, 01 Jan 2024")
    assert result.status == 200
    assert result.body == FEED


async def test_user_agent_names_chipwire(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/ua")
    assert result.body is not None
    assert result.body.decode().startswith("ChipWire/")


async def test_wrong_content_type_is_still_returned_as_bytes(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/html")
    assert result.ok
    assert result.body == b"<html></html>"
    assert result.content_type is not None
    assert result.content_type.startswith("text/html")


async def test_empty_body(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/empty")
    assert result.ok
    assert result.body == b""


async def test_gzip_body_is_decoded(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/gzip")
    assert result.ok
    assert result.body == FEED


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 308])
async def test_permanent_chain_sets_permanent_url(
    fetcher: Fetcher, site: Site, status: int
) -> None:
    result = await get(fetcher, site, f"/hops/{status}/3")
    assert result.ok
    assert result.body == FEED
    assert result.url == site.url("/feed")
    assert result.permanent_url == site.url("/feed")


async def test_temporary_redirect_leaves_permanent_url_unset(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/hops/302/1")
    assert result.ok
    assert result.url == site.url("/feed")
    assert result.permanent_url is None


async def test_permanent_tracking_stops_at_first_temporary_hop(
    fetcher: Fetcher, site: Site
) -> None:
    result = await get(fetcher, site, "/mixed")
    assert result.url == site.url("/feed")
    assert result.permanent_url == site.url("/temporary")


async def test_permanent_hop_after_temporary_one_is_not_tracked(
    fetcher: Fetcher, site: Site
) -> None:
    result = await get(fetcher, site, "/temporary-first")
    assert result.ok
    assert result.url == site.url("/feed")
    assert result.permanent_url is None


async def test_relative_location_is_resolved_against_current_url(
    fetcher: Fetcher, site: Site
) -> None:
    result = await get(fetcher, site, "/relative/dir/")
    assert result.ok
    assert result.url == site.url("/feed")


async def test_exactly_max_redirects_is_fine(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, f"/hops/302/{LIMITS.max_redirects}")
    assert result.ok


async def test_too_many_redirects(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/loop/0")
    assert not result.ok
    assert result.error is not None
    assert "too many redirects" in result.error
    assert len(site.hits) == LIMITS.max_redirects + 1


async def test_redirect_without_location(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/no-location")
    assert result.status == 302
    assert result.error is not None
    assert "Location" in result.error


# --------------------------------------------------------------------------- HTTP errors


async def test_429_with_retry_after_seconds(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/retry-seconds")
    assert result.status == 429
    assert result.retry_after == 120
    assert result.error == "HTTP 429 (retry after 120 s)"
    assert not result.ok


async def test_503_with_retry_after_http_date(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/retry-date")
    assert result.status == 503
    assert result.retry_after is not None
    assert 100 <= result.retry_after <= 121
    assert result.error is not None
    assert result.error.startswith("HTTP 503 (retry after ")


async def test_500(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/error")
    assert result.status == 500
    assert result.error == "HTTP 500"
    assert result.body is None
    assert result.retry_after is None


async def test_404(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/nowhere")
    assert result.status == 404
    assert result.error == "HTTP 404"


# --------------------------------------------------------------------------- limits


async def test_timeout(fetcher: Fetcher, site: Site) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await get(fetcher, site, "/slow")
    assert loop.time() - started < 1.5
    assert result.status is None
    assert result.error == "timed out after 0.5 s"


async def test_oversized_body_with_content_length(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/big")
    assert not result.ok
    assert result.body is None
    assert result.error == "response larger than 4 KB"


async def test_oversized_content_length_refused_before_the_body_arrives(
    fetcher: Fetcher, site: Site
) -> None:
    result = await get(fetcher, site, "/huge-length")
    assert result.error == "response larger than 4 KB"  # not a timeout: no body was awaited


async def test_body_exactly_at_cap_is_accepted(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/at-cap")
    assert result.ok
    assert result.body is not None
    assert len(result.body) == CAP


async def test_oversized_chunked_body_stops_early(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/chunked")
    assert result.body is None
    assert result.error == "response larger than 4 KB"


async def test_cap_applies_to_decompressed_bytes(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/gzip-bomb")
    assert result.body is None
    assert result.error == "response larger than 4 KB"


async def test_default_limits_message_in_megabytes() -> None:
    assert FetchLimits().max_bytes == 5 * 1024 * 1024
    assert FetchLimits().user_agent.startswith("ChipWire/")


async def test_connection_refused_is_reported(fetcher: Fetcher) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await fetcher.fetch(f"http://127.0.0.1:{port}/", allow_private_address=True)
    assert result.status is None
    assert result.error is not None
    assert "cannot connect" in result.error


async def test_unresolvable_host(fetcher: Fetcher) -> None:
    result = await fetcher.fetch("http://nowhere.test/feed")
    assert result.status is None
    assert result.error == "cannot resolve host nowhere.test"


# --------------------------------------------------------------------------- address safety


async def test_loopback_refused_without_opt_in(fetcher: Fetcher, site: Site) -> None:
    result = await fetcher.fetch(site.url("/feed"))
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith("refused: host 127.0.0.1")
    assert result.refused == "private"  # the feed's own host: an opt-in would lift it
    assert site.hits == []


async def test_redirect_to_localhost_refused_without_connecting(
    fetcher: Fetcher, site: Site
) -> None:
    # "localhost" goes through the real resolver: a second Fetcher without the fake one.
    async with Fetcher(LIMITS) as real:
        result = await real.fetch(site.url("/to-localhost"), allow_private_address=True)
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith("refused: host localhost resolves to")
    assert result.refused == "redirected"  # the opt-in covers the feed's host, not this one
    assert result.url == site.url("/feed", host="localhost")
    assert site.hits == ["127.0.0.1 /to-localhost"]


async def test_redirect_to_other_private_ip_refused(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/to-private")
    assert result.status is None
    assert result.error == "refused: host 10.0.0.1 is private"
    assert result.refused == "redirected"
    assert result.url == "http://10.0.0.1/feed"


async def test_redirect_to_other_private_name_refused(fetcher: Fetcher, site: Site) -> None:
    result = await fetcher.fetch(
        site.url("/to-other-name", "feeds.test"), allow_private_address=True
    )
    assert result.error is not None
    assert result.error.startswith("refused: host other.test resolves to 127.0.0.1")
    assert result.refused == "redirected"
    assert site.hits == ["feeds.test /to-other-name"]


async def test_redirect_to_same_private_name_allowed(fetcher: Fetcher, site: Site) -> None:
    result = await fetcher.fetch(
        site.url("/to-same-name", "feeds.test"), allow_private_address=True
    )
    assert result.ok
    assert result.permanent_url == site.url("/feed", "feeds.test")


async def test_redirect_to_metadata_refused(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/to-metadata")
    assert result.error is not None
    assert result.error.startswith("refused: host 169.254.169.254")
    assert result.refused == "metadata"


async def test_metadata_literal_refused_even_with_opt_in(fetcher: Fetcher) -> None:
    result = await fetcher.fetch("http://169.254.169.254/latest/", allow_private_address=True)
    assert result.error == "refused: host 169.254.169.254 is link-local/metadata"
    assert result.refused == "metadata"


async def test_redirect_to_file_scheme_refused(fetcher: Fetcher, site: Site) -> None:
    result = await get(fetcher, site, "/to-file")
    assert result.status is None
    assert result.error is not None
    assert "scheme 'file'" in result.error
    assert result.refused is None  # not an address refusal: nothing to opt in to


async def test_name_resolving_to_private_address_refused_without_opt_in(
    fetcher: Fetcher, site: Site
) -> None:
    result = await fetcher.fetch(site.url("/feed", "feeds.test"))
    assert result.error == "refused: host feeds.test resolves to 127.0.0.1 (loopback)"
    assert result.refused == "private"
    assert site.hits == []


async def test_name_resolving_to_private_address_allowed_with_opt_in(
    fetcher: Fetcher, site: Site
) -> None:
    result = await fetcher.fetch(site.url("/feed", "feeds.test"), allow_private_address=True)
    assert result.ok
    assert result.body == FEED


@pytest.mark.parametrize("opt_in", [False, True])
async def test_name_resolving_to_metadata_refused(fetcher: Fetcher, opt_in: bool) -> None:
    result = await fetcher.fetch("http://metadata.test/latest/", allow_private_address=opt_in)
    assert result.status is None
    assert result.error == (
        "refused: host metadata.test resolves to 169.254.169.254 (link-local/metadata)"
    )
    assert result.refused == "metadata"


async def test_permission_does_not_leak_between_concurrent_fetches(
    fetcher: Fetcher, site: Site
) -> None:
    url = site.url("/feed", "feeds.test")
    results = await asyncio.gather(
        *(fetcher.fetch(url, allow_private_address=i % 2 == 0) for i in range(8))
    )
    assert [r.ok for r in results] == [True, False] * 4
    # And a pooled keep-alive connection from an allowed fetch is not reused by a refused one.
    again = await fetcher.fetch(url)
    assert not again.ok


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/feed.xml", "gopher://x/", "http:///feed", "feed"],
)
async def test_non_http_urls_refused(fetcher: Fetcher, url: str) -> None:
    result = await fetcher.fetch(url)
    assert result.status is None
    assert result.error is not None
    assert not result.ok


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.0.7",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:100.64.0.1",
        "::ffff:0.0.0.0",
        "::ffff:224.0.0.1",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
    ],
)
def test_forbidden_addresses(address: str) -> None:
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"],
)
def test_public_addresses(address: str) -> None:
    assert not is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url", ["http://example.com/feed", "https://example.com:8443/a?b=c", "HTTPS://Example.com"]
)
def test_http_urls_pass_scheme_check(url: str) -> None:
    assert check_url_scheme(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "http://",
        "https:///path",
        "//example.com/feed",
        "",
        "http://[::1/",
    ],
)
def test_other_urls_fail_scheme_check(url: str) -> None:
    assert check_url_scheme(url)


NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 01 Jan 2025 12:02:00 GMT", 120.0),
        ("Wed, 01 Jan 2025 11:00:00 GMT", 0.0),  # in the past: retry now
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected
