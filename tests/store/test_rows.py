"""Rows become the bot's frozen values in one place: columns by field name, decoded by type."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import FeedState, Subscription
from bot.store.rows import StoredArticle, aware, from_row

WHEN = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _article_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 7,
        "url": "https://news.example/7",
        "title": "Nvidia H20",
        "summary": "Export rules.",
        "published_at": WHEN,
        "language": "en",
        "source": "Wire",
        "is_history": 0,
        "relevant": True,
        "score": 0.9,
        "companies": '["nvidia", "tsmc"]',
        "why": None,
        "mentions": '{"nvidia": "about", "tsmc": "mentioned"}',
        "first_seen_at": WHEN,  # a column the value does not hold is left out
    }
    return row | changes


def test_json_columns_become_tuples_and_flags_become_bools() -> None:
    article = from_row(StoredArticle, _article_row())
    assert article.companies == ("nvidia", "tsmc")
    assert article.mentions == (("nvidia", "about"), ("tsmc", "mentioned"))
    assert article.mentioned == ("tsmc",)
    assert article.why == ()
    assert article.is_history is False
    assert article.relevant is True  # an optional flag is read as stored


def test_a_missing_column_keeps_the_default_and_given_values_win() -> None:
    row = _article_row()
    del row["mentions"]
    article = from_row(StoredArticle, row, score=0.1)
    assert article.mentions == ()
    assert article.score == 0.1


def test_a_renamed_column_fills_its_field() -> None:
    row = {
        "id": 3,
        "target": "discord:1",
        "schedule": "0 8 * * *",
        "timezone": "UTC",
        "companies": "[]",
        "languages": '["en"]',
        "min_relevance": 0.5,
        "empty_note": 1,
        "live_alerts": 0,
        "alert_threshold": 0.85,
        "alerts_per_hour": 3,
        "top_stories": None,
        "per_company": 2,
        "created_at": WHEN,
        "disabled_reason": "channel gone",
        "origin": "chat",
    }
    subscription = from_row(Subscription, row, columns={"disabled": "disabled_reason"})
    assert subscription.disabled == "channel gone"
    assert subscription.languages == ("en",)
    assert subscription.empty_note is True
    assert subscription.live_alerts is False
    assert subscription.per_company == 2


def test_feed_flags_stored_as_integers_are_bools() -> None:
    row = {"id": 1, "url": "https://a.example/feed", "name": "A", "language": None}
    feed = from_row(FeedState, row | {"interval": 900, "allow_private_address": 1, "paused": 0})
    assert feed.allow_private_address is True
    assert feed.paused is False
    assert feed.first_polled is False  # not in the row: the default


def test_untyped_times_from_sqlite_aggregates_are_aware_utc() -> None:
    assert aware("2026-11-20 12:00:00.000000") == WHEN
    assert aware(WHEN.replace(tzinfo=None)) == WHEN
    assert aware(None) is None
