"""`chipwire deliveries`: what was sent where and when, and for one article why each target did
or did not get it, as recorded by a real delivery through the console poster."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.digest.deliver import DeliveryContext, deliver_due
from bot.models import Classification, FeedConfig, SubscriptionConfig
from bot.store.repo import Store
from tests.digest.test_deliver import RecordingPoster
from tests.support import article, ingest, sync_config_subscriptions

NVIDIA = Classification(True, 0.9, ("nvidia",), ("test",))
NVIDIA_WEAK = Classification(True, 0.55, ("nvidia",), ("test",))
HUAWEI = Classification(True, 0.8, ("huawei",), ("test",))
OFF_TOPIC = Classification(False, 0.1, (), ())


@pytest.fixture
async def delivered(tmp_path: Path) -> tuple[Path, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"
    store = await Store.open(url)
    now = datetime.now(UTC)
    before = now - timedelta(minutes=5)
    try:
        subscription = SubscriptionConfig(
            target="console", schedule="* * * * *", companies=("nvidia",), min_relevance=0.6
        )
        await sync_config_subscriptions(store, [subscription], before)
        fresh = await store.add_feed(
            FeedConfig("https://a.example/f", "A"), "cli", before, history=False
        )
        rows = [
            (article(1), NVIDIA),
            (article(2), HUAWEI),
            (article(3), OFF_TOPIC),
            (article(4), NVIDIA_WEAK),
        ]
        await ingest(store, fresh, rows, before)
        old = await store.add_feed(FeedConfig("https://b.example/f", "B"), "cli", before)
        await ingest(store, old, [(article(5), NVIDIA)], before)  # its first poll: history
        [outcome] = await deliver_due(
            DeliveryContext(store, {"console": RecordingPoster()}, lambda: now)
        )
        assert outcome.status == "sent"
    finally:
        await store.close()
    config = tmp_path / "c.toml"
    config.write_text(
        '[chipwire]\nparse_workers = 0\n[[subscriptions]]\ntarget = "console"\n'
        'schedule = "* * * * *"\ncompanies = ["nvidia"]\nmin_relevance = 0.6\n'
    )
    return config, url


def cli(
    delivered: tuple[Path, str], capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    config, url = delivered
    code = main(["--config", str(config), "--database-url", url, "deliveries", *args])
    return code, capsys.readouterr().out


def test_deliveries_lists_what_was_sent_where(
    delivered: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = cli(delivered, capsys)
    assert code == 0
    assert "digest console" in out
    assert "sent" in out
    assert "1 articles" in out
    code, out = cli(delivered, capsys, "--target", "slack:C1")
    assert "nothing recorded yet for slack:C1" in out


@pytest.mark.parametrize(
    ("article_id", "reason"),
    [
        (1, "sent "),
        (2, "other company: about huawei; the subscription follows nvidia"),
        (3, "not relevant: not AI-chip news"),
        (4, "below the subscription's threshold (score 0.55 < min relevance 0.60)"),
        (5, "history: stored by its feed's first poll"),
    ],
)
def test_deliveries_says_why_an_article_was_not_sent(
    delivered: tuple[Path, str], capsys: pytest.CaptureFixture[str], article_id: int, reason: str
) -> None:
    code, out = cli(delivered, capsys, "--article", str(article_id))
    assert code == 0
    assert f"article {article_id} → console: {reason}" in out


def test_deliveries_json(delivered: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli(delivered, capsys, "--article", "1", "--json")
    found = json.loads(out)
    assert code == 0
    assert found["posts"][0]["article_ids"] == [1]
    assert found["posts"][0]["state"] == "sent"
    assert found["article"][0]["sent"] is True
    code, _ = cli(delivered, capsys, "--article", "99")
    assert code == 2
