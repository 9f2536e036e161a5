"""Benchmark: ChipWire's poll against the `reader` library doing the same job, same run.

    .venv/bin/python bench/poll.py [--feeds 1000] [--entries 50] [--only SIDE[,SIDE]]
                                   [--html light|heavy] [--no-commands]

Needs the bench extras: `.venv/bin/pip install 'reader==3.26' sgmllib3k psutil`.

Three sides, each timed on its own (SIDE for --only, which may be repeated or comma-separated):

  chipwire           ChipWire with `[classify] enabled = false`: fetch, parse, dedup, store,
                     i.e. the job reader does (like for like).
  chipwire-classify  ChipWire as shipped (no [classify] table: classification on), so every entry
                     is also classified (companies, relevance); the targets apply to it too
                     (reader does no classification).
  reader             reader 3.26: make_reader + update_feeds_iter.

A loopback server (bench/feedserver.py, its own process, so its CPU is counted against no side)
serves N generated news-like RSS feeds of M entries. Before each side it is reset to generation 0
with validators on, and each side gets a fresh working directory (empty store). Each side runs the
way a bot runs: ONE long-lived driver process (this file with --driver SIDE) imports its library,
opens its store, then does four scenarios in a row:

 1. first poll, every entry new (validators on: ETag + Last-Modified);
 2. unchanged re-poll, the server answers 304;
 3. unchanged re-poll without validators: 200 and the same bytes every time;
 4. every feed gained two entries (validators still off).

The driver times each scenario itself: wall = time.perf_counter() around the poll; CPU = user + sys
of the driver plus its live descendants plus the reaped ones (psutil), so interpreter start-up,
imports and store opening are not in the table; they are measured apart (the driver reports them,
and a cold `chipwire feeds list` / `python -c "import reader"` is timed once per side). This
process samples the RSS sum of the driver's process tree every 50 ms (and its PSS sum, which counts
pages shared between processes once, at each START/END marker; reading PSS walks every mapping, and
doing it often took CPU from the 2 cores both sides run on) and attributes
each sample to the scenario between the driver's START/END markers. The memory target is checked
against the tree RSS sum, the stricter figure. After the run each ChipWire driver counts the stored
articles that carry a classification (none expected for `chipwire`, all for `chipwire-classify`).
Then, unless --no-commands, each side runs the same four scenarios again as WHOLE COMMANDS from a
new empty store: one fresh process per scenario (`chipwire --config CFG poll --once`, the way cron
and the CLI run a poll; for reader a fresh `bench/poll.py --reader-once update` process), timed
from outside, start-up and imports included. --html heavy serves descriptions of real size
(500-2,000 characters with links, images and markup) instead of the light ~60-word ones.
It prints Markdown tables (like for like, as shipped, as shipped as whole commands, each against
reader, with targets) and writes them to bench/results/. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import platform
import queue
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

try:
    import psutil
except ImportError:  # pragma: no cover - explained at start-up
    psutil = None  # type: ignore[assignment]

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
SAMPLE_SECONDS = 0.05  # a sampler that runs hot steals CPU from the side using both cores
DISCOVER_EVERY = 5  # look for new processes every 5th sample
SIDES = ("chipwire", "chipwire-classify", "reader")
CLASSIFY = {"chipwire": False, "chipwire-classify": True}  # ChipWire sides: classify at ingest?
LABELS = {
    "chipwire": "ChipWire (classify off)",
    "chipwire-classify": "ChipWire as shipped (classify on)",
    "reader": "reader",
}
RSS_TARGET_MB = 200
NEW_PER_GENERATION = 2  # must match feedserver.NEW_PER_GENERATION
COLD_RUNS = 3


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    validators: str  # "on" | "off"
    generation: int


SCENARIOS = (
    Scenario("first", "1. first poll, all new (validators on)", "on", 0),
    Scenario("304", "2. unchanged re-poll, 304s (validators on)", "on", 0),
    Scenario("same", "3. unchanged re-poll, no validators (200, same bytes)", "off", 0),
    Scenario("plus2", "4. +2 entries per feed (validators still off)", "off", 1),
)
BY_KEY = {s.key: s for s in SCENARIOS}


class BenchError(Exception):
    """A problem that stops the benchmark; its text says what to do."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def http_json(base: str, path: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(
        base + path, method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def feed_url(base: str, index: int) -> str:
    return f"{base}/feed/{index}.xml"


# --------------------------------------------------------------------------------------------
# The driver: one long-lived process per side (python bench/poll.py --driver SIDE ...).
#
# Protocol on its stdout (anything the library prints goes to stderr instead):
#   {"event": "ready", ...}           imports and store set up
#   START <key> / END <key>           around each timed poll (flushed), for RSS attribution
#   {"scenario": <key>, "wall", "cpu", "stored_after", "outcome", "served"}
#   {"event": "done", ...} or {"event": "error", "error": traceback}


def tree_cpu(me: psutil.Process) -> float:
    """User + sys seconds of this process, its live descendants and every reaped descendant.

    A dead descendant's time is in the children_* of whichever ancestor waited for it (us, or a
    live descendant such as a forkserver), so summing user+system+children_* over the live tree
    counts each process once. Descendants are read before ourselves so one reaped in between is
    missed by the first read but caught in our children_*.
    """
    total = 0.0
    try:
        kids = me.children(recursive=True)
    except psutil.Error:
        kids = []
    for kid in kids:
        with contextlib.suppress(psutil.Error):
            t = kid.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    t = me.cpu_times()
    return total + t.user + t.system + t.children_user + t.children_system


