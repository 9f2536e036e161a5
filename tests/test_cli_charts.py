"""`chipwire trend`, `chipwire share` and `chipwire ask` writing charts, as a user runs them."""

from __future__ import annotations

import asyncio
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.models import Classification, FeedConfig
from bot.settings import load_settings
from bot.store.repo import Store
from tests.support import article, ingest


def seed(config: Path) -> None:
    """Nvidia and Huawei stories from the last days, stored as a running bot stores them."""

    async def fill() -> None:
        settings = load_settings(config)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = await Store.open(settings.database_url)
        now = datetime.now(UTC)
        state = await store.add_feed(
            FeedConfig(url="https://wire.example/feed", name="Wire"), "cli", now, history=False
        )
        items = [
            (article(n, published_at=now - timedelta(days=n % 3, hours=1)), verdict)
            for n, verdict in enumerate(
                [Classification(True, 0.9, ("nvidia",), ("t",))] * 4
                + [Classification(True, 0.9, ("huawei",), ("t",))] * 2
            )
        ]
        await ingest(store, state, items, now)
        await store.close()

    asyncio.run(fill())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "chipwire.toml"
    path.write_text('[chipwire]\ndata_dir = "data"\nparse_workers = 0\n', encoding="utf-8")
    seed(path)
    return path


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_trend_writes_the_png_where_asked(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "charts" / "race.png"
    code = main(
        ["--config", str(config), "trend", "NVDA", "华为", "--days", "7", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert png_size(out) == (1200, 675)
    assert "Nvidia and Huawei: relevant stories per day, last 7 days" in printed
    assert "Totals: Nvidia 4 · Huawei 2." in printed
    assert printed.rstrip().endswith(f"chart: {out}")


def test_share_defaults_to_a_file_named_for_the_window(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "share", "14"]) == 0
    printed = capsys.readouterr().out
    assert "1. Nvidia — 4 stories (67% of mentions)" in printed
    assert "2. Huawei — 2 stories (33% of mentions)" in printed
    assert png_size(tmp_path / "share-14d.png") == (1200, 675)


def test_nothing_to_draw_exits_one_and_writes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "none.png"
    assert main(["--config", str(config), "trend", "cambricon", "--out", str(out)]) == 1
    assert "No relevant stories about Cambricon in the last 30 days." in capsys.readouterr().out
    assert not out.exists()


def test_an_unknown_company_exits_two_with_suggestions(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bad.png"
    assert main(["--config", str(config), "trend", "nvidai", "--out", str(out)]) == 2
    assert "I don't know a company called 'nvidai'" in capsys.readouterr().out
    assert not out.exists()


def test_ask_writes_a_replys_chart_into_out_dir(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "asked"
    assert main(["--config", str(config), "ask", "trend nvidia 7", "--out-dir", str(folder)]) == 0
    assert f"chart: {folder / 'trend-nvidia-7d.png'}" in capsys.readouterr().out
    assert png_size(folder / "trend-nvidia-7d.png") == (1200, 675)
