"""Cold start of the command line: each command as a fresh process, median of several runs.

Run: .venv/bin/python bench/startup.py [--runs 9] [--feeds 50]

Times `chipwire --help`, `chipwire ask help` and `chipwire feeds list` (over a store with --feeds
feeds, migrated before timing, so the figure is a user's second and later runs). Wall time is what
the user waits; CPU (user + sys of the child) is printed beside it because on a shared machine the
wall time also counts other processes' turns on the cores. The load average is printed with the
figures. Targets (docs/performance.md): --help < 0.3 s, ask help < 0.4 s, feeds list < 0.8 s,
on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"--help": 0.3, "ask help": 0.4, "feeds list": 0.8}


def chipwire() -> list[str]:
    """The installed console script (what a user runs), else `python -m bot`."""
    script = Path(sys.executable).parent / "chipwire"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(argv: list[str], cwd: Path) -> tuple[float, float]:
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return wall, _children_cpu() - cpu


def write_config(folder: Path, feeds: int) -> None:
    lines = ['[chipwire]\ndata_dir = "data"\n']
    for k in range(feeds):
        lines.append(f'[[feeds]]\nurl = "https://feeds.example/{k}.xml"\nname = "Feed {k}"\n')
    (folder / "chipwire.toml").write_text("".join(lines), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--feeds", type=int, default=50)
    args = parser.parse_args()
    base = chipwire()
    with tempfile.TemporaryDirectory(prefix="chipwire-startup-") as tmp:
        folder = Path(tmp)
        write_config(folder, args.feeds)
        sync = [*base, "--config", "chipwire.toml", "sync"]
        subprocess.run(sync, cwd=folder, capture_output=True, check=True)  # migrate + add feeds
        commands = {
            "--help": [*base, "--help"],
            "ask help": [*base, "ask", "help"],
            "feeds list": [*base, "--config", "chipwire.toml", "feeds", "list"],
        }
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"python {sys.version.split()[0]}; {os.cpu_count()} cores; load before: {load}")
        print(f"{'command':<14}{'median s':>10}{'min s':>8}{'CPU s':>8}{'target':>9}  verdict")
        for name, argv in commands.items():
            time_once(argv, folder)  # warm the OS page cache, as any second run has it
            runs = [time_once(argv, folder) for _ in range(args.runs)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            best = min(w for w, _ in runs)
            target = TARGETS[name]
            verdict = "met" if wall < target else "NOT met"
            print(f"{name:<14}{wall:>10.3f}{best:>8.3f}{cpu:>8.3f}{target:>9.1f}  {verdict}")
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load after: {load}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