class Driver:
    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self.base = args.server.rstrip("/")
        self.workdir = Path(args.workdir)
        self.me = psutil.Process()

    def emit(self, payload: dict[str, Any] | str) -> None:
        self.out.write((payload if isinstance(payload, str) else json.dumps(payload)) + "\n")
        self.out.flush()

    def prepare(self, scenario: Scenario) -> None:
        http_json(
            self.base,
            f"/control?validators={scenario.validators}&generation={scenario.generation}",
            "POST",
        )
        http_json(self.base, "/stats?reset=1")

    def begin(self, scenario: Scenario) -> tuple[float, float]:
        self.emit(f"START {scenario.key}")
        return time.perf_counter(), tree_cpu(self.me)

    def end(self, scenario: Scenario, started: tuple[float, float]) -> tuple[float, float]:
        wall = time.perf_counter() - started[0]
        cpu = tree_cpu(self.me) - started[1]
        self.emit(f"END {scenario.key}")
        return wall, cpu

    def report(
        self,
        scenario: Scenario,
        measured: tuple[float, float],
        outcome: dict[str, Any],
        stored: int,
    ) -> None:
        served = http_json(self.base, "/stats")
        self.emit(
            {
                "scenario": scenario.key,
                "wall": measured[0],
                "cpu": measured[1],
                "stored_after": stored,
                "outcome": outcome,
                "served": served,
            }
        )

    def done(self, extra: dict[str, Any]) -> None:
        t = self.me.cpu_times()
        self.emit(
            {
                "event": "done",
                "process_cpu": t.user + t.system + t.children_user + t.children_system,
                "tree_cpu": tree_cpu(self.me),
                **extra,
            }
        )


