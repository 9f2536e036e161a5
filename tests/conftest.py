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
