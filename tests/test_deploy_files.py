"""The deployment files say what the docs promise: volumes, ports, non-root, health, hardening."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
TOKENS = ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), " ".join(args.split())))
        pending = ""
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions((DEPLOY / "Dockerfile").read_text())


def args_of(instructions: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for key, args in instructions if key == keyword]


def env_of(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in args_of(instructions, "ENV"):
        for pair in args.split():
            name, _, value = pair.partition("=")
            env[name] = value
    return env


def test_dockerfile_starts_from_python_311_slim(dockerfile: list[tuple[str, str]]) -> None:
    assert args_of(dockerfile, "FROM") == ["python:3.11-slim"]


def test_dockerfile_runs_as_a_fixed_non_root_user(dockerfile: list[tuple[str, str]]) -> None:
    users = args_of(dockerfile, "USER")
    assert users, "no USER: the bot would run as root"
    final = users[-1].split(":")[0]
    assert final not in ("root", "0")
    assert final in ("chipwire", "10001")
    run = " ".join(args_of(dockerfile, "RUN"))
    assert "--uid 10001" in run
    assert "chipwire" in run


def test_dockerfile_installs_the_package(dockerfile: list[tuple[str, str]]) -> None:
    run = " ".join(args_of(dockerfile, "RUN"))
    assert "pip install --no-cache-dir ." in run


def test_the_package_ships_its_catalog_and_demo_feeds() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["bot"]
    assert "data/*.toml" in patterns
    assert "demo_feeds/*" in patterns
    assert (ROOT / "bot" / "data" / "companies.toml").is_file()


def test_dockerfile_declares_the_volumes_and_the_port(dockerfile: list[tuple[str, str]]) -> None:
    [volume] = args_of(dockerfile, "VOLUME")
    assert sorted(json.loads(volume)) == ["/config", "/data"]
    assert args_of(dockerfile, "EXPOSE") == ["8080"]


def test_dockerfile_points_config_and_store_at_the_volumes(
    dockerfile: list[tuple[str, str]],
) -> None:
    env = env_of(dockerfile)
    assert env["CHIPWIRE_CONFIG"] == "/config/chipwire.toml"
    assert env["CHIPWIRE_DATABASE_URL"] == "sqlite:////data/chipwire.db"


def test_dockerfile_health_check_uses_python_urllib(dockerfile: list[tuple[str, str]]) -> None:
    [check] = args_of(dockerfile, "HEALTHCHECK")
    assert "CMD" in check
    assert "urllib.request" in check
    assert "/healthz" in check
    assert "curl" not in check


def test_dockerfile_runs_the_bot(dockerfile: list[tuple[str, str]]) -> None:
    assert [json.loads(cmd) for cmd in args_of(dockerfile, "CMD")] == [["chipwire", "run"]]


@pytest.fixture(scope="module")
def service() -> dict[str, Any]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert list(compose["services"]) == ["chipwire"]
    assert "chipwire-data" in compose["volumes"]
    return dict(compose["services"]["chipwire"])


def test_compose_builds_from_the_repository(service: dict[str, Any]) -> None:
    assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / ".." / service["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"


def test_compose_mounts_config_read_only_and_data_on_a_named_volume(
    service: dict[str, Any],
) -> None:
    mounts = {volume.split(":")[1]: volume for volume in service["volumes"]}
    assert set(mounts) == {"/config", "/data"}
    assert mounts["/config"].endswith(":ro")
    assert mounts["/data"] == "chipwire-data:/data"
    source = DEPLOY / mounts["/config"].split(":")[0]
    assert (source / "chipwire.toml").is_file()


def test_compose_reads_tokens_from_env_file(service: dict[str, Any]) -> None:
    entries = service["env_file"]
    paths = [entry if isinstance(entry, str) else entry["path"] for entry in entries]
    assert paths == [".env"]


def test_compose_publishes_the_health_port_and_restarts(service: dict[str, Any]) -> None:
    assert any(str(port).endswith("8080:8080") for port in service["ports"])
    assert service["restart"] == "unless-stopped"
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert any("/healthz" in part for part in test)


def test_env_example_names_the_tokens_and_the_admin_list_empty() -> None:
    text = (DEPLOY / ".env.example").read_text()
    assignments = dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert set(assignments) == {*TOKENS, "SLACK_ADMINS"}
    assert all(value == "" for value in assignments.values())
    assert "console" in text


def test_systemd_unit_restarts_and_is_hardened() -> None:
    unit = (DEPLOY / "chipwire.service").read_text()
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.MULTILINE))
    assert settings["Restart"] in ("on-failure", "always")
    assert settings["User"] == "chipwire"
    assert settings["ExecStart"].endswith("chipwire run")
    for option in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert settings[option] == "true"
    assert settings["ProtectSystem"] == "strict"


def test_deploy_readme_covers_both_chat_platforms() -> None:
    text = (DEPLOY / "README.md").read_text()
    for needle in ("bot applications.commands", "connections:write", "/slack/events", "/chipnews"):
        assert needle in text


# The bot token scopes each Slack Web API method the bot calls needs (api.slack.com/methods).
SLACK_METHOD_SCOPES = {
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "users_info": {"users:read"},
    "files_upload_v2": {"files:write"},
    "conversations_join": {"channels:join"},
    "conversations_history": {"channels:history", "groups:history"},
}


def _manifest_scopes() -> set[str]:
    text = (DEPLOY / "README.md").read_text()
    match = re.search(r"```yaml\n(display_information:.*?)```", text, re.S)
    assert match, "deploy/README.md has no Slack app manifest"
    manifest = yaml.safe_load(match.group(1))
    return set(manifest["oauth_config"]["scopes"]["bot"])


def test_the_slack_manifest_grants_every_scope_the_bot_uses() -> None:
    called: set[str] = set()
    for path in (ROOT / "bot" / "platforms" / "slack").glob("*.py"):
        called |= set(re.findall(r"\.((?:chat|users|files|conversations)_\w+)\(", path.read_text()))
    unknown = called - set(SLACK_METHOD_SCOPES)
    assert not unknown, f"add the scopes of {sorted(unknown)} here and to the manifest"
    needed = set().union(*(SLACK_METHOD_SCOPES[m] for m in called))
    granted = _manifest_scopes()
    assert needed <= granted, f"the manifest lacks {sorted(needed - granted)}"
    # the admin check asks users.info; public channels are joined before a chart upload
    assert {"users:read", "channels:join", "commands", "chat:write.public"} <= granted
    text = (DEPLOY / "README.md").read_text()
    for scope in granted:
        assert f"`{scope}`" in text.split("**By hand**", 1)[1], f"{scope} not in the steps by hand"