def write_chipwire_config(path: Path, base: str, feeds: int, classify: bool) -> None:
    lines = [
        "# generated by bench/poll.py",
        "[chipwire]",
        'data_dir = "."',
        "parse_workers = -1",
        "",
    ]
    if not classify:  # as shipped = no [classify] table at all (enabled defaults to true)
        lines += ["[classify]", "enabled = false", ""]
    for index in range(feeds):
        lines += [
            "[[feeds]]",
            f"url = {json.dumps(feed_url(base, index))}",  # a JSON ASCII string is valid TOML
            f"name = {json.dumps(f'bench {index}')}",
            "allow_private_address = true",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


async def drive_chipwire(driver: Driver, classify: bool) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # as the CLI does
    config = driver.workdir / "bench.toml"
    write_chipwire_config(config, driver.base, driver.args.feeds, classify)
    started = time.perf_counter()
    from bot.app import build_app
    from bot.ingest.pipeline import poll_feeds
    from bot.settings import load_settings

    imported = time.perf_counter()
    settings = load_settings(config, None)
    enabled = getattr(settings, "classify_at_ingest", None)
    if enabled is not classify:
        raise RuntimeError(
            f"{config}: ChipWire read classify_at_ingest={enabled!r}, the benchmark wanted "
            f"{classify}; does this ChipWire support [classify] enabled?"
        )
    app = await build_app(settings)
    await app.sync_config()
    async with app:
        # No warm-up: as shipped, the parse pool starts with the first body that needs parsing,
        # so the first poll pays for it and the 304 polls never do.
        ready = time.perf_counter()
        driver.emit(
            {
                "event": "ready",
                "imports": imported - started,
                "setup": ready - imported,
                "feeds": len(await app.store.list_feeds()),
            }
        )
        for scenario in SCENARIOS:
            driver.prepare(scenario)
            clock = driver.begin(scenario)
            feeds = await app.store.list_feeds()
            outcomes = await poll_feeds(app.poll_context(), feeds)
            measured = driver.end(scenario, clock)
            tally: dict[str, Any] = {"feeds": len(outcomes), "errors": 0, "error_samples": []}
            for name in ("200", "304", "skipped_parse", "new", "new_sources"):
                tally[name] = 0
            for o in outcomes:
                if o.error:
                    tally["errors"] += 1
                    if len(tally["error_samples"]) < 5:
                        tally["error_samples"].append(f"{o.url}: {o.error}")
                if o.status in (200, 304):
                    tally[str(o.status)] += 1
                tally["skipped_parse"] += int(o.skipped_parse)
                tally["new"] += o.new_articles
                tally["new_sources"] += o.new_sources
            driver.report(scenario, measured, tally, await app.store.count_articles())
        classified = await count_classified(app.store.engine)  # after the last poll, untimed
    driver.done({"imports": imported - started, "classify": enabled, "classified": classified})


async def count_classified(engine: Any) -> int:
    """Stored articles that carry a verdict (`relevant` is set only by the classifier)."""
    from sqlalchemy import func, select

    from bot.store.schema import articles

    async with engine.connect() as conn:
        query = select(func.count()).select_from(articles).where(articles.c.relevant.is_not(None))
        return int((await conn.execute(query)).scalar_one())


def drive_reader(driver: Driver) -> None:
    started = time.perf_counter()
    from reader import make_reader

    imported = time.perf_counter()
    reader = make_reader(str(driver.workdir / "reader.sqlite"))
    try:
        for index in range(driver.args.feeds):
            reader.add_feed(feed_url(driver.base, index))
        ready = time.perf_counter()
        driver.emit(
            {
                "event": "ready",
                "imports": imported - started,
                "setup": ready - imported,
                "feeds": reader.get_feed_counts().total,
            }
        )
        for scenario in SCENARIOS:
            driver.prepare(scenario)
            clock = driver.begin(scenario)
            tally: dict[str, Any] = {"feeds": 0, "updated": 0, "not_modified": 0, "errors": 0}
            tally.update({"new": 0, "modified": 0, "unmodified": 0, "error_samples": []})
            # update_feeds_iter is update_feeds that also yields each feed's result;
            # scheduled=False: re-polls seconds later must not be skipped as "not due yet".
            for result in reader.update_feeds_iter(
                scheduled=False, workers=driver.args.reader_workers
            ):
                tally["feeds"] += 1
                if result.error is not None:
                    tally["errors"] += 1
                    if len(tally["error_samples"]) < 5:
                        tally["error_samples"].append(f"{result.url}: {result.error!r}")
                elif result.value is None:
                    tally["not_modified"] += 1
                else:
                    tally["updated"] += 1
                    tally["new"] += result.value.new
                    tally["modified"] += result.value.modified
                    tally["unmodified"] += result.value.unmodified
            measured = driver.end(scenario, clock)
            driver.report(scenario, measured, tally, reader.get_entry_counts().total)
    finally:
        reader.close()
    driver.done({"imports": imported - started})


def driver_main(args: argparse.Namespace) -> int:
    # keep the real stdout for the protocol; anything else printed goes to stderr
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.path.insert(0, str(ROOT))
    driver = Driver(args, out)
    try:
        if args.driver in CLASSIFY:
            asyncio.run(drive_chipwire(driver, CLASSIFY[args.driver]))
        else:
            drive_reader(driver)
    except BaseException as exc:
        driver.emit({"event": "error", "error": "".join(traceback.format_exception(exc))})
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# The parent: the feed server, the driver processes, RSS sampling


class FeedServer:
    """bench/feedserver.py in its own process, on an ephemeral loopback port."""

    def __init__(
        self, feeds: int, entries: int, seed: int, workdir: Path, html: str = "light"
    ) -> None:
        self.stderr_path = workdir / "feedserver.stderr"
        cmd = [sys.executable, str(BENCH / "feedserver.py"), "--feeds", str(feeds)]
        cmd += ["--entries", str(entries), "--seed", str(seed), "--port", "0", "--html", html]
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
        )
        self.port = self._read_port(timeout=180)
        self.base = f"http://127.0.0.1:{self.port}"

    def _read_port(self, timeout: float) -> int:
        found: list[int] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.decode(errors="replace").strip()
                if line.startswith("PORT "):
                    found.append(int(line.split()[1]))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            self.stop()
            raise BenchError(
                f"the feed server did not report its port within {timeout:.0f} s; "
                f"its stderr: {self._tail()}"
            )
        return found[0]

    def _tail(self) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace").strip()
        except OSError:
            return "(unreadable)"
        return text[-1500:] or "(empty)"

    def control(self, validators: str, generation: int) -> dict[str, Any]:
        if self.proc.poll() is not None:
            raise BenchError(
                f"the feed server exited (code {self.proc.returncode}): {self._tail()}"
            )
        return http_json(
            self.base, f"/control?validators={validators}&generation={generation}", "POST"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                if self.proc.stdin:
                    self.proc.stdin.close()  # the server exits when its stdin closes
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()


def become_subreaper() -> bool:
    """Orphaned descendants are re-parented to us, so we can sample, reap and clean them up."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


@dataclass
class Peaks:
    rss: int = 0  # sum over the tree
    main: int = 0  # the driver process alone
    pss: int | None = None  # sum over the tree, at START/END
    processes: int = 0

    def add(self, rss: int, main: int, pss: int | None, processes: int) -> None:
        self.rss = max(self.rss, rss)
        self.main = max(self.main, main)
        if pss is not None:
            self.pss = max(self.pss or 0, pss)
        self.processes = max(self.processes, processes)


class TreeSampler(threading.Thread):
    """Every 50 ms: the RSS sum of the driver and all our other descendants except the server.

    Samples go to `overall` and to the scenario named by `current` (set on START, cleared on END).
    """

    def __init__(self, root_pid: int, exclude: set[int]) -> None:
        super().__init__(name="tree-sampler", daemon=True)
        self.root_pid = root_pid
        self.exclude = exclude
        self.stop_event = threading.Event()
        self.current: str | None = "setup"
        self.overall = Peaks()
        self.phases: dict[str, Peaks] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()

    def mark(self, phase: str | None) -> None:
        """On START/END: one sample (with PSS) now, so even a 5 ms poll gets one, then switch."""
        if phase is None:
            self.sample(True)
            self.current = None
        else:
            self.current = phase
            self.sample(True)

    def _discover(self) -> None:
        with contextlib.suppress(psutil.Error):
            # our descendants: the driver's tree plus orphans re-parented to us (subreaper)
            for proc in psutil.Process().children(recursive=True):
                if proc.pid not in self.exclude and proc.pid not in self._procs:
                    self._procs[proc.pid] = proc

    def sample(self, with_pss: bool) -> None:
        with self._lock:
            self._sample(with_pss)

    def _sample(self, with_pss: bool) -> None:
        total = pss = main = alive = 0
        for pid, proc in list(self._procs.items()):
            try:
                rss = proc.memory_info().rss
                if with_pss:
                    pss += proc.memory_full_info().pss
            except psutil.Error:
                del self._procs[pid]
                continue
            alive += 1
            total += rss
            if pid == self.root_pid:
                main = rss
        phase = self.current
        self.overall.add(total, main, pss if with_pss else None, alive)
        if phase is not None:
            self.phases.setdefault(phase, Peaks()).add(
                total, main, pss if with_pss else None, alive
            )

    def run(self) -> None:
        tick = 0
        while True:
            if tick % DISCOVER_EVERY == 0:
                with self._lock:
                    self._discover()
            tick += 1
            self.sample(False)
            if self.stop_event.wait(SAMPLE_SECONDS):
                return


def _children_rusage() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _kill_tree(pid: int) -> None:
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for proc in [*root.children(recursive=True), root]:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def _reap_orphans(exclude: set[int], deadline: float) -> int:
    """Wait for descendants re-parented to us (e.g. a forkserver); kill them after the deadline."""
    reaped = 0
    me = psutil.Process()
    while True:
        try:
            kids = [p for p in me.children() if p.pid not in exclude]
        except psutil.Error:
            kids = []
        if not kids:
            return reaped
        for kid in kids:
            try:
                pid, _ = os.waitpid(kid.pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if pid:
                reaped += 1
        if time.monotonic() > deadline:
            for kid in kids:
                with contextlib.suppress(psutil.Error):
                    log(f"killing left-over descendant pid {kid.pid} ({kid.name()})")
                _kill_tree(kid.pid)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(kid.pid, 0)
                    reaped += 1
            return reaped
        time.sleep(0.01)


@dataclass
class Step:
    scenario: Scenario
    wall: float = 0.0
    cpu: float = 0.0
    stored_after: int | None = None
    outcome: dict[str, Any] = field(default_factory=dict)
    served: dict[str, Any] = field(default_factory=dict)
    peaks: Peaks = field(default_factory=Peaks)
    ok: bool = False
    failure: str = ""  # "timed out after 600 s" / "driver error"


@dataclass
class SideResult:
    side: str
    steps: dict[str, Step] = field(default_factory=dict)
    ready: dict[str, Any] = field(default_factory=dict)  # imports / setup seconds
    done: dict[str, Any] = field(default_factory=dict)
    overall: Peaks = field(default_factory=Peaks)
    setup_peaks: Peaks = field(default_factory=Peaks)
    driver_rusage: float | None = None  # RUSAGE_CHILDREN over the whole driver run
    driver_wall: float = 0.0
    cold: list[float] = field(default_factory=list)
    cold_what: str = ""
    cold_error: str | None = None
    commands: dict[str, CommandRun] = field(default_factory=dict)  # fresh process per scenario
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("CHIPWIRE_CONFIG", "CHIPWIRE_DATABASE_URL"):
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_driver(
    side: str, server: FeedServer, args: argparse.Namespace, workdir: Path
) -> SideResult:
    result = SideResult(side)
    exclude = {server.proc.pid}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--driver", side]
    cmd += ["--server", server.base, "--workdir", str(workdir), "--feeds", str(args.feeds)]
    cmd += ["--entries", str(args.entries), "--reader-workers", str(args.reader_workers)]
    err_path = workdir / "driver.stderr"
    lines: queue.Queue[str | None] = queue.Queue()
    cpu_before = _children_rusage()
    with err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
            env=_clean_env(), text=True, encoding="utf-8", errors="replace",
        )  # fmt: skip
        sampler = TreeSampler(proc.pid, exclude)
        sampler.start()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                # attribute RSS samples at once, not when the main thread gets to the line
                if line.startswith("START "):
                    sampler.mark(line.split(" ", 1)[1])
                elif line.startswith("END "):
                    sampler.mark(None)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, name="driver-stdout", daemon=True).start()
        deadline = time.monotonic() + args.timeout
        current: str | None = None
        step_started = time.perf_counter()
        try:
            while True:
                try:
                    line = lines.get(timeout=max(0.05, deadline - time.monotonic()))
                except queue.Empty:
                    what = f"scenario {current}" if current else "set-up"
                    log(f"{side}: {what} timed out after {args.timeout:.0f} s; killing the driver")
                    if current:
                        step = result.steps.setdefault(current, Step(BY_KEY[current]))
                        step.failure = f"timed out after {args.timeout:.0f} s"
                        step.wall = time.perf_counter() - step_started
                    else:
                        result.error = f"set-up timed out after {args.timeout:.0f} s"
                    _kill_tree(proc.pid)
                    break
                if line is None:
                    break
                if line.startswith("START "):
                    current = line.split(" ", 1)[1]
                    step_started = time.perf_counter()
                    deadline = time.monotonic() + args.timeout
                    log(f"{side}: {BY_KEY[current].label} ...")
                    continue
                if line.startswith("END "):
                    current = None
                    deadline = time.monotonic() + args.timeout  # the count and the next set-up
                    continue
                try:
                    payload = json.loads(line)
                except ValueError:
                    result.notes.append(f"unexpected driver output: {line[:200]!r}")
                    continue
                event = payload.get("event")
                if event == "ready":
                    result.ready = payload
                    log(f"{side}: driver ready: imports {payload['imports']:.2f} s, set-up "
                        f"{payload['setup']:.2f} s, {payload['feeds']} feeds")  # fmt: skip
                elif event == "done":
                    result.done = payload
                elif event == "error":
                    result.error = "driver error:\n" + payload["error"].strip()
                    log(f"{side}: {result.error}")
                elif "scenario" in payload:
                    key = payload["scenario"]
                    step = Step(BY_KEY[key], ok=True)
                    step.wall, step.cpu = payload["wall"], payload["cpu"]
                    step.stored_after = payload["stored_after"]
                    step.outcome, step.served = payload["outcome"], payload["served"]
                    result.steps[key] = step
                    log(f"{side}: {key}: wall {step.wall:.2f} s, CPU {step.cpu:.2f} s, "
                        f"stored {step.stored_after}; server {step.served}")  # fmt: skip
            returncode = proc.wait(timeout=120)
        except BaseException:
            _kill_tree(proc.pid)
            proc.wait()
            raise
        finally:
            result.driver_wall = time.perf_counter() - started
            _reap_orphans(exclude, time.monotonic() + 60)
            sampler.stop_event.set()
            sampler.join()
    result.driver_rusage = _children_rusage() - cpu_before
    for key, peaks in sampler.phases.items():
        if key == "setup":
            result.setup_peaks = peaks
        elif key in result.steps:
            result.steps[key].peaks = peaks
    result.overall = sampler.overall
    if returncode != 0 and not result.error:
        tail = err_path.read_text(errors="replace").strip()[-2000:]
        result.error = f"driver exited {returncode}; stderr tail:\n{tail}"
    stderr = err_path.read_text(errors="replace").strip().splitlines()
    if stderr and not result.error:
        result.notes.append(f"driver stderr: {len(stderr)} lines, e.g. {stderr[0][:300]!r}")
    for scenario in SCENARIOS:
        if scenario.key not in result.steps:
            result.steps[scenario.key] = Step(scenario, failure="not run")
    return result


def cold_start(
    side: str, args: argparse.Namespace, workdir: Path, result: SideResult, exclude: set[int]
) -> None:
    """Wall time of a fresh process doing the least useful thing: start-up and imports."""
    if side in CLASSIFY:
        exe = args.chipwire
        cmd = [exe, "--config", str(workdir / "bench.toml"), "feeds", "list", "--json"]
        result.cold_what = "`chipwire --config CFG feeds list --json > /dev/null`"
        if not Path(exe).exists():
            result.cold_error = f"{exe} does not exist (pip install -e . into the venv)"
            return
    else:
        cmd = [sys.executable, "-c", "import reader"]
        result.cold_what = '`python -c "import reader"`'
    leftovers = 0
    for _ in range(COLD_RUNS):
        started = time.perf_counter()
        try:
            done = subprocess.run(
                cmd, cwd=workdir, env=_clean_env(), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            result.cold_error = "timed out after 300 s"
            return
        elapsed = time.perf_counter() - started
        # a forkserver or resource tracker it left behind is re-parented to us: reap it now
        leftovers += _reap_orphans(exclude, time.monotonic() + 60)
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip()[-300:]
            result.cold_error = f"exit {done.returncode}: {tail}"
            return
        result.cold.append(elapsed)
    if leftovers:
        result.notes.append(
            f"the {COLD_RUNS} cold-start runs left {leftovers} orphaned process(es) behind "
            "(re-parented to the benchmark and reaped; their life after exit is not in the timing)"
        )


# --------------------------------------------------------------------------------------------
# Whole commands: one fresh process per scenario, timed from outside (start-up, imports, store
# opening, config sync, the poll and exit all included), the way cron and the CLI run a poll.


@dataclass
class CommandRun:
    wall: float = 0.0
    cpu: float = 0.0  # user + sys of the reaped process tree (RUSAGE_CHILDREN)
    error: str | None = None


def reader_once(args: argparse.Namespace) -> int:
    """`--reader-once add|update`: reader's equivalent of one `chipwire poll --once` process."""
    from reader import make_reader

    reader = make_reader(str(Path(args.workdir) / "reader.sqlite"))
    try:
        if args.reader_once == "add":
            for index in range(args.feeds):
                reader.add_feed(feed_url(args.server.rstrip("/"), index))
        else:
            reader.update_feeds(scheduled=False, workers=args.reader_workers)
    finally:
        reader.close()
    return 0


def _command_for(
    side: str, args: argparse.Namespace, server: FeedServer, workdir: Path
) -> list[str]:
    if side in CLASSIFY:
        return [args.chipwire, "--config", str(workdir / "bench.toml"), "poll", "--once"]
    cmd = [sys.executable, str(Path(__file__).resolve()), "--reader-once", "update"]
    cmd += ["--server", server.base, "--workdir", str(workdir), "--feeds", str(args.feeds)]
    return [*cmd, "--reader-workers", str(args.reader_workers)]


def _run_timed(cmd: list[str], workdir: Path, timeout: float, exclude: set[int]) -> CommandRun:
    cpu = _children_rusage()
    started = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, cwd=workdir, env=_clean_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return CommandRun(time.perf_counter() - started, error=f"timed out after {timeout:.0f} s")
    wall = time.perf_counter() - started
    _reap_orphans(exclude, time.monotonic() + 60)  # a forkserver left behind counts too
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-300:]
        return CommandRun(wall, error=f"exit {done.returncode}: {tail}")
    return CommandRun(wall, _children_rusage() - cpu)


