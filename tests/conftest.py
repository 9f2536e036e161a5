"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """The shared test corpora beside the checkout (../shared/corpora); skip when absent."""
    if not CORPORA.is_dir():
        pytest.skip(f"test corpora not found at {CORPORA} (expected ../shared/corpora)")
    return CORPORA


# `make test-fast` (pytest -m "not slow") is the edit-run loop; `make test` runs everything.
# Slow: modules whose tests start bot processes, kill them or read whole corpora, the property
# tests over hundreds of random digests, and every PostgreSQL case (a database per test).
SLOW_MODULES = frozenset(
    {
        "tests/test_crash_delivery.py",
        "tests/test_shutdown.py",
        "tests/test_startup_imports.py",
        "tests/test_cli_store_failures.py",
        "tests/test_cli_logs.py",
        "tests/test_demo.py",
        "tests/commands/test_ask_demo.py",
        "tests/ingest/test_corpus_ingest.py",
    }
)
SLOW_TESTS = frozenset(
    {
        "tests/platforms/test_render_discord.py::test_random_digests_fit_discord",
        "tests/platforms/test_render_slack.py::test_random_digests_fit_slack",
        "tests/platforms/test_render_console.py::test_console_lists_every_story_once_in_order",
        "tests/trends/test_chart.py::test_no_text_is_too_small_to_read_when_chat_clients_scale_the_image_down",
        "tests/trends/test_chart.py::test_only_chart_imports_matplotlib_and_never_pyplot",
    }
)


def is_slow(item: pytest.Item) -> bool:
    path = item.nodeid.split("::", 1)[0]
    test = item.nodeid.split("[", 1)[0]
    callspec = getattr(item, "callspec", None)
    on_postgres = callspec is not None and "postgresql" in callspec.id
    return path in SLOW_MODULES or test in SLOW_TESTS or on_postgres


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)
