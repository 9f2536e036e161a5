"""Stale and failing feeds are flagged in `feeds list` and in the weekly admin note."""

from datetime import UTC, datetime, timedelta

from bot.ingest.feedhealth import admin_note, feed_flags
from bot.models import FeedState

NOW = datetime(2026, 11, 28, 9, tzinfo=UTC)
WEEKS = timedelta(days=14)


def feed(**changes: object) -> FeedState:
    values: dict[str, object] = {
        "id": 1,
        "url": "https://a.example/feed",
        "name": "A",
        "language": "en",
        "interval": 1800,
        "allow_private_address": False,
        "last_success_at": NOW - timedelta(minutes=30),
    }
    values.update(changes)
    return FeedState(**values)  # type: ignore[arg-type]


def flags(state: FeedState, last_new: datetime | None, created: datetime | None = None):
    return feed_flags(state, last_new, created, NOW, stale_after=WEEKS, failing_after=5)


def test_a_feed_with_recent_news_is_fine() -> None:
    assert flags(feed(), NOW - timedelta(days=1)) == ()


def test_a_feed_that_answers_but_gives_nothing_new_is_stale() -> None:
    assert flags(feed(), NOW - timedelta(days=15)) == ("stale",)
    assert flags(feed(), None, created=NOW - timedelta(days=20)) == ("stale",)
    assert flags(feed(), None, created=NOW - timedelta(days=2)) == ()


def test_a_feed_failing_five_times_in_a_row_is_failing_not_stale() -> None:
    failing = feed(consecutive_failures=5, last_error="HTTP 500")
    assert flags(failing, NOW - timedelta(days=30)) == ("failing",)
    assert flags(feed(consecutive_failures=4), NOW - timedelta(days=1)) == ()


def test_the_admin_note_lists_each_flagged_feed_with_its_error() -> None:
    note = admin_note(
        [
            ("A", "https://a.example/feed", ("failing",), "HTTP 500"),
            ("B", "https://b.example/rss", ("stale",), None),
        ]
    )
    assert note.splitlines()[0] == "2 feed(s) need a look:"
    assert "A <https://a.example/feed>: failing — HTTP 500" in note
    assert "B <https://b.example/rss>: stale" in note