def run_commands(
    side: str, server: FeedServer, args: argparse.Namespace, workdir: Path
) -> dict[str, CommandRun]:
    """The four scenarios, each as one fresh process, from an empty store."""
    workdir.mkdir()
    exclude = {server.proc.pid}
    if side in CLASSIFY:
        write_chipwire_config(workdir / "bench.toml", server.base, args.feeds, CLASSIFY[side])
    else:
        add = _command_for(side, args, server, workdir)
        add[add.index("update")] = "add"
        failed = _run_timed(add, workdir, args.timeout, exclude).error  # untimed set-up
        if failed:
            return {s.key: CommandRun(error=f"adding feeds: {failed}") for s in SCENARIOS}
    runs: dict[str, CommandRun] = {}
    for scenario in SCENARIOS:
        server.control(scenario.validators, scenario.generation)
        run = _run_timed(_command_for(side, args, server, workdir), workdir, args.timeout, exclude)
        log(f"{side}: fresh process, {scenario.key}: {run.wall:.2f} s {run.error or ''}")
        runs[scenario.key] = run
    return runs


COMMAND_TARGETS = {"first": 5.0, "304": 2.0}


def _command_table(results: dict[str, SideResult], side: str) -> list[str]:
    ours, theirs = results.get(side), results.get("reader")
    if not ours or not ours.commands or not theirs or not theirs.commands:
        return []
    head = [
        "scenario",
        f"{LABELS[side]}: `chipwire poll --once` wall s",
        "CPU s",
        "reader: fresh process wall s",
        "CPU s",
        "ratio (reader ÷ ChipWire wall)",
        "target",
    ]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scenario in SCENARIOS:
        a, b = ours.commands.get(scenario.key), theirs.commands.get(scenario.key)
        cells = []
        for run in (a, b):
            if run is None or run.error:
                cells += [run.error if run else "–", "–"]
            else:
                cells += [_fmt(run.wall), _fmt(run.cpu)]
        ratio = None
        if a and b and not a.error and not b.error and a.wall > 0:
            ratio = b.wall / a.wall
        target = COMMAND_TARGETS.get(scenario.key)
        verdict = "–"
        if target is not None:
            verdict = f"≥ {target:g}x"
            if ratio is not None:
                verdict += " ✓" if ratio >= target else " ✗"
        ratio_cell = f"{ratio:.1f}x" if ratio is not None else "–"
        out.append("| " + " | ".join([scenario.label, *cells, ratio_cell, verdict]) + " |")
    return out


