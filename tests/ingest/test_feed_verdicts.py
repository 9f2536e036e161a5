"""A blocked or junk feed is told on its first poll: in `feeds list`, and in one rate-limited
admin note, instead of after five failures or fourteen days."""

import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import App, build_app
from bot.ingest.challenge import challenge_of
from bot.ingest.feedhealth import (
    BLOCKED,
    EMPTY,
    NOT_A_FEED,
    RATE_LIMITED,
    VerdictNotes,
    feed_verdict,
    poll_verdict,
    summary_flags,
)
from bot.jobs import Liveness, Running, poll_due
from bot.models import FeedState
from bot.ops.metrics import Metrics
from bot.platforms.console.ingest_report import feed_json, print_feed_table
from bot.settings import load_settings
from bot.store.repo import FeedSummary
from tests.digest.test_deliver import RecordingPoster
from tests.feedserver import FeedServer, feed_server, rss
from tests.support import at

# What a WAF in front of a Chinese site answers a server (a JavaScript challenge, status 200).
WAF_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>访问验证</title>
<script>var arg1='6A1B2C3D4E5F';</script><script src="/_waf_bd8ce2ce37/acw_sc__v2.js"></script>
</head><body><div id="nc">请完成安全验证</div></body></html>"""
CLOUDFLARE_403 = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body><noscript>Enable JavaScript and cookies
to continue</noscript><script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1">
</script></body></html>"""
PLAIN_PAGE = "<!DOCTYPE html><html><head><title>Tech news</title></head><body>Hi</body></html>"
EMPTY_FEED = rss(title="Nothing here yet")


def test_challenge_pages_are_told_apart_from_web_pages() -> None:
    assert challenge_of(WAF_PAGE.encode()) == "Alibaba Cloud WAF"
    assert challenge_of(CLOUDFLARE_403.encode()) == "Cloudflare"
    assert challenge_of(PLAIN_PAGE.encode()) is None
    assert challenge_of(b"<rss><channel><title>captcha news</title></channel></rss>") is None


def test_each_kind_of_answer_gets_its_verdict() -> None:
    assert poll_verdict(200, None, 12) is None
    assert poll_verdict(500, "HTTP 500", None) is None  # retries cure that
    assert poll_verdict(None, "connection timed out after 10 s", None) is None
    kinds = {
        BLOCKED: poll_verdict(403, "HTTP 403", None),
        RATE_LIMITED: poll_verdict(429, "HTTP 429 (retry after 60 s)", None),
        NOT_A_FEED: poll_verdict(200, "not parsed: looks like an HTML page, not a feed", None),
        EMPTY: poll_verdict(200, None, 0),
    }
    for flag, verdict in kinds.items():
        assert verdict is not None
        assert verdict.flag == flag
        assert verdict.advice
    assert "login" in (poll_verdict(401, "HTTP 401", None) or kinds[BLOCKED]).received


def test_a_feed_that_worked_before_is_left_to_the_failing_flag() -> None:
    state = FeedState(1, "https://a.example/f", "A", None, 1800, False, last_status=403)
    state = FeedState(**{**state.__dict__, "last_error": "HTTP 403", "last_polled_at": at(20)})
    assert feed_verdict(state) is not None
    worked = FeedState(**{**state.__dict__, "last_success_at": at(19)})
    assert feed_verdict(worked) is None


def test_notes_are_rate_limited_and_each_feed_told_once() -> None:
    def blocked(feed_id: int) -> FeedState:
        return FeedState(
            feed_id,
            f"https://{feed_id}.example/f",
            str(feed_id),
            None,
            1800,
            False,
            last_status=403,
            last_error="HTTP 403",
            last_polled_at=at(20),
        )

    notes = VerdictNotes(every=timedelta(hours=1))
    notes.add([blocked(1), blocked(2)])
    assert [f.id for f in notes.due(at(20))] == [1, 2]
    notes.sent(notes.due(at(20)), at(20))
    notes.add([blocked(1), blocked(3)])  # 1 was told already
    assert notes.due(at(20) + timedelta(minutes=30)) == []  # within the hour
    assert [f.id for f in notes.due(at(20) + timedelta(hours=1))] == [3]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with feed_server() as running:
        yield running


async def app_with(tmp_path: Path, feeds: dict[str, str], clock: Clock) -> App:
    lines = [f'[chipwire]\ndata_dir = "{tmp_path}"\nparse_workers = 0\n']
    for name, url in feeds.items():
        lines.append(f'[[feeds]]\nurl = "{url}"\nname = "{name}"\nallow_private_address = true\n')
    config = tmp_path / "chipwire.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return await build_app(load_settings(config), clock=clock, parse_workers=0)


async def test_a_waf_page_a_403_and_an_empty_feed_are_flagged_on_the_first_poll(
    tmp_path: Path, server: FeedServer
) -> None:
    feeds = {
        "36kr bare host": server.serve("/waf", WAF_PAGE, content_type="text/html"),
        "Behind Cloudflare": server.serve(
            "/cf", CLOUDFLARE_403, status=403, content_type="text/html"
        ),
        "Empty": server.serve("/empty", EMPTY_FEED),
        "Fine": server.serve("/fine", rss(("1", "https://n.example/1", "Nvidia ships H20"))),
    }
    clock = Clock(at(20))
    app = await app_with(tmp_path, feeds, clock)
    admin = RecordingPoster()
    async with app:
        await app.sync_config()
        scheduler = AsyncIOScheduler(timezone="UTC")  # never started: poll_due is called here
        delivery = app.delivery_context({"console": admin})
        running = Running(
            app, io.StringIO(), delivery, Metrics(), Liveness(app, scheduler), scheduler
        )
        await poll_due(running)
        summaries = await app.store.feed_summaries()
        flags = {s.feed.name: tuple(feed_json(s, _flags(app, s))["flags"]) for s in summaries}
        assert flags == {
            "36kr bare host": (BLOCKED,),
            "Behind Cloudflare": (BLOCKED,),
            "Empty": (EMPTY,),
            "Fine": (),
        }
        listing = io.StringIO()
        print_feed_table(summaries, listing, lambda s: _flags(app, s))
        assert listing.getvalue().count("try:") == 3  # the table says what to try, per feed
        received = {
            s.feed.name: (feed_json(s)["verdict"] or {}).get("received", "") for s in summaries
        }
        assert received["36kr bare host"] == "a bot challenge page (Alibaba Cloud WAF), not a feed"
        assert received["Behind Cloudflare"] == "HTTP 403: a bot challenge page (Cloudflare)"
        assert received["Empty"] == "a feed with no items"
        assert received["Fine"] == ""
        [note] = admin.digests
        assert note.empty_note is not None
        assert note.empty_note.startswith("3 new feed(s) did not answer with a feed:")
        assert "Fine" not in note.empty_note
        assert "a feed with no items" in note.empty_note
        clock.now += timedelta(hours=2)
        await poll_due(running)  # the same feeds again: told once, not every poll
        assert len(admin.digests) == 1


def _flags(app: App, summary: FeedSummary) -> tuple[str, ...]:
    return summary_flags(summary, at(20), app.settings.ops)
