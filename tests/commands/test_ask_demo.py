"""`chipwire ask` for every command, on the data `chipwire demo` stores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def chipwire(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--database-url", f"sqlite:///{database}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("ask") / "demo.db"
    assert chipwire(database, "demo").returncode == 0
    assert chipwire(database, "sync").returncode == 0  # the default config's subscription
    return database


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", "company"),
        ("latest", "Latest AI-chip news"),
        ("latest huawei 3", "Huawei"),
        ("company 华为", "Huawei"),
        ("company NVDA", "Nvidia"),
        ("search H20", "H20"),
        ("search Ant Group 30", "Ant Group"),
        ("why 1", "Companies: Nvidia"),
        ("why 1", "Mentioned in passing: AMD"),  # issue 13: subjects and mentions apart
        ("search export", "about: Nvidia · mentions: AMD"),
        ("digest", "Top stories"),
        ("subscriptions", "console"),
        ("feeds list", "ChipWire Demo Wire"),
    ],
)
def test_every_command_answers_on_the_demo_data(demo_store: Path, text: str, expected: str) -> None:
    result = chipwire(demo_store, "ask", text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert expected in result.stdout


def test_a_bad_command_is_an_error_reply_not_a_crash(demo_store: Path) -> None:
    result = chipwire(demo_store, "ask", "compnay huawei")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "help" in result.stdout.lower()


def test_a_subscription_from_the_config_file_is_not_changed_from_chat(demo_store: Path) -> None:
    result = chipwire(demo_store, "ask", "subscribe nvidia daily 07:30 Asia/Shanghai")
    assert result.returncode == 2
    assert "config file" in result.stdout


@pytest.mark.parametrize(("word", "count"), [("华为", 2), ("芯片", 5), ("英伟达", 2)])
def test_search_finds_every_demo_article_holding_a_chinese_word(
    demo_store: Path, word: str, count: int
) -> None:
    """Issue 13: these words sit inside longer runs, which the word tokenizers took whole."""
    result = chipwire(demo_store, "ask", f"search {word} 30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("• ") == count
    assert word in result.stdout


def test_digest_takes_a_company_by_any_alias_language_or_ticker(demo_store: Path) -> None:
    answers = [
        chipwire(demo_store, "digest", "--since", "3650d", "--company", name)
        for name in ("nvidia", "NVDA", "英伟达", "Nvidia")
    ]
    assert all(a.returncode == 0 for a in answers)
    # the first two lines name the current minute, which may turn between runs
    bodies = {a.stdout.split("\n", 2)[2] for a in answers}
    assert len(bodies) == 1
    assert "Nothing new" not in answers[0].stdout
    unknown = chipwire(demo_store, "digest", "--company", "nvida")
    assert unknown.returncode == 2
    assert "Traceback" not in unknown.stderr
    assert "unknown company 'nvida'; did you mean Nvidia (nvidia)?" in unknown.stderr


def test_chat_suggests_a_company_for_a_misspelt_name(demo_store: Path) -> None:
    result = chipwire(demo_store, "ask", "company nvida")
    assert result.returncode == 2
    assert "Did you mean Nvidia" in result.stdout


def test_latest_search_and_digest_print_json(demo_store: Path) -> None:
    import json

    latest = chipwire(demo_store, "latest", "华为", "--count", "3", "--json")
    assert latest.returncode == 0, latest.stderr
    articles = json.loads(latest.stdout)
    assert 1 <= len(articles) <= 3
    assert all("huawei" in a["companies"] for a in articles)
    assert {"id", "url", "title", "published_at", "score", "history"} <= set(articles[0])
    found = json.loads(chipwire(demo_store, "search", "H20", "--json").stdout)
    assert found
    assert all("H20" in a["title"] + a["summary"] for a in found)
    digest = json.loads(chipwire(demo_store, "digest", "--since", "3650d", "--json").stdout)
    stories = [s for section in digest["sections"] for s in section["stories"]]
    assert stories
    assert stories[0]["url"].startswith("http")
    assert stories[0]["article_ids"]
    text = chipwire(demo_store, "latest", "nvida")
    assert text.returncode == 2
    assert "did you mean Nvidia" in text.stderr