# --------------------------------------------------------------------------------------------
# Report


def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def _throughput(step: Step, n: int, m: int) -> str:
    wall = step.wall
    if not step.ok or wall <= 0:
        return "–"
    key = step.scenario.key
    if key == "first":
        return f"{n * m / wall:,.0f}"
    if key == "plus2":
        return f"{n * m / wall:,.0f} doc / {n * NEW_PER_GENERATION / wall:,.0f} new"
    return f"{n / wall:,.0f} feeds/s"


TARGETS = {"first": 6.0, "304": 3.0, "same": 30.0, "plus2": 6.0}


def _mb(value: int | None) -> str:
    return "–" if value is None else f"{value / 1e6:.0f}"


def _errors(step: Step) -> int:
    return int(step.outcome.get("errors", 0) or 0)


def _cells(step: Step | None, n: int, m: int) -> list[str]:
    if step is None:
        return ["–"] * 4
    if not step.ok:
        what = step.failure or "failed"
        if step.wall:
            what += f" (at {step.wall:.1f} s)"
        return [what, "–", "–", _fmt(step.peaks.rss / 1e6, 0) if step.peaks.rss else "–"]
    wall = _fmt(step.wall) + (f" ({_errors(step)} errors)" if _errors(step) else "")
    return [wall, _fmt(step.cpu), _throughput(step, n, m), _fmt(step.peaks.rss / 1e6, 0)]


def versions() -> str:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    vendored = "?"
    with contextlib.suppress(Exception):
        from reader._vendor import feedparser as vendored_feedparser  # type: ignore[import-not-found]

        vendored = vendored_feedparser.__version__
    cpus = os.cpu_count()
    with contextlib.suppress(AttributeError):
        cpus = len(os.sched_getaffinity(0))
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = ", " + line.split(":", 1)[1].strip()
                break
    memory = f", {psutil.virtual_memory().total / 2**30:.1f} GiB RAM" if psutil else ""
    return (
        f"Machine: nproc {cpus} ({platform.machine()}{model}{memory}, {platform.system()} "
        f"{platform.release()}); Python {platform.python_version()}; chipwire {version('chipwire')} "
        f"with feedparser {version('feedparser')}, aiohttp {version('aiohttp')}, SQLAlchemy "
        f"{version('SQLAlchemy')}; reader {version('reader')} (vendored feedparser {vendored}, "
        f"requests {version('requests')})"
    )


