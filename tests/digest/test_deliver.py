"""Digests posted exactly once, on the store, with an injected clock."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest

from bot.digest.deliver import (
    DeliveryContext,
    catch_up,
    deliver_digest,
    deliver_due,
    deliver_pending,
)
from bot.models import Classification, Digest, FeedConfig, Subscription, SubscriptionConfig
from bot.platforms.console.poster import ConsolePoster
from bot.platforms.journal import PartJournal
from bot.settings import DigestSettings
from bot.store.repo import Store
from tests.support import article, ingest, sync_config_subscriptions


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingPoster:
    """The console poster, keeping each digest it accepted (and failing on demand)."""

    def __init__(self, failures: int = 0) -> None:
        self.out = StringIO()
        self.console = ConsolePoster(self.out, {"nvidia": "Nvidia", "huawei": "Huawei"})
        self.failures = failures
        self.digests: list[Digest] = []

    async def post(
        self,
        subscription: Subscription,
        digest: Digest,
        nonce: str,
        journal: PartJournal | None = None,
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("platform down")
        await self.console.post(subscription, digest, nonce)
        self.digests.append(digest)


async def no_sleep(_: float) -> None:
    return None


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


NVIDIA = Classification(True, 0.9, ("nvidia",), ("test",))
HUAWEI = Classification(True, 0.8, ("huawei",), ("test",))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'digest.db'}")
    yield opened
    await opened.close()


async def subscribe(store: Store, at: datetime, **changes: object) -> Subscription:
    config = SubscriptionConfig(target="console", schedule="0 8 * * *", timezone="Europe/Rome")
    await sync_config_subscriptions(store, [replace(config, **changes)], at)  # type: ignore[arg-type]
    [subscription] = await store.list_subscriptions()
    return subscription


async def stored(
    store: Store, when: datetime, *items: tuple[int, Classification], feed: str = "a"
) -> None:
    config = FeedConfig(url=f"https://{feed}.example/{when:%d%H}", name=f"Feed {feed}")
    state = await store.add_feed(config, "cli", when, history=False)
    rows = [
        (article(n, title=f"Story {n} about chips", published_at=when, source=config.name), c)
        for n, c in items
    ]
    await ingest(store, state, rows, when)


def context(store: Store, clock: Clock, poster: RecordingPoster) -> DeliveryContext:
    return DeliveryContext(store, {"console": poster}, clock)


async def test_a_daily_digest_goes_out_once_at_its_local_hour(store: Store) -> None:
    clock = Clock(utc(2026, 3, 27, 12))
    subscription = await subscribe(store, clock.now)
    await stored(store, utc(2026, 3, 28, 5), (1, NVIDIA))
    poster = RecordingPoster()
    ctx = context(store, clock, poster)
    clock.now = utc(2026, 3, 28, 7, 0, 5)  # 08:00:05 in Rome, before the DST change
    [outcome] = await deliver_due(ctx)
    assert (outcome.status, outcome.period_end, outcome.stories) == ("sent", utc(2026, 3, 28, 7), 1)
    [again] = await deliver_due(ctx)
    assert again.status == "already-sent"
    assert len(poster.digests) == 1
    await stored(store, utc(2026, 3, 28, 20), (2, HUAWEI))
    clock.now = utc(2026, 3, 29, 6, 0, 5)  # 08:00:05 in Rome, now on summer time
    [next_day] = await deliver_due(ctx)
    assert (next_day.status, next_day.period_end) == ("sent", utc(2026, 3, 29, 6))
    assert subscription.id == next_day.subscription_id


async def test_down_at_digest_time_sends_exactly_one_catch_up(store: Store) -> None:
    clock = Clock(utc(2026, 11, 27, 12))
    await subscribe(store, clock.now)
    await stored(store, utc(2026, 11, 28, 1), (1, NVIDIA))
    poster = RecordingPoster()
    ctx = context(store, clock, poster)
    clock.now = utc(2026, 11, 28, 11)  # the bot comes back three hours after 08:00 Rome
    [first] = await catch_up(ctx, clock.now)
    assert (first.status, first.period_end) == ("sent", utc(2026, 11, 28, 7))
    assert await catch_up(ctx, clock.now) == []  # restarted again: nothing more
    [scheduled] = await deliver_due(ctx)  # and the job firing late changes nothing either
    assert scheduled.status == "already-sent"
    assert len(poster.digests) == 1


async def test_consecutive_digests_never_repeat_a_story(store: Store) -> None:
    clock = Clock(utc(2026, 11, 20, 12))
    subscription = await subscribe(store, clock.now)
    poster = RecordingPoster()
    ctx = context(store, clock, poster)
    await stored(store, utc(2026, 11, 21, 5), (1, NVIDIA), (2, HUAWEI))
    await deliver_digest(ctx, subscription, utc(2026, 11, 21, 7))
    await stored(store, utc(2026, 11, 21, 18), (1, NVIDIA), feed="b")  # same story, new source
    await stored(store, utc(2026, 11, 21, 19), (3, HUAWEI), feed="c")
    await deliver_digest(ctx, subscription, utc(2026, 11, 22, 7))
    first, second = ({s.url for s in d.stories} for d in poster.digests)
    assert first == {"https://news.example/1", "https://news.example/2"}
    assert second == {"https://news.example/3"}


async def test_a_failed_post_is_reported_then_retried_within_seconds_not_next_period(
    store: Store,
) -> None:
    clock = Clock(utc(2026, 11, 28, 7))
    subscription = await subscribe(store, utc(2026, 11, 27, 12))
    await stored(store, utc(2026, 11, 28, 1), (1, NVIDIA))
    poster = RecordingPoster(failures=2)
    ctx = context(store, clock, poster)
    failed = await deliver_digest(ctx, subscription, utc(2026, 11, 28, 7))
    assert failed.status == "failed"
    assert "platform down" in (failed.error or "")
    assert await store.digest_state(subscription.id, utc(2026, 11, 28, 7)) == "failed"
    again = await deliver_digest(ctx, subscription, utc(2026, 11, 28, 7))
    assert again.status == "already-sent"  # the period is queued: never composed twice
    assert await deliver_pending(ctx) == []  # backing off
    clock.now += timedelta(seconds=10)
    [second] = await deliver_pending(ctx)
    assert second.status == "failed"
    assert poster.digests == []
    clock.now += timedelta(seconds=19)
    assert await deliver_pending(ctx) == []  # the wait doubled
    clock.now += timedelta(seconds=1)
    [sent] = await deliver_pending(ctx)
    assert sent.status == "sent"
    assert len(poster.digests) == 1
    assert await store.digest_state(subscription.id, utc(2026, 11, 28, 7)) == "sent"
    assert await deliver_pending(ctx) == []


async def test_an_empty_period_sends_a_note_or_nothing(store: Store) -> None:
    clock = Clock(utc(2026, 11, 27, 12))
    noisy = await subscribe(store, clock.now)
    poster = RecordingPoster()
    ctx = context(store, clock, poster)
    note = await deliver_digest(ctx, noisy, utc(2026, 11, 28, 7))
    assert note.status == "sent"
    assert "Nothing new" in poster.out.getvalue()
    quiet = await subscribe(store, clock.now, empty_note=False)
    silent = await deliver_digest(ctx, quiet, utc(2026, 11, 29, 7))
    assert silent.status == "empty"
    assert len(poster.digests) == 1


async def test_one_story_from_five_sources_is_one_entry_with_five_sources(store: Store) -> None:
    clock = Clock(utc(2026, 11, 27, 12))
    subscription = await subscribe(store, clock.now)
    for feed in "abcde":
        await stored(store, utc(2026, 11, 28, 2), (1, NVIDIA), feed=feed)
    poster = RecordingPoster()
    await deliver_digest(context(store, clock, poster), subscription, utc(2026, 11, 28, 7))
    [story] = poster.digests[0].stories
    assert len(story.sources) == 5


async def test_followed_companies_filter_the_digest(store: Store) -> None:
    clock = Clock(utc(2026, 11, 27, 12))
    subscription = await subscribe(store, clock.now, companies=("huawei",))
    await stored(store, utc(2026, 11, 28, 1), (1, NVIDIA), (2, HUAWEI))
    poster = RecordingPoster()
    await deliver_digest(context(store, clock, poster), subscription, utc(2026, 11, 28, 7))
    assert [s.companies for s in poster.digests[0].stories] == [("huawei",)]


async def test_live_alerts_are_capped_and_not_repeated_in_the_digest(store: Store) -> None:
    from bot.digest.deliver import send_alerts

    clock = Clock(utc(2026, 11, 27, 12))
    subscription = await subscribe(store, clock.now, live_alerts=True, alerts_per_hour=1)
    strong = Classification(True, 0.95, ("nvidia",), ("test",))
    await stored(
        store,
        utc(2026, 11, 28, 5),
        (1, strong),
        (2, replace(strong, companies=("huawei",))),
        (3, HUAWEI),
    )
    poster = RecordingPoster()
    ctx = context(store, clock, poster)
    clock.now = utc(2026, 11, 28, 6)
    first = await send_alerts(ctx, clock.now)
    assert [o.status for o in first] == ["sent"]
    assert await send_alerts(ctx, clock.now) == []  # the hourly cap is spent
    clock.now = utc(2026, 11, 28, 7, 30)
    later = await send_alerts(ctx, clock.now)
    assert [o.status for o in later] == ["sent"]
    alerted = {s.url for d in poster.digests for s in d.stories}
    assert len(alerted) == 2
    assert "https://news.example/3" not in alerted
    await deliver_digest(ctx, subscription, utc(2026, 11, 28, 8))
    assert {s.url for s in poster.digests[-1].stories} == {"https://news.example/3"}


async def test_stories_assigned_after_a_poll_are_what_the_digest_groups(store: Store) -> None:
    from bot.ingest.pipeline import assign_stories

    clock = Clock(utc(2026, 11, 27, 12))
    subscription = await subscribe(store, clock.now)
    for feed in "abc":
        await stored(store, utc(2026, 11, 28, 2), (1, NVIDIA), feed=feed)
    await stored(store, utc(2026, 11, 28, 3), (2, HUAWEI), feed="d")
    assert await assign_stories(store, utc(2026, 11, 28, 6)) == 2
    assert await assign_stories(store, utc(2026, 11, 28, 6)) == 0  # nothing changed since
    window = await store.story_window(utc(2026, 11, 27))
    assert {a.story for a in window} == {"a1", "a2"}
    poster = RecordingPoster()
    await deliver_digest(context(store, clock, poster), subscription, utc(2026, 11, 28, 7))
    stories = {s.key: len(s.sources) for s in poster.digests[0].stories}
    assert stories == {"a1": 3, "a2": 1}


async def test_a_weekly_digest_carries_a_trend_chart_of_its_companies(store: Store) -> None:
    clock = Clock(utc(2026, 11, 20, 12))
    await subscribe(store, clock.now, schedule="0 9 * * 1", companies=("nvidia", "huawei"))
    await stored(store, utc(2026, 11, 22, 20), (1, NVIDIA), (2, HUAWEI))
    await stored(store, utc(2026, 11, 18, 5), (3, NVIDIA), feed="b")
    poster = RecordingPoster()
    clock.now = utc(2026, 11, 23, 8, 0, 5)  # Monday 09:00:05 in Rome
    names = {"nvidia": "Nvidia", "huawei": "Huawei"}
    [outcome] = await deliver_due(replace(context(store, clock, poster), company_names=names))
    assert outcome.status == "sent"
    chart = poster.digests[0].chart
    assert chart is not None
    assert chart.filename == "trend-nvidia-huawei-28d.png"
    assert chart.data.startswith(b"\x89PNG")
    assert "Nvidia and Huawei" in chart.description


async def test_a_weekly_digest_covers_its_whole_week(store: Store) -> None:
    clock = Clock(utc(2026, 11, 15, 12))
    await subscribe(store, clock.now, schedule="0 9 * * mon")
    # one story a day from Monday 16 Nov 10:00 Rome to Sunday 22 Nov, and one just before the week
    for day in range(7):
        await stored(store, utc(2026, 11, 16 + day, 9), (day + 1, NVIDIA), feed=f"f{day}")
    await stored(store, utc(2026, 11, 16, 7), (99, HUAWEI), feed="early")
    poster = RecordingPoster()
    clock.now = utc(2026, 11, 23, 8, 0, 5)  # Monday 09:00:05 in Rome
    [outcome] = await deliver_due(context(store, clock, poster))
    assert (outcome.status, outcome.stories) == ("sent", 7)
    [digest] = poster.digests
    assert digest.period_start == utc(2026, 11, 16, 8)  # the previous Monday 09:00 in Rome
    titles = sorted(story.title for story in digest.stories)
    assert titles == sorted(f"Story {n} about chips" for n in range(1, 8))


async def test_a_weekdays_digest_on_monday_covers_the_weekend(store: Store) -> None:
    clock = Clock(utc(2026, 11, 19, 12))
    await subscribe(store, clock.now, schedule="0 8 * * mon-fri")
    await stored(store, utc(2026, 11, 20, 9), (1, NVIDIA), feed="fri")  # Friday after 08:00
    await stored(store, utc(2026, 11, 22, 9), (2, HUAWEI), feed="sun")
    poster = RecordingPoster()
    clock.now = utc(2026, 11, 23, 7, 0, 5)  # Monday 08:00:05 in Rome
    [outcome] = await deliver_due(context(store, clock, poster))
    assert (outcome.status, outcome.stories) == ("sent", 2)
    assert poster.digests[0].period_start == utc(2026, 11, 20, 7)  # Friday 08:00 in Rome


async def test_daily_digests_and_a_switched_off_chart_carry_none(store: Store) -> None:
    clock = Clock(utc(2026, 11, 20, 12))
    await subscribe(store, clock.now, schedule="0 9 * * 1")
    await stored(store, utc(2026, 11, 22, 20), (1, NVIDIA))
    poster = RecordingPoster()
    off = replace(context(store, clock, poster), settings=DigestSettings(trend_chart=False))
    clock.now = utc(2026, 11, 23, 8, 0, 5)
    [outcome] = await deliver_due(off)
    assert outcome.status == "sent"
    assert poster.digests[0].chart is None
    await sync_config_subscriptions(
        store,
        [SubscriptionConfig(target="console", schedule="0 8 * * *", timezone="Europe/Rome")],
        clock.now,
    )
    await stored(store, utc(2026, 11, 23, 20), (2, NVIDIA))
    clock.now = utc(2026, 11, 24, 7, 0, 5)
    [daily] = await deliver_due(context(store, clock, poster))
    assert daily.status == "sent"
    assert poster.digests[1].chart is None


async def test_a_chart_that_cannot_be_drawn_never_stops_the_digest(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("no fonts")

    monkeypatch.setattr("bot.digest.deliver.trend_chart", broken)
    clock = Clock(utc(2026, 11, 20, 12))
    await subscribe(store, clock.now, schedule="0 9 * * 1")
    await stored(store, utc(2026, 11, 22, 20), (1, NVIDIA))
    poster = RecordingPoster()
    clock.now = utc(2026, 11, 23, 8, 0, 5)
    [outcome] = await deliver_due(context(store, clock, poster))
    assert outcome.status == "sent"
    assert poster.digests[0].stories
    assert poster.digests[0].chart is None


async def test_stories_beyond_the_caps_are_counted_and_the_caps_are_the_subscriptions(
    store: Store,
) -> None:
    clock = Clock(utc(2026, 11, 27, 12))
    await subscribe(store, clock.now, top_stories=2, per_company=3)
    await stored(store, utc(2026, 11, 28, 1), *((n, NVIDIA) for n in range(1, 13)))
    poster = RecordingPoster()
    clock.now = utc(2026, 11, 28, 7, 0, 5)  # 08:00:05 in Rome
    [outcome] = await deliver_due(context(store, clock, poster))
    [digest] = poster.digests
    assert [len(section.stories) for section in digest.sections] == [2, 3]
    assert outcome.stories == 5
    assert digest.left_out == 7
    assert "7 more stories not shown: chipwire ask latest COMPANY" in poster.out.getvalue()


async def test_without_its_own_caps_a_subscription_follows_the_digest_settings(
    store: Store,
) -> None:
    clock = Clock(utc(2026, 11, 27, 12))
    await subscribe(store, clock.now)
    await stored(store, utc(2026, 11, 28, 1), *((n, NVIDIA) for n in range(1, 13)))
    poster = RecordingPoster()
    ctx = replace(
        context(store, clock, poster), settings=DigestSettings(top_stories=4, per_company=1)
    )
    clock.now = utc(2026, 11, 28, 7, 0, 5)
    await deliver_due(ctx)
    [digest] = poster.digests
    assert [len(section.stories) for section in digest.sections] == [4, 1]
    assert digest.left_out == 7


async def test_a_clock_stepping_back_across_a_sent_digest_loses_no_article(store: Store) -> None:
    clock = Clock(utc(2026, 11, 27, 12))
    subscription = await subscribe(store, clock.now)
    poster = RecordingPoster()
    ctx = context(store, clock, poster)
    await stored(store, utc(2026, 11, 28, 5), (1, NVIDIA))
    await deliver_digest(ctx, subscription, utc(2026, 11, 28, 7))
    await stored(store, utc(2026, 11, 28, 6), (2, HUAWEI), feed="b")  # seen "before" that digest
    await deliver_digest(ctx, subscription, utc(2026, 11, 29, 7))
    first, second = ({s.url for s in d.stories} for d in poster.digests)
    assert first == {"https://news.example/1"}
    assert second == {"https://news.example/2"}
