"""Small ways a config or a flag can be wrong: each one a clear message and exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAD = '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n'


def chipwire(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_config_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes(
        (HEAD + '[[feeds]]\nurl = "https://a.example/f"\nname = "Caf\xe9"\n').encode("latin-1")
    )
    result = chipwire(config, "check")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{config}: line 6 is not UTF-8 (byte 0xe9)" in result.stderr
    assert "save the file as UTF-8" in result.stderr


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "bom.toml"
    config.write_bytes(
        "\ufeff".encode() + (HEAD + '[[feeds]]\nurl = "https://a.example/f"\n').encode()
    )
    result = chipwire(config, "check")
    assert result.returncode == 0, result.stderr
    assert "config ok" in result.stdout
    assert "(1 feeds)" in result.stdout


def test_a_since_beyond_any_calendar_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(HEAD, encoding="utf-8")
    for since in ("100000000000d", "36501d"):
        result = chipwire(config, "digest", "--since", since)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert "reaches back too far; at most 36500d" in result.stderr


def test_a_schedule_that_can_never_fire_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        HEAD + '[[subscriptions]]\ntarget = "console"\nschedule = "0 0 31 2 *"\n', encoding="utf-8"
    )
    result = chipwire(config, "check")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "subscriptions[0]" in result.stderr
    assert "can never fire" in result.stderr
    leap = tmp_path / "leap.toml"
    leap.write_text(
        HEAD + '[[subscriptions]]\ntarget = "console"\nschedule = "0 0 29 2 *"\n', encoding="utf-8"
    )
    assert chipwire(leap, "check").returncode == 0  # every fourth year is enough