def _cold_line(side: str, r: SideResult) -> str:
    if r.cold_error:
        cold = f"{r.cold_what}: failed ({r.cold_error})"
    elif r.cold:
        runs = ", ".join(f"{t:.2f}" for t in r.cold)
        cold = f"{r.cold_what} median {statistics.median(r.cold):.2f} s (runs {runs})"
    else:
        cold = "cold start not measured"
    ready = r.ready
    inside = ""
    if ready:
        what = "store open + config feeds sync" if side in CLASSIFY else "make_reader + add_feed×N"
        inside = (
            f"; inside the driver: imports {ready['imports']:.2f} s, set-up ({what}) "
            f"{ready['setup']:.2f} s"
        )
    return f"{side}: {cold}{inside}"


def _ratio(ours: Step | None, theirs: Step | None) -> float | None:
    """reader wall / ChipWire wall, when both polls completed."""
    if ours and theirs and ours.ok and theirs.ok and ours.wall > 0:
        return theirs.wall / ours.wall
    return None


def _memory_cells(result: SideResult | None, pss: bool) -> list[str]:
    """The whole driver run's peaks (set-up included), in the RSS (and PSS) columns."""
    rss = _mb(result.overall.rss) if result and result.overall.rss else "–"
    cells = ["–", "–", "–", rss]
    if pss:
        cells.append(_mb(result.overall.pss) if result else "–")
    return cells


def _comparison(
    results: dict[str, SideResult], side: str, n: int, m: int, *, targets: bool
) -> list[str]:
    """One table: `side` (a ChipWire side) against reader, scenario by scenario."""
    ours, theirs = results.get(side), results.get("reader")
    baseline = results.get("chipwire") if side != "chipwire" else None
    label = LABELS[side]
    head = [
        "scenario",
        f"{label} wall s",
        "CPU s",
        "entries/s",
        "peak tree RSS MB",
        "peak tree PSS MB",
        "reader wall s",
        "CPU s",
        "entries/s",
        "peak RSS MB",
        "ratio (reader ÷ ChipWire wall)",
    ]
    if targets:
        head.append("target")
    elif baseline:
        head.append("wall ÷ classify-off wall")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scenario in SCENARIOS:
        a = ours.steps.get(scenario.key) if ours else None
        b = theirs.steps.get(scenario.key) if theirs else None
        value = _ratio(a, b)
        row = [scenario.label, *_cells(a, n, m), _mb(a.peaks.pss) if a else "–"]
        row += [*_cells(b, n, m), f"{value:.1f}x" if value is not None else "–"]
        if targets:
            verdict = f"≥ {TARGETS[scenario.key]:g}x"
            if value is not None and a is not None:
                good = value >= TARGETS[scenario.key] and not _errors(a)
                verdict += " ✓" if good else " ✗"
            row.append(verdict)
        elif baseline:
            c = baseline.steps.get(scenario.key)
            cost = _ratio(c, a)  # a.wall / c.wall
            row.append(f"{cost:.2f}x" if cost is not None else "–")
        out.append("| " + " | ".join(row) + " |")
    row = ["peak memory, whole driver run (set-up included)", *_memory_cells(ours, True)]
    row += [*_memory_cells(theirs, False), "–"]
    if targets:
        verdict = f"RSS < {RSS_TARGET_MB} MB"
        if ours and ours.overall.rss:
            verdict += " ✓" if ours.overall.rss < RSS_TARGET_MB * 1e6 else " ✗"
        row.append(verdict)
    elif baseline:
        row.append("–")
    out.append("| " + " | ".join(row) + " |")
    return out


def _classified(side: str, result: SideResult) -> tuple[str, bool]:
    """(cell, as expected): none classified with classify off, every stored entry with it on."""
    if side not in CLASSIFY:
        return "n/a (reader does not classify)", True
    got = result.done.get("classified")
    if got is None:
        return "not counted", False
    stored = result.steps["plus2"].stored_after or 0
    want = stored if CLASSIFY[side] else 0
    return f"{got} of {stored} (want {want})", got == want


