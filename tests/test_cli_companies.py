"""Company names in the config and on the command line: any alias, language or ticker, and an
unknown one is an error with suggestions, never a silent "Nothing new" forever."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

HEAD = '[chipwire]\ndata_dir = "data"\nparse_workers = 0\n'


def subscription(companies: str) -> str:
    return f'[[subscriptions]]\ntarget = "console"\ncompanies = {companies}\n'


def test_an_unknown_company_in_a_subscription_fails_check_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(HEAD + subscription('["nvida"]'), encoding="utf-8")
    assert main(["--config", str(config), "check"]) == 2
    err = capsys.readouterr().err
    assert str(config) in err
    assert "subscriptions[0]" in err
    assert "unknown company 'nvida'; did you mean Nvidia (nvidia)?" in err


def test_aliases_tickers_and_other_languages_become_ids_in_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(HEAD + subscription('["NVDA", "华为", "nvidia"]'), encoding="utf-8")
    assert main(["--config", str(config), "sync"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "ask", "subscriptions"]) == 0
    assert "console: Nvidia, Huawei;" in capsys.readouterr().out


def test_an_unknown_company_priority_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(HEAD + "[digest.company_priority]\nhuawai = 2.0\n", encoding="utf-8")
    assert main(["--config", str(config), "check"]) == 2
    assert "digest.company_priority: unknown company 'huawai'; did you mean Huawei" in (
        capsys.readouterr().err
    )


def test_companies_lists_ids_names_aliases_and_tickers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(HEAD, encoding="utf-8")
    assert main(["--config", str(config), "companies"]) == 0
    lines = capsys.readouterr().out.splitlines()
    nvidia = next(line for line in lines if line.startswith("nvidia "))
    assert "Nvidia" in nvidia
    assert "NVDA" in nvidia
    assert "英伟达" in nvidia
    assert main(["--config", str(config), "companies", "--json"]) == 0
    listing = {c["id"]: c for c in json.loads(capsys.readouterr().out)}
    assert listing["huawei"]["name"] == "Huawei"
    assert "华为" in listing["huawei"]["aliases"]
