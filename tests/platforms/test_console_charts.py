"""Charts on the console: `chipwire ask` and the console digest poster write them to files and
print the paths."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.commands.messages import Command, Reply
from bot.models import Subscription
from bot.platforms.console.commands import answer_text, ask
from bot.platforms.console.poster import ConsolePoster, safe_filename, save_chart
from tests.platforms import COMPANY_NAMES, PNG, chart, hostile_digest


def trend_reply() -> Reply:
    return Reply(title="Trend: Nvidia", lines=("up 20%",), attachment=chart())


async def test_ask_writes_the_chart_and_prints_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Command] = []

    async def dispatch(_: Any, command: Command) -> Reply:
        seen.append(command)
        return trend_reply()

    monkeypatch.setattr("bot.platforms.console.commands.dispatch", dispatch)
    text = await ask(None, "trend nvidia", out_dir=tmp_path / "charts")  # type: ignore[arg-type]

    assert [(c.name, c.args, c.channel) for c in seen] == [("trend", ("nvidia",), "console")]
    written = tmp_path / "charts" / chart().filename
    assert written.read_bytes() == PNG
    assert text.splitlines() == [
        "Trend: Nvidia",
        "up 20%",
        f"chart: {written}",
        f"  {chart().description}",
    ]


def test_the_working_directory_is_the_default_and_a_chart_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / chart().filename).write_bytes(b"last week's chart")
    text = answer_text(trend_reply())
    assert (tmp_path / chart().filename).read_bytes() == PNG
    assert f"chart: {tmp_path / chart().filename}\n" in text


def test_a_reply_without_a_chart_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert answer_text(Reply(title="Huawei")) == "Huawei\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("trend-nvidia-30d.png", "trend-nvidia-30d.png"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("/tmp/x.png", "_tmp_x.png"),
        ("a\\b c.png", "a_b_c.png"),
        (".bashrc", "bashrc"),
        ("...png", "png"),
        ("..", "chart.png"),
        ("", "chart.png"),
        ("华为.png", "__.png"),
        ("x" * 300 + ".png", "x" * 116 + ".png"),
    ],
)
def test_filenames_are_sanitised(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_a_hostile_filename_stays_in_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    line = save_chart(chart("../escape.png"), out)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in out.iterdir()] == ["_escape.png"]
    assert line.startswith(f"chart: {out / '_escape.png'}\n")


def test_a_chart_that_cannot_be_written_is_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    text = answer_text(trend_reply(), blocker)
    assert text.startswith("Trend: Nvidia\nup 20%\n")
    assert f"chart not saved to {blocker / chart().filename}: " in text


async def test_the_console_poster_keeps_each_digest_chart(tmp_path: Path) -> None:
    out = io.StringIO()
    poster = ConsolePoster(out, COMPANY_NAMES, chart_dir=tmp_path / "charts")
    sub = Subscription(target="console", schedule="0 8 * * *", id=7)
    await poster.post(sub, replace(hostile_digest(), chart=chart()), "n1")
    written = tmp_path / "charts" / f"digest-7-20261201-0600-{chart().filename}"
    assert written.read_bytes() == PNG
    printed = out.getvalue()
    assert "TSMC ramps 2nm" in printed
    assert printed.index("TSMC ramps 2nm") < printed.index(f"chart: {written}\n")


async def test_an_empty_digest_still_prints_its_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    sub = Subscription(target="console", schedule="0 8 * * *", id=3)
    empty = replace(hostile_digest(), sections=(), chart=chart())
    await ConsolePoster(out, COMPANY_NAMES, chart_dir=tmp_path).post(sub, empty, "n1")
    written = tmp_path / f"digest-3-20261201-0600-{chart().filename}"
    assert written.read_bytes() == PNG
    assert out.getvalue().strip().splitlines()[0] == f"chart: {written}"