def render(
    results: dict[str, SideResult], args: argparse.Namespace, command: str, started: datetime
) -> str:
    n, m = args.feeds, args.entries
    out: list[str] = []
    out.append(
        f"# ChipWire poll vs reader — {n:,} feeds × {m} entries, {args.html} HTML "
        f"({started:%Y-%m-%d %H:%M}, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )
    out.append("")
    out.append(
        "One long-lived process per side runs all four scenarios; each row is timed inside it. "
        "Each side ran on its own, one after another, from a fresh store, over the same server "
        "reset to the same feeds."
    )
    out.append("")
    if "chipwire" in results or "chipwire-classify" not in results:
        out.append(
            "**Like for like: ChipWire with `[classify] enabled = false` vs reader** — both fetch, "
            "parse, dedup and store; neither classifies. Ratios and targets are computed here."
        )
        out.append("")
        out += _comparison(results, "chipwire", n, m, targets=True)
        out.append("")
    if "chipwire-classify" in results:
        out.append(
            "**As shipped: ChipWire with classification on vs reader** — ChipWire classifies every "
            "entry (companies, relevance) on top of the same job; reader does no classification. "
            "The targets apply to this table too (issue 14)."
        )
        out.append("")
        out += _comparison(results, "chipwire-classify", n, m, targets=True)
        out.append("")
        commands = _command_table(results, "chipwire-classify")
        if commands:
            out.append(
                "**As shipped, whole commands: one fresh process per scenario** — "
                "`chipwire --config CFG poll --once` (as cron and the CLI run it) against a fresh "
                "`python bench/poll.py --reader-once update` process (make_reader + "
                "update_feeds(scheduled=False) + close), each from its own empty store, timed "
                "from outside: interpreter start-up, imports, store opening, ChipWire's config "
                "sync, the poll and exit are all in the figure. reader's feeds are added by an "
                "untimed process first."
            )
            out.append("")
            out += commands
            out.append("")
    out.append(
        "Memory: peak tree RSS = largest sum of RSS over the driver's process tree (driver, "
        "forkserver, parse workers), sampled every 50 ms; shared pages (interpreter, libraries, "
        "copy-on-write memory forked from the forkserver) count once per process, so it "
        "overstates. Peak tree PSS = largest sum of PSS over the same tree (each shared page "
        "divided among the processes sharing it, i.e. counted once), read at each scenario's "
        "START/END, so it can miss a peak that the 50 ms RSS sampling catches. The "
        f"< {RSS_TARGET_MB} MB target is checked against the tree RSS sum over the whole "
        "driver run, set-up included (the stricter figure); both are shown. reader runs in one "
        "process (its update workers are threads)."
    )
    out.append("")
    out.append(
        "Cold start (once per side, not in the ratios): "
        + "; ".join(_cold_line(side, r) for side, r in results.items())
        + "."
    )
    out.append("")
    out.append(versions())
    out.append("")
    out.append(f"Command (from {ROOT}): `{command}`")
    out.append("")
    out.append("Notes:")
    out.append(
        "- ratio = reader wall / ChipWire wall (throughput ratio on the same work). Each side is one "
        "driver process (`bench/poll.py --driver SIDE`) that imports its library, opens its store and "
        "adds the feeds first, then runs scenarios 1-4 in a row, timing each poll with "
        "time.perf_counter(): interpreter start-up, imports and set-up are not in the table (see "
        "the cold-start line). State carries over between scenarios as in a running bot (caches, "
        "warm pools, memory kept). Both ChipWire tables compare against the same reader run."
    )
    if "chipwire" in results and "chipwire-classify" in results:
        out.append(
            "- wall ÷ classify-off wall (second table) = ChipWire as shipped / ChipWire with "
            "classification off, same scenario: what classifying costs in wall time."
        )
    out.append(
        f"- entries/s: scenario 1 = {n * m:,} entries / wall; 2 and 3 = feeds/s ({n:,} feeds / wall, "
        f"no new entries); 4 = '{n * m:,} entries in the documents / wall' and "
        f"'{n * NEW_PER_GENERATION:,} new entries / wall'."
    )
    out.append(
        "- Scenario 4 runs with validators still OFF (as scenario 3): every feed answers 200 with a "
        "changed body."
    )
    out.append(
        "- CPU s = user + sys over the poll of the driver process plus its live descendants plus "
        "reaped ones (psutil: user+system+children_user+children_system over the live tree, each "
        "process counted once), incl. ChipWire's parse workers and forkserver. Memory per "
        "scenario = peaks sampled between the driver's START/END markers (they include what "
        "earlier scenarios left allocated)."
    )
    out.append(
        f"- reader: make_reader(db), add_feed() per feed at set-up, then per scenario "
        f"update_feeds_iter(scheduled=False, workers={args.reader_workers}) consumed fully "
        "(scheduled=False so a re-poll seconds later is not skipped as not due)."
    )
    out.append(
        "- ChipWire: build_app(load_settings(CFG)) once, then per scenario store.list_feeds() + "
        'poll_feeds(app.poll_context(), feeds); CFG = `[chipwire] data_dir=".", parse_workers=-1`, '
        "one [[feeds]] per feed with allow_private_address=true, [fetch] defaults; plus "
        "`[classify] enabled = false` for `chipwire`, no [classify] table (the shipped default, "
        "classification on) for `chipwire-classify`. The driver checks the setting it loaded."
    )
    out.append(
        "- Generated entries read like news: a ~10-word title naming one company (sometimes two) "
        "with 1-2 topic nouns; "
        + (
            "descriptions of real size (--html heavy): 500-2,000 characters of HTML, a figure "
            "with an image and caption, paragraphs with links and bold text, sometimes a list or "
            "a quote."
            if args.html == "heavy"
            else "two description paragraphs of 25-35 words of general English, each naming the "
            "company once or twice with at most 2-3 topic nouns (~60 words, light HTML; "
            "--html heavy gives real-size descriptions)."
        )
    )
    out.append("")
    out.append(
        "Correctness (stored entries after each scenario; classified = stored with a verdict):"
    )
    out.append("")
    out.append(
        "| side | after 1 | after 2 | after 3 | after 4 | expected 1 / 4 | classified | errors | ok |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|")
    for side, result in results.items():
        got = [result.steps[s.key].stored_after for s in SCENARIOS]
        want = [n * m, n * m, n * m, n * (m + NEW_PER_GENERATION)]
        errors = sum(_errors(s) for s in result.steps.values())
        classified, as_expected = _classified(side, result)
        good = got == want and errors == 0 and not result.error and as_expected
        out.append(
            f"| {side} | {' | '.join(str(g) for g in got)} | {want[0]} / {want[3]} | "
            f"{classified} | {errors} | {'yes' if good else 'NO'} |"
        )
    out.append("")
    out.append("Per scenario detail:")
    out.append("")
    out.append(
        "| side | scenario | what the poller reported | server answered | main RSS MB | tree RSS MB | tree PSS MB | procs |"
    )
    out.append("|---|---|---|---|---|---|---|---|")
    for side, result in results.items():
        for step in result.steps.values():
            o = step.outcome
            if not o:
                said = step.failure or "–"
            elif side in CLASSIFY:
                said = (
                    f"200 {o.get('200')}, 304 {o.get('304')}, parse skipped (same) "
                    f"{o.get('skipped_parse')}, errors {o.get('errors')}, new {o.get('new')}"
                )
            else:
                said = (
                    f"updated {o.get('updated')}, not modified {o.get('not_modified')}, errors "
                    f"{o.get('errors')}, new {o.get('new')}, modified {o.get('modified')}"
                )
            s = step.served
            served = (
                f"200×{s.get('200')}, 304×{s.get('304')}, {int(s.get('bytes', 0)) / 1e6:.1f} MB"
                if s
                else "–"
            )
            p = step.peaks
            out.append(
                f"| {side} | {step.scenario.label} | {said} | {served} | {p.main / 1e6:.0f} | "
                f"{p.rss / 1e6:.0f} | {_mb(p.pss)} | {p.processes} |"
            )
    out.append("")
    for side, result in results.items():
        o, setup = result.overall, result.setup_peaks
        label = LABELS[side]
        out.append(
            f"- {label} driver, whole run: peak RSS of the main (driver) process alone "
            f"{o.main / 1e6:.0f} MB; peak tree RSS {o.rss / 1e6:.0f} MB, tree PSS {_mb(o.pss)} MB, "
            f"up to {o.processes} processes; during set-up: main {setup.main / 1e6:.0f} MB, tree "
            f"{setup.rss / 1e6:.0f} MB."
        )
        done = result.done
        if done and result.driver_rusage is not None:
            in_steps = sum(s.cpu for s in result.steps.values())
            out.append(
                f"- {label} CPU cross-check: the 4 scenarios {in_steps:.2f} s; whole driver "
                f"(start-up, imports, set-up, counts included) {done['tree_cpu']:.2f} s by psutil "
                f"at its end, {result.driver_rusage:.2f} s by RUSAGE_CHILDREN after reaping it "
                f"and its descendants; driver wall {result.driver_wall:.1f} s."
            )
        for step in result.steps.values():
            for sample in step.outcome.get("error_samples", []):
                out.append(f"- {side} {step.scenario.key} error: `{sample}`")
        if result.error:
            text = result.error.replace("\n", "\n    ")
            out.append(f"- {side}: FAILED — {text}")
        for note in result.notes:
            out.append(f"- {side}: {note}")
    return "\n".join(out) + "\n"


def write_results(text: str, started: datetime) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"poll-{started:%Y-%m-%d}.md"
    suffix = 2
    while path.exists():
        path = RESULTS / f"poll-{started:%Y-%m-%d}-{suffix}.md"
        suffix += 1
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000, help="feeds to serve (default 1000)")
    parser.add_argument("--entries", type=int, default=50, help="entries per feed (default 50)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="SIDE[,SIDE]",
        help=f"run only these sides ({', '.join(SIDES)}); repeat or comma-separate",
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds per scenario and for set-up (600)"
    )
    parser.add_argument("--seed", type=int, default=20250106, help="feed generator seed")
    parser.add_argument(
        "--html",
        choices=("light", "heavy"),
        default="light",
        help="item descriptions: light (~60 words) or heavy (500-2,000 chars of real-size HTML)",
    )
    parser.add_argument(
        "--no-commands",
        action="store_true",
        help="skip the whole-command runs (one fresh process per scenario)",
    )
    parser.add_argument(
        "--reader-workers", type=int, default=20, help="reader update_feeds workers (20)"
    )
    parser.add_argument(
        "--chipwire",
        default=str(Path(sys.executable).parent / "chipwire"),
        help="the chipwire executable for the cold-start timing (default: beside this Python)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directories (logs, stores)"
    )
    # internal: run as one side's driver process
    parser.add_argument("--driver", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--reader-once", choices=("add", "update"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.feeds < 1 or args.entries < 1:
        parser.error("--feeds and --entries must be at least 1")
    if (args.driver or args.reader_once) and not (args.server and args.workdir):
        parser.error("--driver and --reader-once need --server and --workdir")
    if args.only:
        wanted = {name.strip() for item in args.only for name in item.split(",") if name.strip()}
        unknown = sorted(wanted - set(SIDES))
        if unknown or not wanted:
            parser.error(
                f"--only: unknown side(s) {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(SIDES)}"
            )
        args.sides = [side for side in SIDES if side in wanted]  # always in SIDES order
    else:
        args.sides = list(SIDES)
    return args


def _command_line(argv: list[str] | None) -> str:
    python = sys.executable
    with contextlib.suppress(ValueError):
        rel = os.path.relpath(python, ROOT)
        if not rel.startswith(".."):
            python = rel
    script = os.path.relpath(__file__, ROOT)
    return shlex.join([python, script, *(sys.argv[1:] if argv is None else argv)])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if psutil is None:
        print("bench: psutil is missing: .venv/bin/pip install psutil", file=sys.stderr)
        return 2
    if args.driver:
        return driver_main(args)
    if args.reader_once:
        return reader_once(args)
    sides = args.sides
    if "reader" in sides:
        try:
            import reader  # noqa: F401
        except ImportError as exc:
            print(
                f"bench: cannot import reader ({exc}); install it with "
                ".venv/bin/pip install 'reader==3.26' sgmllib3k",
                file=sys.stderr,
            )
            return 2
    if not become_subreaper():
        log("could not become a child subreaper; orphaned grandchildren are not sampled")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = datetime.now()
    command = _command_line(argv)
    top = Path(tempfile.mkdtemp(prefix="chipwire-bench-"))
    server: FeedServer | None = None
    results: dict[str, SideResult] = {}
    try:
        log(f"generating {args.feeds:,} feeds × {args.entries} entries on a loopback server ...")
        server = FeedServer(args.feeds, args.entries, args.seed, top, args.html)
        log(f"server on port {server.port}: {server.control('on', 0)}")
        for side in sides:
            workdir = top / side  # fresh: an empty store, no validators or hashes kept
            workdir.mkdir()
            # each side starts from the same feeds: generation 0 (the bytes are a pure function
            # of seed, feed and serial, so going back from generation 1 rebuilds identical
            # bodies and ETags), validators on; the driver then sets each scenario itself
            state = server.control("on", 0)
            if state.get("generation") != 0 or state.get("validators") is not True:
                raise BenchError(f"the feed server did not reset before {side}: {state}")
            log(f"{side}: server reset to {state}")
            results[side] = run_driver(side, server, args, workdir)
            cold_start(side, args, workdir, results[side], {server.proc.pid})
            if results[side].cold:
                log(f"{side}: cold start {', '.join(f'{t:.2f}' for t in results[side].cold)} s")
            if not args.no_commands:
                server.control("on", 0)
                results[side].commands = run_commands(side, server, args, top / f"{side}-commands")
        text = render(results, args, command, started)
        path = write_results(text, started)
        print(text)
        print(f"Written to {os.path.relpath(path, Path.cwd())}")
        print(f"Command: {command}")
        failed = any(
            r.error or not all(s.ok for s in r.steps.values()) or not _classified(side, r)[1]
            for side, r in results.items()
        )
        return 1 if failed else 0
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            log(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
