"""Several processes on one store: feeds and queued posts each claimed by one, leases expire."""

from datetime import timedelta

from bot.models import FeedConfig, SubscriptionConfig
from bot.store import outbox
from bot.store.repo import Store
from tests.support import at, sync_config_subscriptions

LEASE = timedelta(minutes=1)


async def test_each_due_feed_goes_to_one_process_until_its_lease_expires(store: Store) -> None:
    for n in range(3):
        await store.add_feed(FeedConfig(url=f"https://f{n}.example/rss"), "cli", at(1))
    now = at(2)
    first = await store.write(outbox.claim_due_feeds, owner="a", now=now, lease=LEASE)
    second = await store.write(outbox.claim_due_feeds, owner="b", now=now, lease=LEASE)
    assert len(first) == 3
    assert second == []
    later = now + LEASE + timedelta(seconds=1)  # "a" died mid-poll: its feeds are taken over
    assert await store.write(outbox.claim_due_feeds, owner="b", now=later, lease=LEASE) == first
    await store.write(outbox.release_feeds, "b", first[:1])
    assert await store.write(outbox.claim_due_feeds, owner="c", now=later, lease=LEASE) == first[:1]


async def test_a_queued_post_goes_to_one_process_and_cannot_be_queued_twice(
    store: Store,
) -> None:
    from bot.store.errors import Conflict

    config = SubscriptionConfig(target="discord:1", schedule="0 8 * * *")
    await sync_config_subscriptions(store, [config], at(1))
    [subscription] = await store.list_subscriptions()
    queue = {
        "subscription": subscription,
        "period": (at(1), at(2)),
        "key": "d1-1",
        "upto_id": 0,
        "shown": [],
        "post": True,
        "now": at(2),
    }
    post_id = await store.write(outbox.queue_digest, **queue)
    try:
        await store.write(outbox.queue_digest, **queue)
        raise AssertionError("the same period was queued twice")
    except Conflict:
        pass
    now = at(2, 13)
    [mine] = await store.write(outbox.claim_due, owner="a", now=now, lease=LEASE)
    assert mine.id == post_id
    assert await store.write(outbox.claim_due, owner="b", now=now, lease=LEASE) == []
    assert not await store.write(outbox.renew_lease, post_id, "b", now + LEASE)
    later = now + LEASE + timedelta(seconds=1)
    [taken] = await store.write(outbox.claim_due, owner="b", now=later, lease=LEASE)
    assert taken.id == post_id
    assert not await store.write(outbox.renew_lease, post_id, "a", later + LEASE)  # "a" stops
