"""Logs as `chipwire run` writes them: ChipWire's INFO lines on stderr by default (the systemd
unit runs without -v), -q for warnings only, libraries below warning."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

CONFIG = (
    '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n[ops]\nhealth_port = 0\n'
    '[[feeds]]\nurl = "http://127.0.0.1:9/x"\nname = "down"\nallow_private_address = true\n'
)


def run_bot(tmp_path: Path, *flags: str, until: str | None, seconds: float = 30) -> list[str]:
    config = tmp_path / "c.toml"
    config.write_text(CONFIG, encoding="utf-8")
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), *flags, "run", "--tick", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert bot.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    try:
        if until is None:
            time.sleep(seconds)
        else:
            while time.monotonic() < deadline:
                line = bot.stderr.readline()
                lines.append(line)
                if until in line:
                    break
    finally:
        bot.send_signal(signal.SIGTERM)
        _, rest = bot.communicate(timeout=15)
    return lines + rest.splitlines()


def test_run_logs_a_line_per_poll_cycle_and_failure_by_default(tmp_path: Path) -> None:
    lines = run_bot(tmp_path, until='msg="poll cycle"')
    assert any('msg="poll cycle"' in line and "failed=1" in line for line in lines), lines
    assert any('msg="feed failed"' in line for line in lines)
    # a first start migrates the store: Alembic says nothing below warning
    assert not any("alembic" in line.lower() for line in lines), lines


def test_quiet_run_logs_no_info_lines(tmp_path: Path) -> None:
    lines = run_bot(tmp_path, "-q", until=None, seconds=4)
    assert not any("level=info" in line for line in lines), lines
